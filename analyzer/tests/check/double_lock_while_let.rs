// `while let` keeps its scrutinee's temporaries for the whole body: pushing back onto
// the queue from the loop body locks the queue a second time.
use std::collections::VecDeque;
use std::sync::Mutex;

pub struct Jobs {
    queue: Mutex<VecDeque<u32>>,
}

impl Jobs {
    pub fn drain(&self) {
        while let Some(job) = self.queue.lock().unwrap().pop_front() {
            if job > 10 {
                self.queue.lock().unwrap().push_back(job - 10); //~ ERROR double-lock
            }
        }
    }
}

// An `if` or `while` condition's temporaries end before the block runs.
use std::collections::VecDeque;
use std::sync::Mutex;

pub struct Queue {
    items: Mutex<VecDeque<u32>>,
}

impl Queue {
    pub fn refill_if_empty(&self) {
        if self.items.lock().unwrap().is_empty() {
            self.items.lock().unwrap().push_back(1);
        }
        while self.items.lock().unwrap().len() < 4 {
            self.items.lock().unwrap().push_back(2);
        }
    }
}

// The textbook condvar: the wait gives its own mutex back, the notifier takes it.
use std::sync::{Condvar, Mutex};

pub struct Latch {
    done: Mutex<bool>,
    changed: Condvar,
}

impl Latch {
    pub fn wait(&self) {
        let mut done = self.done.lock().unwrap();
        while !*done {
            done = self.changed.wait(done).unwrap();
        }
    }

    pub fn wait_while(&self) {
        let _done = self.changed.wait_while(self.done.lock().unwrap(), |d| !*d).unwrap();
    }

    pub fn release(&self) {
        *self.done.lock().unwrap() = true;
        self.changed.notify_all();
    }
}

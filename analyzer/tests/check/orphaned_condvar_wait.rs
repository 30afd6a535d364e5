// A condvar nothing notifies: the wait only ends with a spurious wake-up.
use std::sync::{Condvar, Mutex};

pub struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    pub fn wait_open(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap(); //~ WARN orphaned-wait
        }
    }

    pub fn open(&self) {
        *self.open.lock().unwrap() = true;
    }
}

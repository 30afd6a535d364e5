// The iterator of a `for` loop (and the guard it borrows) lives through the loop.
use std::sync::Mutex;

pub struct Members {
    list: Mutex<Vec<u32>>,
}

impl Members {
    pub fn duplicate_all(&self) {
        for member in self.list.lock().unwrap().clone().iter() {
            self.list.lock().unwrap().push(*member); //~ ERROR double-lock
        }
    }
}

// A guard bound by `let` lives to the end of its block: the second lock never returns.
use std::sync::Mutex;

pub struct Counter {
    hits: Mutex<u64>,
}

impl Counter {
    pub fn bump_twice(&self) {
        let mut first = self.hits.lock().unwrap();
        *first += 1;
        let mut second = self.hits.lock().unwrap(); //~ ERROR double-lock
        *second += 1;
    }
}

// Assigning a new guard to a guard's name takes the lock before the old guard drops.
use std::sync::Mutex;

pub struct Ticker {
    count: Mutex<u64>,
}

impl Ticker {
    pub fn tick_twice(&self) {
        let mut count = self.count.lock().unwrap();
        *count += 1;
        count = self.count.lock().unwrap(); //~ ERROR double-lock
        *count += 1;
    }
}

// A guard stored in a struct keeps the lock held as long as the struct lives.
use std::sync::{Mutex, MutexGuard};

pub struct Batch<'a> {
    items: MutexGuard<'a, Vec<u32>>,
}

pub struct Store {
    items: Mutex<Vec<u32>>,
}

impl Store {
    pub fn batch_and_count(&self) -> usize {
        let batch = Batch {
            items: self.items.lock().unwrap(),
        };
        let total = self.items.lock().unwrap().len(); //~ ERROR double-lock
        total + batch.items.len()
    }
}

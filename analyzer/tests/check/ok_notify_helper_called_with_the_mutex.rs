// The notification is sent by a helper its callers call with the mutex held.
use std::sync::{Condvar, Mutex, MutexGuard};

pub struct Queue {
    items: Mutex<Vec<u32>>,
    filled: Condvar,
}

impl Queue {
    fn wake(&self) {
        self.filled.notify_one();
    }

    pub fn push(&self, item: u32) {
        let mut items = self.items.lock().unwrap();
        items.push(item);
        self.wake();
    }

    pub fn pop(&self) -> u32 {
        let mut items: MutexGuard<'_, Vec<u32>> = self.items.lock().unwrap();
        loop {
            if let Some(item) = items.pop() {
                return item;
            }
            items = self.filled.wait(items).unwrap();
        }
    }
}

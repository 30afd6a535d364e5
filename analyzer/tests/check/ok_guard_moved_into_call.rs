// A guard moved into a function is that function's to drop.
use std::sync::{Mutex, MutexGuard};

pub struct Pool {
    free: Mutex<Vec<u32>>,
}

fn release(mut free: MutexGuard<'_, Vec<u32>>, id: u32) {
    free.push(id);
}

impl Pool {
    pub fn give_back(&self, id: u32) -> usize {
        let free = self.free.lock().unwrap();
        release(free, id);
        self.free.lock().unwrap().len()
    }
}

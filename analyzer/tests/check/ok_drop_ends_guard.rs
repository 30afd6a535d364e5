// `drop(g)`, `mem::drop(g)` and `std::mem::drop(g)` end a guard.
use std::mem;
use std::sync::Mutex;

pub struct Totals {
    sum: Mutex<u64>,
}

impl Totals {
    pub fn add_three(&self) {
        let mut sum = self.sum.lock().unwrap();
        *sum += 1;
        drop(sum);
        let mut sum = self.sum.lock().unwrap();
        *sum += 1;
        mem::drop(sum);
        let mut sum = self.sum.lock().unwrap();
        *sum += 1;
        std::mem::drop(sum);
        *self.sum.lock().unwrap() += 1;
    }
}

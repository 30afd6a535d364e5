// Moving a guard to another name keeps it alive.
use std::sync::Mutex;

pub struct Slots {
    free: Mutex<Vec<usize>>,
}

impl Slots {
    pub fn take_two(&self) -> (usize, usize) {
        let guard = self.free.lock().unwrap();
        let mut kept = guard;
        let first = kept.pop().unwrap_or(0);
        let second = self.free.lock().unwrap().pop().unwrap_or(0); //~ ERROR double-lock
        (first, second)
    }
}

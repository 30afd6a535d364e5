// The guard is dropped on the path that locks again; the other path returns.
use std::sync::Mutex;

pub struct Limits {
    used: Mutex<u32>,
}

impl Limits {
    pub fn reserve(&self, amount: u32) -> bool {
        let used = self.used.lock().unwrap();
        if *used + amount > 100 {
            return false;
        }
        drop(used);
        *self.used.lock().unwrap() += amount;
        true
    }

    pub fn reserve_or_panic(&self, amount: u32) {
        let used = self.used.lock().unwrap();
        if *used > 100 {
            panic!("over the limit");
        }
        drop(used);
        *self.used.lock().unwrap() += amount;
    }
}

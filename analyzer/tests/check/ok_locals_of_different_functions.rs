// A lock made inside a function is a different lock in every function (and call).
use std::sync::Mutex;

pub fn first() -> u32 {
    let queue = Mutex::new(1u32);
    let totals = Mutex::new(2u32);
    let q = queue.lock().unwrap();
    let t = totals.lock().unwrap();
    *q + *t
}

pub fn second() -> u32 {
    let totals = Mutex::new(2u32);
    let queue = Mutex::new(1u32);
    let t = totals.lock().unwrap();
    let q = queue.lock().unwrap();
    *q + *t
}

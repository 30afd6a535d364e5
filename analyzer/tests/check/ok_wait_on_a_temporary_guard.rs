// A timed wait on a guard made for the call: the lock is taken once, and given back
// while waiting.
use parking_lot::{Condvar, Mutex};
use std::time::Duration;

pub fn nap() -> bool {
    let flag = Mutex::new(false);
    let cv = Condvar::new();
    cv.wait_for(&mut flag.lock(), Duration::from_millis(1))
        .timed_out()
}

pub fn poke(flag: &Mutex<bool>, cv: &Condvar) {
    *flag.lock() = true;
    cv.notify_all();
}

// Another thread taking a lock this thread holds is contention, not a double lock.
use std::sync::{Arc, Mutex};
use std::thread;

pub fn hand_over() -> u32 {
    let value = Arc::new(Mutex::new(1u32));
    let guard = value.lock().unwrap();
    let shared = Arc::clone(&value);
    let worker = thread::spawn(move || *shared.lock().unwrap() + 1);
    drop(guard);
    worker.join().unwrap()
}

// Joining a thread while holding the lock that thread may need.
use std::sync::{Arc, Mutex};
use std::thread;

pub fn shutdown(workers: Arc<Mutex<Vec<u32>>>) {
    let list = workers.lock().unwrap();
    let handle = thread::spawn(|| 42);
    let _ = handle.join(); //~ WARN blocking-under-lock
    drop(list);
}

// A `move` closure boxed and sent to a pool runs later, on another thread: the lock it
// takes is not taken by the thread that holds it now.
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

pub fn submit_under_lock(gil: Arc<Mutex<u32>>, pool: &Sender<Box<dyn FnOnce() + Send>>) {
    let held = gil.lock().unwrap();
    let shared = Arc::clone(&gil);
    pool.send(Box::new(move || *shared.lock().unwrap() += 1)).unwrap();
    drop(held);
}

// Locals shared through `Arc` clones: the spawned thread takes them in the other order.
use std::sync::{Arc, Mutex};
use std::thread;

pub fn run() {
    let accounts = Arc::new(Mutex::new(vec![0i64; 4]));
    let journal = Arc::new(Mutex::new(Vec::<String>::new()));
    let (a, j) = (Arc::clone(&accounts), journal.clone());
    let worker = thread::spawn(move || {
        let _journal = j.lock().unwrap();
        let _accounts = a.lock().unwrap(); //~ ERROR lock-order-inversion
    });
    {
        let _accounts = accounts.lock().unwrap();
        let _journal = journal.lock().unwrap(); //~ ERROR lock-order-inversion
    }
    worker.join().unwrap();
}

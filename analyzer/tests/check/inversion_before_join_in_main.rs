// `main` takes the locks the other way round while the thread still runs: they overlap.
use std::sync::{Arc, Mutex};
use std::thread;

fn main() {
    let config = Arc::new(Mutex::new(1u32));
    let cache = Arc::new(Mutex::new(2u32));
    let (c, k) = (Arc::clone(&config), Arc::clone(&cache));
    let worker = thread::spawn(move || {
        let _config = c.lock().unwrap();
        let _cache = k.lock().unwrap(); //~ ERROR lock-order-inversion
    });
    {
        let _cache = cache.lock().unwrap();
        let _config = config.lock().unwrap(); //~ ERROR lock-order-inversion
    }
    worker.join().unwrap();
}

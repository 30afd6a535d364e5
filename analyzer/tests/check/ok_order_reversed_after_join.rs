// The thread that takes `config` then `cache` is joined before `main` takes them the
// other way round: the two never overlap.
use std::sync::{Arc, Mutex};
use std::thread;

fn main() {
    let config = Arc::new(Mutex::new(1u32));
    let cache = Arc::new(Mutex::new(2u32));
    let (c, k) = (Arc::clone(&config), Arc::clone(&cache));
    let warm_up = thread::spawn(move || {
        let _config = c.lock().unwrap();
        let _cache = k.lock().unwrap();
    });
    warm_up.join().unwrap();
    let _cache = cache.lock().unwrap();
    let _config = config.lock().unwrap();
}

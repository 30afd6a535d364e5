// Holding a lock around a parallel iterator whose sibling jobs take the same lock: a
// rayon thread waiting for its parallel iterator runs other rayon work meanwhile, and may
// pick up another `refresh`, which waits for the lock its own thread holds
// (rayon-rs/rayon#592).
use rayon::prelude::*;
use std::sync::Mutex;

static CACHE: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn refresh(item: &u32) {
    let cache = CACHE.lock().unwrap(); //~ ERROR queued-work-self-stall
    let total: u32 = cache.par_iter().map(|x| x + item).sum(); //~ ERROR queued-work-self-stall
    drop(cache);
    CACHE.lock().unwrap().push(total);
}

pub fn refresh_all(items: &[u32]) {
    items.par_iter().for_each(refresh);
}

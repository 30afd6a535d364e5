// A host lock taken through FFI, declared with `acquires` / `releases`: held from one
// call to the other, ordered against the crate's own locks like any lock.
use std::sync::Mutex;

static CACHE: Mutex<Vec<u8>> = Mutex::new(Vec::new());

#[waitgraph::instrument(acquires = "gil")]
fn take_gil() {}

#[waitgraph::instrument(releases = "gil")]
fn give_gil() {}

pub fn refresh_from_host() {
    take_gil();
    let mut cache = CACHE.lock().unwrap(); //~ ERROR lock-order-inversion
    cache.push(1);
    drop(cache);
    give_gil();
}

pub fn call_host_with_cache() {
    let cache = CACHE.lock().unwrap();
    take_gil(); //~ ERROR lock-order-inversion
    let _ = cache.len();
    give_gil();
}

// The declared resource is given back before the crate's lock is taken: no order.
use std::sync::Mutex;

static CACHE: Mutex<Vec<u8>> = Mutex::new(Vec::new());

#[waitgraph::instrument(acquires = "gil")]
fn take_gil() {}

#[waitgraph::instrument(releases = "gil")]
fn give_gil() {}

pub fn refresh_from_host() {
    take_gil();
    give_gil();
    CACHE.lock().unwrap().push(1);
}

pub fn call_host_with_cache() {
    let cache = CACHE.lock().unwrap();
    take_gil();
    let _ = cache.len();
    give_gil();
}

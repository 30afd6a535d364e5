use std::sync::{Mutex, MutexGuard};

// The guard the attribute hands back records its release; returning it as the original
// type would lose that, so the compiler stops here (`waitgraph::uninstrumented!` opts out).
#[waitgraph::instrument]
fn first(items: &Mutex<Vec<u32>>) -> MutexGuard<'_, Vec<u32>> {
    items.lock().unwrap()
}

fn main() {
    let items = Mutex::new(vec![1]);
    let _ = first(&items).len();
}

// A guard passed by value to a function (`MutexGuard::map`) is handed over as the
// original guard.
use parking_lot::{Mutex, MutexGuard};

#[waitgraph::instrument]
fn first(items: &Mutex<Vec<u32>>) -> u32 {
    let guard = items.lock();
    let first = MutexGuard::map(guard, |items| &mut items[0]);
    *first
}

fn main() {
    let items = Mutex::new(vec![1]);
    let _ = first(&items);
}

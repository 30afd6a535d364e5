use std::sync::{Mutex, MutexGuard};

// A guard the attribute made, reaching a place whose written type is std's guard by a
// route the attribute does not follow (here a closure's value): the compiler stops at
// the value. `waitgraph::uninstrumented!(items.lock())` keeps the acquire's original type.
#[waitgraph::instrument]
fn first(items: &Mutex<Vec<u32>>) -> u32 {
    let guard = items.lock().unwrap();
    let later = move || guard;
    let kept: MutexGuard<'_, Vec<u32>> = later();
    kept[0]
}

fn main() {
    let items = Mutex::new(vec![1]);
    let _ = first(&items);
}

use std::sync::{Mutex, MutexGuard};

// Declared to return std's guard: the acquire keeps the original type (its wait is
// published, its hold is not kept), so the function compiles as written.
#[waitgraph::instrument]
fn first(items: &Mutex<Vec<u32>>) -> MutexGuard<'_, Vec<u32>> {
    items.lock().unwrap()
}

fn main() {
    let items = Mutex::new(vec![1]);
    let _ = first(&items).len();
    assert_eq!(places(&Mutex::new(vec![1]), &Mutex::new(vec![2])), 2);
}

/// Other places written with std's guard type: a tuple, a struct's field.
struct Holder<'a> {
    guard: Option<MutexGuard<'a, Vec<u32>>>,
}

#[waitgraph::instrument]
fn places(items: &Mutex<Vec<u32>>, other: &Mutex<Vec<u32>>) -> usize {
    let guard = items.lock().unwrap();
    let pair: (MutexGuard<'_, Vec<u32>>, u32) = (guard, 1);
    let mut holder = Holder { guard: None };
    let second = other.lock().unwrap();
    holder.guard = Some(second);
    pair.0.len() + holder.guard.map_or(0, |g| g.len())
}

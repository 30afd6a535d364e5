//! The attribute with the probe compiled out: the function exactly as written. Run with
//! `cargo test -p waitgraph --no-default-features --features sync --test attribute_compiled_out`
//! (CI does); with the probe compiled in this file is empty.
#![cfg(not(feature = "probe"))]

use std::sync::{Mutex, MutexGuard};

/// Compiles only if the attribute left the function alone: rewritten, the lock would
/// return waitgraph's guard, not std's.
#[waitgraph::instrument(name = "first", job = "workers")]
fn first(items: &Mutex<Vec<u32>>) -> MutexGuard<'_, Vec<u32>> {
    items.lock().unwrap()
}

#[test]
fn compiled_out_the_function_is_left_as_written() {
    let items = Mutex::new(vec![4, 5]);
    assert_eq!(first(&items)[0], 4);
}

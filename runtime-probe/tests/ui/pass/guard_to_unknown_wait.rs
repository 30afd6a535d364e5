use std::sync::{Condvar, Mutex, MutexGuard};

/// A wait the attribute cannot see: it takes std's guard type. The caller threads its
/// guard through it (`guard = wait_here(.., guard)`): that local keeps the original type.
fn wait_here<'a>(condvar: &Condvar, guard: MutexGuard<'a, bool>) -> MutexGuard<'a, bool> {
    condvar.wait(guard).unwrap()
}

#[waitgraph::instrument]
fn wait_until_ready(ready: &Mutex<bool>, changed: &Condvar) {
    let mut guard = ready.lock().unwrap();
    while !*guard {
        guard = wait_here(changed, guard);
    }
}

fn main() {
    wait_until_ready(&Mutex::new(true), &Condvar::new());
}

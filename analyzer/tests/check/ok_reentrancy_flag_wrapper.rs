// A wrapper that hands out an empty guard when this thread already holds the lock (a
// thread-local flag) does not always take it: no double lock is claimed through it.
use std::cell::Cell;
use std::sync::{Mutex, MutexGuard};

static LOCK: Mutex<()> = Mutex::new(());

thread_local! {
    static HELD: Cell<bool> = const { Cell::new(false) };
}

pub struct LockGuard(Option<MutexGuard<'static, ()>>);

pub fn lock() -> LockGuard {
    if HELD.with(|held| held.get()) {
        return LockGuard(None);
    }
    HELD.with(|held| held.set(true));
    LockGuard(Some(LOCK.lock().unwrap()))
}

pub fn resolve() {
    let _outer = lock();
    resolve_inner();
}

fn resolve_inner() {
    let _inner = lock();
}

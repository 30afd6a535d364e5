//! The attribute with the probe switched off at run time (`WAITGRAPH=off`, or
//! `set_enabled(false)`): nothing recorded, behaviour unchanged, and no hold left behind
//! by switching while a lock is held. One test, since the switch is process-wide.

use std::sync::{Condvar, Mutex};
use waitgraph::record;

#[waitgraph::instrument]
fn increment(m: &Mutex<u32>) -> u32 {
    let mut value = m.lock().unwrap();
    *value += 1;
    *value
}

#[waitgraph::instrument]
fn take(m: &Mutex<u32>) -> waitgraph::InstrumentedGuard<std::sync::MutexGuard<'_, u32>> {
    m.lock().unwrap()
}

#[waitgraph::instrument]
fn wait_once(m: &Mutex<bool>, changed: &Condvar) {
    let guard = m.lock().unwrap();
    let _ = changed
        .wait_timeout(guard, std::time::Duration::from_millis(1))
        .unwrap();
}

/// What this thread holds, as the watchdog sees it.
fn held_here() -> usize {
    let me = std::thread::current()
        .name()
        .unwrap_or_default()
        .to_string();
    waitgraph::dump()
        .threads
        .iter()
        .filter(|step| step.thread == me)
        .map(|step| step.holds.len())
        .sum()
}

#[test]
fn switched_off_records_nothing_changes_nothing_and_leaves_no_hold() {
    let m = Mutex::new(0);
    waitgraph::set_enabled(false);
    let (value, events) = record::capture(|| increment(&m));
    assert_eq!(value, 1);
    assert!(events.is_empty(), "{events:?}");
    let (_, events) = record::capture(|| wait_once(&Mutex::new(false), &Condvar::new()));
    assert!(events.is_empty(), "{events:?}");

    // Taken while on, released while off: the release is still recorded.
    waitgraph::set_enabled(true);
    let guard = take(&m);
    assert_eq!(held_here(), 1);
    waitgraph::set_enabled(false);
    drop(guard);
    waitgraph::set_enabled(true);
    assert_eq!(held_here(), 0);

    // Taken while off, released while on: nothing was recorded, nothing is released.
    waitgraph::set_enabled(false);
    let guard = take(&m);
    waitgraph::set_enabled(true);
    assert_eq!(held_here(), 0);
    drop(guard);
    assert_eq!(held_here(), 0);
    assert_eq!(increment(&m), 2);
}

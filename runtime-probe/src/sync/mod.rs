//! Instrumented synchronisation primitives with parking_lot's API shape: switching from
//! `parking_lot::Mutex` to `waitgraph::sync::Mutex` is a change of `use`.

mod condvar;
pub(crate) mod hooks;
mod mutex;
mod rwlock;

pub(crate) use condvar::CondvarShared;
pub use condvar::{Condvar, WaitTimeoutResult};
pub use mutex::{Mutex, MutexGuard};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard};

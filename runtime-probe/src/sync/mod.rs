//! Instrumented synchronisation primitives with parking_lot's API shape: switching from
//! `parking_lot::Mutex` to `waitgraph::sync::Mutex` is a change of `use`.
//!
//! | type | blocking calls the watchdog sees |
//! |---|---|
//! | [`Mutex`] | `lock`, `try_lock_for`, `try_lock_until` |
//! | [`RwLock`] | `read`, `read_recursive`, `write`, `upgradable_read`, `upgrade`, and their timed forms |
//! | [`Condvar`] | `wait`, `wait_while`, `wait_for`, `wait_until`, `wait_while_for` |
//! | [`Barrier`] | `wait`, `wait_timeout` |
//! | [`channel`] | `send` (bounded), `recv`, `send_timeout`, `recv_timeout` |
//! | [`Job`] | `wait`, `wait_timeout`, `waiting` |
//! | [`Event`] | `waiting` |
//! | [`SpinWait`] | the whole loop |
//! | [`thread::JoinHandle`](crate::thread::JoinHandle) | `join` |

mod barrier;
pub mod channel;
pub(crate) mod condvar;
mod event;
mod executor;
pub(crate) mod hooks;
mod mutex;
mod rwlock;
mod spin;

pub use barrier::{Barrier, BarrierWaitResult};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use event::{Event, Producer};
pub use executor::{Enrolled, Executor, Job, RunningJob};
pub use mutex::{Mutex, MutexGuard};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard};
pub use spin::{spin_until, SpinTarget, SpinWait};

#[cfg(feature = "probe")]
pub(crate) use barrier::BarrierShared;
#[cfg(feature = "probe")]
pub(crate) use executor::ExecutorShared;

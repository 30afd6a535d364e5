//! # waitgraph
//!
//! Finds the deadlocks that lock-order checkers cannot see: a thread blocking on work it
//! queued to threads that it is itself stalling. A lock, a barrier in a spin loop, a job
//! queue: each wait on its own looks harmless, and tools that only watch locks see one
//! thread waiting for one lock whose holder is running. waitgraph keeps a live wait-for
//! graph of every kind of wait, and a watchdog thread that names the cycle.
//!
//! ## In five lines
//!
//! ```toml
//! [dependencies]
//! waitgraph = "0.1"
//! ```
//!
//! ```no_run
//! use waitgraph::sync::Mutex;                      // instead of parking_lot::Mutex
//! static GIL: Mutex<()> = Mutex::named("gil", ());
//!
//! let _watchdog = waitgraph::Watchdog::builder()
//!     .report_file("target/waitgraph/report.json")  // JSON, written before anything else
//!     .exit_on_deadlock(3)                         // instead of hanging for eight hours
//!     .start();
//! ```
//!
//! ## What it sees
//!
//! Every blocking operation is a wait for an event some other thread must produce
//! ([`model`]). The primitives in [`sync`] and [`thread`] publish their waits:
//!
//! | wait | who can end it |
//! |---|---|
//! | [`sync::Mutex`] / [`sync::RwLock`] | the holders (and, for a fair read, the writers queued before it) |
//! | [`sync::Condvar`] | the threads that notify it |
//! | [`sync::Barrier`] | the parties not yet arrived, or any `k` free workers of the [`sync::Executor`] that feeds it |
//! | [`sync::Job`] | any worker of its executor while queued, its worker once running |
//! | [`sync::channel`] | the live senders (receivers, for a full bounded channel) |
//! | [`thread::JoinHandle::join`] | the joined thread |
//! | [`sync::SpinWait`] | whatever the loop declares it waits for (a barrier, a job, an [`sync::Event`]) |
//!
//! Only what is known becomes an edge: a wait whose providers the probe cannot name
//! (a condvar nobody has notified yet, a barrier whose parties it never met) may always
//! be satisfied, so it can be warned about as a stall but is never called a deadlock.
//!
//! ## The incident in miniature
//!
//! The main thread holds the global lock and spin-waits on a barrier that jobs it queued
//! to the worker pool must reach; one worker is in the middle of a query and waits for
//! the global lock. No lock-order checker sees a problem; waitgraph reports the cycle:
//!
//! ```no_run
//! use std::sync::Arc;
//! use waitgraph::sync::{Barrier, Executor, Mutex, SpinWait};
//!
//! let pool = Executor::new("workers");
//! let gil = Arc::new(Mutex::named("gil", ()));
//! // ... worker threads call `pool.enroll()`, take jobs with `pool.idle(..)`, run them
//! // with `job.run(..)`; one of them is running a query that does `gil.lock()` ...
//! let _gil = gil.lock();
//! let exit = Arc::new(Barrier::for_executor("workers-exit", 4, &pool));
//! // ... queue four admin jobs that each call `exit.wait()` ...
//! let spin = SpinWait::on(&*exit);
//! while exit.generation() == 0 {
//!     spin.pause(std::time::Duration::from_micros(1));
//! }
//! ```
//!
//! ```text
//! waitgraph: deadlock: 2 threads wait on each other in a cycle: main -> workers-1
//!   thread `main` holds gil and waits (spin-wait) for `workers-exit` at src/shrink.rs:41:20, which needs `workers-1`
//!   thread `workers-1` waits (lock) for `gil` at src/query.rs:88:13, which needs `main`
//!   victims: 3 threads wait (barrier-wait) for `workers-exit`: `workers-0`, `workers-2`, `workers-3`
//! ```
//!
//! ## Reading a report
//!
//! A deadlock is reported once two scans in a row saw the same threads in the same waits
//! (a single scan of a running program can see a torn picture). The report
//! ([`report::Report`], JSON with a `schema` number) lists for every thread of the cycle
//! what it waits for, where, what it holds and where it took it, who could end the wait,
//! its function contexts and, for threads parked in waitgraph's primitives, a backtrace
//! captured by the blocked thread itself when the watchdog asked. Threads deadlocked with
//! the cycle but not on it (the other workers that could each have ended a wait) are
//! listed as `also_deadlocked`; threads blocked behind it, as victims. [`dump`] gives the whole graph on demand.
//!
//! ## Cost
//!
//! An uncontended lock + unlock records the hold in the thread's own slot: no global
//! lock, no clock read. Blocking waits publish themselves after a 1 ms grace period.
//! `WAITGRAPH=off` in the environment or [`set_enabled`]`(false)` reduces every hook to
//! one relaxed load; building without the `probe` feature (`default-features = false,
//! features = ["sync"]`) compiles the hooks away and the primitives are parking_lot's.
//! The README has the measured figures.
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `sync` | yes (via `probe`) | the primitives, [`thread`], [`context`] |
//! | `probe` | yes | the registry, the [`Watchdog`], [`dump`] |
//! | `tracing` | no | the watchdog emits `tracing` events; `layer::ContextLayer` makes spans function contexts |
//! | `parking-lot-deadlock` | no | the watchdog also runs parking_lot's deadlock check, for uninstrumented parking_lot locks |
//! | `signal` | no | `SIGUSR1` writes the current graph to a file (Unix) |
//!
//! Without any feature the crate is the [`model`], the [`report`] types and the [`graph`]
//! algorithms: no threads, no I/O (the offline analyzer uses it that way).

/// Instruments a function: see [the crate documentation](crate#the-attribute).
pub use waitgraph_macros::instrument;

/// Keeps an expression exactly as written inside an instrumented function: the escape
/// hatch where the original guard type is needed (returned, passed to `MutexGuard::map`,
/// to a wait the attribute does not know). What it acquires is not recorded.
///
/// ```
/// use std::sync::{Mutex, MutexGuard};
///
/// #[waitgraph::instrument]
/// fn first(items: &Mutex<Vec<u32>>) -> MutexGuard<'_, Vec<u32>> {
///     waitgraph::uninstrumented!(items.lock()).unwrap()
/// }
/// # assert!(first(&Mutex::new(vec![])).is_empty());
/// ```
#[macro_export]
macro_rules! uninstrumented {
    ($expression:expr) => {
        $expression
    };
}

#[cfg(feature = "sync")]
pub mod context;
pub mod graph;
#[cfg(feature = "tracing")]
pub mod layer;
pub mod model;
pub mod report;

#[cfg(feature = "probe")]
pub(crate) mod probe;
#[cfg(feature = "probe")]
pub mod record;
#[cfg(feature = "sync")]
pub mod sync;
#[cfg(feature = "sync")]
pub mod thread;

#[cfg(feature = "probe")]
pub use probe::dump::{dump, GraphDump};
#[cfg(feature = "probe")]
pub use probe::switch::{enabled, set_enabled};
#[cfg(feature = "probe")]
pub use probe::watchdog::{Watchdog, WatchdogBuilder, WatchdogHandle};

/// What code generated by [`instrument`] calls; not a public API.
#[doc(hidden)]
#[cfg(feature = "probe")]
#[path = "support/mod.rs"]
pub mod __macro_support;

#[doc(hidden)]
#[cfg(feature = "probe")]
pub mod __private {
    pub use crate::probe::registry::hold_for_test;

    /// One watchdog scan (what the scan benchmark measures): returns how many stuck
    /// groups it found.
    pub fn scan() -> usize {
        crate::probe::snapshot::Scan::take().groups.len()
    }
}

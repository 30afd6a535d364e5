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
//! waitgraph = { path = "runtime-probe" }  # from this repository
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
//! ## The attribute
//!
//! Code that uses `std::sync` or parking_lot needs no rewrite. With `waitgraph` as a
//! dependency (default features), put [`#[waitgraph::instrument]`](instrument) on the
//! functions of the pool, the event loop and the coordinator, start the watchdog, and
//! their locks, condvars, barriers, channels and joins take part in the graph, with the
//! exact site of every call.
//!
//! ```no_run
//! use std::sync::{Arc, Mutex};
//!
//! struct Bank {
//!     accounts: Mutex<u64>,
//!     ledger: Mutex<Vec<u64>>,
//! }
//!
//! impl Bank {
//!     #[waitgraph::instrument]
//!     fn transfer(&self) {
//!         let mut accounts = self.accounts.lock().unwrap(); // recorded: held from here
//!         let mut ledger = self.ledger.lock().unwrap();     // recorded: a wait, then held
//!         *accounts -= 1;
//!         ledger.push(1);
//!     }                                                     // recorded: both released
//! }
//!
//! let _watchdog = waitgraph::Watchdog::builder()
//!     .report_file("target/waitgraph/report.json")
//!     .exit_on_deadlock(3)
//!     .start();
//! ```
//!
//! If `transfer` and another function take the two mutexes in opposite orders and
//! deadlock, the report names them by where they live (`bank::Bank::accounts`), the
//! threads, the call sites and the functions (`examples/attribute_std.rs` does exactly
//! this and exits with status 3):
//!
//! ```text
//! waitgraph: deadlock: 2 threads wait on each other in a cycle: audit -> transfer
//!   thread `audit` holds bank::Bank::ledger and waits (lock) for `bank::Bank::accounts` at src/bank.rs:33:38 in bank::audit, which needs `transfer`
//!   thread `transfer` holds bank::Bank::accounts and waits (lock) for `bank::Bank::ledger` at src/bank.rs:24:38 in bank::transfer, which needs `audit`
//! ```
//!
//! ### What is instrumented
//!
//! Calls in the body of the annotated function (closures included, nested `fn` items not)
//! whose receiver is one of these types, reached directly or through `&`, `&mut`, `Arc`,
//! `Rc`, `Box`, `LazyLock` or once_cell's `Lazy` (up to two of them), or through a
//! `lazy_static!` static (`OnceLock::get_or_init` and `get` return a `&`, so they are
//! covered too). "parking_lot" means every lock_api 0.4 lock: parking_lot 0.12 and 0.11,
//! spin's `spin::lock_api` locks, any crate whose `Mutex` / `RwLock` is
//! `lock_api::Mutex<R, T>` / `lock_api::RwLock<R, T>`. Not covered: spin's own
//! `spin::Mutex` (use `spin::lock_api::Mutex`), `ReentrantMutex`, lock_api 0.3 and older,
//! and async locks (tokio's `Mutex` is awaited, not blocked on).
//!
//! | call | std | parking_lot (lock_api 0.4) | waitgraph | recorded |
//! |---|---|---|---|---|
//! | `lock`, `try_lock` | `Mutex` | `Mutex` | as always | wait (if it blocks), hold, release |
//! | `read`, `write`, `try_read`, `try_write` | `RwLock` | `RwLock` | as always | the same, shared or exclusive |
//! | `upgradable_read` | | `RwLock` | as always | the same, upgradable |
//! | `wait`, `wait_while` | `Condvar` | `Condvar` | as always | release, wait, hold again |
//! | `wait_timeout`, `wait_timeout_while` | `Condvar` | | | the same, a timed wait |
//! | `wait_for`, `wait_until`, `wait_while_for`, `wait_while_until` | | `Condvar` | as always | the same, a timed wait |
//! | `notify_one`, `notify_all` | `Condvar` | `Condvar` | as always | the notifier (who can end waits); the site, in the program-wide list of notify sites |
//! | `wait()` | `Barrier` | | as always | arrival and wait (providers unknown: a stall, never a deadlock) |
//! | `send` | `mpsc::Sender`, `SyncSender` | | as always | the send; a full `SyncSender`'s wait |
//! | `recv`, `recv_timeout` | `mpsc::Receiver` | | as always | the wait (providers unknown) |
//! | `join` | `JoinHandle`, `ScopedJoinHandle` | | as always | a wait for the joined thread |
//! | `call_once`, `call_once_force` | `Once` | | | while not complete: a lock wait on it; its closure holds it (recursive initialisation is a double lock) |
//! | `get_or_init` | `OnceLock` | | | the same (and once_cell's `sync::OnceCell`) |
//! | `LazyLock::force(&l)` | `LazyLock` | | | forced again by the same thread while it initialises: a wait for the hold the first `force` then takes (and once_cell's `sync::Lazy::force`) |
//!
//! Every `notify_one` / `notify_all` an instrumented function calls (in closures too) is
//! gathered at link time into one list of `(module, receiver)` sites: a std or parking_lot
//! condvar nobody has notified, that no site can reach (same crate and last name as the
//! receiver, or a tuple field like `pair.1` in the same module), is warned about as a stall
//! once a wait on it lasts, even while other threads run; one some site reaches is how idle
//! workers sleep, and stays quiet.
//!
//! waitgraph's own primitives record themselves; the attribute adds their function
//! context. `try_recv` cannot block and is left as written. A `LazyLock` or once_cell
//! `Lazy` initialised by a dereference (`*LAZY`, `LAZY.len()`) shows no call to rewrite:
//! its initialisation is not seen (write `LazyLock::force(&LAZY)`, or the initialiser as
//! `OnceLock::get_or_init`, to have it checked).
//!
//! Calls on any other type compile and behave exactly as before, with no event: the
//! choice is made by the compiler from the receiver's type (`io::stdout().lock()`,
//! `Path::join`, `Child::wait`, `Vec::write`, a type of your own with a `lock` method all
//! keep their own method, receiver and result). Best effort, behaving as written when
//! not instrumented:
//!
//! | case | what happens |
//! |---|---|
//! | a generic function (`fn f<L: Lock>(l: &L)`) | instrumented where the type is known in the body, as written otherwise |
//! | inside `assert!`, `format!`, `println!`, `vec!`, `write!` and the like | instrumented; other macros' arguments are left as written |
//! | a receiver that is a macro call | left as written |
//! | a wrapper that derefs to a mutex through a type not listed above (your own newtype) | left as written (its own `lock` may exist): call `wrapper.deref().lock()` or `wrapper.0.lock()` to reach the mutex itself |
//! | std barrier, std channels | waits published with unknown providers: stalls, never deadlocks |
//!
//! A std or parking_lot guard comes back as an [`InstrumentedGuard`]: it derefs to the
//! data, passes to an instrumented condvar wait (std's by value, parking_lot's by
//! `&mut`), goes through parking_lot's `RwLockUpgradableReadGuard::upgrade` /
//! `try_upgrade` / `downgrade` and `RwLockWriteGuard::downgrade` /
//! `downgrade_to_upgradable` (the record follows it, and an upgrade that must wait for
//! readers publishes that wait), and records the release when dropped, `drop(guard)`
//! included.
//!
//! Code that writes the original guard type keeps compiling as it is. The attribute
//! follows the guard to where the type is written:
//!
//! | where | what the attribute does |
//! |---|---|
//! | a function (or closure) declared to return a guard type (`MutexGuard`, `RwLockReadGuard`, `LockResult<..>`, ...: a `rl()` / `wl()` accessor) | its acquires keep the original type: the wait is published, the hold is not kept |
//! | `let g: MutexGuard<..> = ..` (a guard type written in the `let`) | the same for that `let`'s value; a guarded local in a tuple or array there is handed over |
//! | a local bound from an acquire, passed by value to a call (`consume(g)`, `MutexGuard::map(g, ..)`, `Some(g)`, `v.push(g)`), put in a struct literal, assigned to a place (`holder.g = g`), returned or the tail of a function declared as above | handed over as the original guard: its hold leaves the record there |
//! | a local bound from an acquire and later assigned a call's value (`g = wait_here(cv, g)`) | bound with the original type from the start |
//!
//! A hold the record no longer has can miss an edge, never make a false one: a lock
//! believed held when it is not would make a false deadlock. A lock wait with no holder
//! in the record is still a wait: past the stall threshold it is warned about (a double
//! lock behind a `wl()` accessor is a stall warning; when every thread of the process
//! waits, a deadlock). What the attribute does not follow (a guard returned from a
//! closure into a typed `let`, for one) is a type error at that value: wrap the acquiring
//! expression in [`uninstrumented!`] to keep its original type.
//!
//! ### Arguments
//!
//! Concepts the code cannot show are declared once, where they live:
//!
//! ```
//! # use std::sync::Mutex;
//! // The context reports use (default: `module::function`; on an `impl` block,
//! // `module::Type::method` for each of its methods).
//! #[waitgraph::instrument(name = "Pool::shrink")]
//! fn shrink() {}
//!
//! // The function takes or gives back a named resource, e.g. a host's global lock
//! // reached through FFI: held from `take_gil`'s return until `give_gil`'s.
//! #[waitgraph::instrument(acquires = "gil")]
//! fn take_gil() { /* PyEval_RestoreThread(..) */ }
//! #[waitgraph::instrument(releases = "gil")]
//! fn give_gil() { /* PyEval_SaveThread() */ }
//!
//! // The function is a blocking wait (a spin loop) for a named barrier, job or event.
//! #[waitgraph::instrument(waits_for = "workers-exit")]
//! fn wait_for_exit(exit: &waitgraph::sync::Barrier) {
//!     while exit.generation() == 0 { std::thread::yield_now() }
//! }
//!
//! // One iteration of a worker loop of the executor "workers"; a job it runs; a function
//! // that queues one.
//! #[waitgraph::instrument(serves = "workers")]
//! fn worker_loop() {}
//! #[waitgraph::instrument(job = "workers")]
//! fn run_query() {}
//! #[waitgraph::instrument(schedules = "workers")]
//! fn submit_query() {}
//! # take_gil(); give_gil(); shrink(); worker_loop(); run_query(); submit_query();
//! ```
//!
//! Names refer to the resources the program created with that name
//! ([`sync::Executor::new`]`("workers")`, [`sync::Barrier::for_executor`]`("workers-exit", ..)`);
//! a name nothing carries gets a resource of its own. Unknown or malformed arguments,
//! `const fn`, items other than functions, and `async fn` (a thread's function context
//! cannot follow a future across `.await`s; instrument the blocking functions it calls)
//! are compile errors pointing at the culprit.
//!
//! ## Recording a trace
//!
//! [`record::TraceFile`] writes every thread's events to a file while the program runs,
//! for offline analysis (`waitgraph_analyzer::trace::load` reads it); a watchdog that
//! exits the process on a deadlock finishes it first. [`record::capture`] gives one
//! thread's events in memory, which is how this crate's tests check what the attribute
//! records.
//!
//! ```no_run
//! let trace = waitgraph::record::TraceFile::create("target/waitgraph/run.trace.jsonl")?;
//! // ... the program ...
//! let written = trace.finish()?;
//! assert_eq!(written.dropped, 0, "the writer kept up");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## Reading a report
//!
//! A deadlock is reported once two scans in a row saw the same threads in the same waits
//! (a single scan of a running program can see a torn picture); a cycle made only of
//! untimed lock waits, within milliseconds of closing, once one scan and a re-read of
//! each thread's wait agree (the thread that closes it prompts the watchdog). The report
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
//!
//! Built without the `probe` feature, the attribute returns the function exactly as
//! written, token for token. With it, `WAITGRAPH=off` costs one relaxed load per event
//! (measured: 10 lock / unlock pairs 0.92x to 1.04x the same function without the
//! attribute); recording costs 1.18x to 1.36x. Compile time grows with the number of
//! rewritten calls. The README has the measured figures.
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `sync` | yes (via `probe`) | the primitives, [`thread`], [`context`] |
//! | `probe` | yes | the registry, the [`Watchdog`], [`dump`], [`record`], the attribute's instrumentation |
//! | `tracing` | no | the watchdog emits `tracing` events; `layer::ContextLayer` makes spans function contexts |
//! | `parking-lot-deadlock` | no | the watchdog also runs parking_lot's deadlock check, for uninstrumented parking_lot locks |
//! | `signal` | no | `SIGUSR1` writes the current graph to a file (Unix) |
//!
//! Without any feature the crate is the [`model`], the [`report`] types and the [`graph`]
//! algorithms: no threads, no I/O (the offline analyzer uses it that way).

/// Instruments a function: see [the crate documentation](crate#the-attribute).
/// Instruments a function: its lock, condvar, barrier, channel, join and one-time
/// initialisation calls on std, parking_lot (any lock_api 0.4 lock) and waitgraph's own
/// types publish their waits and holds to the probe, and the thread is "in" the function
/// (its context) for reports. Calls on any other type are left as they are.
///
/// ```
/// use std::sync::Mutex;
///
/// struct Bank {
///     accounts: Mutex<Vec<u64>>,
///     ledger: Mutex<Vec<String>>,
/// }
///
/// impl Bank {
///     // Run as `transfer` on one thread and `audit` (ledger, then accounts) on another,
///     // this pair deadlocks; the watchdog reports the cycle with both functions.
///     #[waitgraph::instrument]
///     fn transfer(&self, from: usize, to: usize, amount: u64) {
///         let mut accounts = self.accounts.lock().unwrap();
///         accounts[from] -= amount;
///         accounts[to] += amount;
///         self.ledger.lock().unwrap().push(format!("{from} -> {to}: {amount}"));
///     }
/// }
///
/// let bank = Bank { accounts: Mutex::new(vec![10, 0]), ledger: Mutex::new(Vec::new()) };
/// bank.transfer(0, 1, 5);
/// assert_eq!(*bank.accounts.lock().unwrap(), [5, 5]);
/// ```
///
/// | argument | says |
/// |---|---|
/// | `name = ".."` | the context reports use (default `module::function`) |
/// | (on an `impl` block, no argument) | every method instrumented, named `module::Type::method`; a method's own `#[waitgraph::instrument(..)]` gives its arguments |
/// | `acquires = ".."` / `releases = ".."` | the function takes / gives back the named resource (a lock taken across a boundary the code cannot show) |
/// | `waits_for = ".."` | the function is a blocking wait for the named barrier, job or event (a spin loop) |
/// | `serves = ".."` | one iteration of a worker loop of the named executor |
/// | `job = ".."` | a job the named executor runs |
/// | `schedules = ".."` | the function queues work to the named executor; its caller's next receive on a std `mpsc` channel, in the same function, waits for that work (as `waits_for` would say) |
///
/// The crate documentation, section "The attribute", has the full table of what is
/// instrumented on which types, the guard rules and what is not recognised.
#[doc(inline)]
pub use waitgraph_macros::instrument;

/// Keeps the types of an expression as written inside an instrumented function: the
/// escape hatch where the original guard type is needed by a route the attribute does
/// not follow (see [the crate documentation](crate#what-is-instrumented)). A wait it
/// blocks in is still published (a hang there is at least a stall warning); the hold of
/// what it acquires is not kept.
///
/// ```
/// use std::sync::{Mutex, MutexGuard};
///
/// #[waitgraph::instrument]
/// fn first(items: &Mutex<Vec<u32>>) -> u32 {
///     let guard = waitgraph::uninstrumented!(items.lock()).unwrap();
///     let later = move || guard; // a closure's value: not followed by the attribute
///     let kept: MutexGuard<'_, Vec<u32>> = later();
///     kept[0]
/// }
/// # assert_eq!(first(&Mutex::new(vec![4])), 4);
/// ```
#[macro_export]
macro_rules! uninstrumented {
    ($expression:expr) => {
        $expression
    };
}

#[cfg(feature = "sync")]
pub mod context;
#[cfg(feature = "tracing")]
pub mod layer;
/// The model, the findings model and the graph algorithms live in the dependency-light
/// crate `waitgraph-core`, shared with the offline analyzer; they are the same items here.
pub use waitgraph_core::{graph, model, predict, report};

#[cfg(feature = "probe")]
pub(crate) mod probe;
#[cfg(feature = "probe")]
pub mod record;
#[cfg(feature = "sync")]
pub mod sync;
#[cfg(feature = "sync")]
pub mod thread;

/// The guard an instrumented function gets from a std or parking_lot lock.
#[cfg(feature = "probe")]
pub use __macro_support::Guard as InstrumentedGuard;
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
    pub use crate::probe::watchdog::fail_next_scans;

    /// One watchdog scan (what the scan benchmark measures): returns how many stuck
    /// groups it found.
    pub fn scan() -> usize {
        crate::probe::snapshot::Scan::take().groups.len()
    }
}

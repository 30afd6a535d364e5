//! Declaring what a busy loop waits for, so a spin-wait (invisible to every lock-order
//! checker) becomes a wait the watchdog can put in a cycle.
//!
//! ```
//! use waitgraph::sync::{Barrier, SpinWait};
//! let barrier = Barrier::named("workers-exit", 1);
//! let spin = SpinWait::on(&barrier);          // published: this thread waits for the barrier
//! barrier.wait();                             // (here the only party arrives at once)
//! while barrier.generation() == 0 {
//!     spin.pause(std::time::Duration::from_micros(1));
//! }
//! ```

use super::barrier::Barrier;
use super::event::Event;
use super::executor::Job;
use super::hooks::{self, WaitScope};
use crate::model::{EventKind, ResourceKey, WaitKind};
use std::panic::Location;
use std::time::Duration;

/// Something a spin-wait can wait for: a barrier's round, a job, a named event.
pub trait SpinTarget: sealed::Sealed {
    #[doc(hidden)]
    fn spin_key(&self) -> ResourceKey;
    /// The target's state now (a barrier's round); the wait is over once it moves on.
    #[doc(hidden)]
    fn spin_token(&self) -> u64 {
        0
    }
    /// For a barrier fed by an executor: the executor.
    #[doc(hidden)]
    fn spin_fed_by(&self) -> Option<ResourceKey> {
        None
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Barrier {}
    impl Sealed for super::Job {}
    impl Sealed for super::Event {}
}

impl SpinTarget for Barrier {
    fn spin_key(&self) -> ResourceKey {
        self.key()
    }
    fn spin_token(&self) -> u64 {
        self.generation()
    }
    fn spin_fed_by(&self) -> Option<ResourceKey> {
        self.fed_by()
    }
}

impl SpinTarget for Job {
    fn spin_key(&self) -> ResourceKey {
        self.key()
    }
}

impl SpinTarget for Event {
    fn spin_key(&self) -> ResourceKey {
        self.key()
    }
}

/// A published spin-wait: the thread waits for the target from creation until drop.
pub struct SpinWait {
    wait: Option<WaitScope>,
}

impl SpinWait {
    /// Starts a spin-wait for `target`. `timed` says the loop has a bound of its own
    /// (it can stall, never deadlock).
    #[track_caller]
    pub fn on(target: &impl SpinTarget) -> SpinWait {
        SpinWait::begin(target, false, Location::caller())
    }

    /// A spin-wait whose loop gives up by itself after a bound.
    #[track_caller]
    pub fn bounded(target: &impl SpinTarget) -> SpinWait {
        SpinWait::begin(target, true, Location::caller())
    }

    fn begin(target: &impl SpinTarget, timed: bool, site: &'static Location<'static>) -> SpinWait {
        let wait = hooks::enabled().then(|| {
            if let Some(executor) = target.spin_fed_by() {
                let barrier = target.spin_key();
                hooks::note(|| EventKind::BarrierFedBy { barrier, executor }, Some(site));
            }
            WaitScope::begin_with_token(
                target.spin_key(),
                WaitKind::Spin,
                site,
                timed,
                target.spin_token(),
            )
        });
        SpinWait { wait }
    }

    /// One turn of the loop: sleeps `pause` (zero: yields), and serves the watchdog.
    #[inline]
    pub fn pause(&self, pause: Duration) {
        if pause.is_zero() {
            std::thread::yield_now();
        } else {
            std::thread::sleep(pause);
        }
        if let Some(wait) = &self.wait {
            wait.serve();
        }
    }
}

/// Spins until `done()` holds, pausing `pause` between checks, as a published wait for
/// `target`.
#[track_caller]
pub fn spin_until(target: &impl SpinTarget, pause: Duration, mut done: impl FnMut() -> bool) {
    let spin = SpinWait::begin(target, false, Location::caller());
    while !done() {
        spin.pause(pause);
    }
}

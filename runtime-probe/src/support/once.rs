//! One-time initialisation: std's `Once::call_once` / `call_once_force`,
//! `OnceLock::get_or_init`, once_cell's `sync::OnceCell::get_or_init`.
//!
//! While it is not complete, initialisation is a lock: the thread that runs the closure
//! holds it until the closure returns (or unwinds), and every other caller waits for it.
//! So it is recorded as one: a caller publishes a wait for the cell before the call; the
//! closure, once it runs, ends that wait and records the hold; its end records the
//! release. A closure that reaches the same cell again waits for a lock its own thread
//! holds (recursive initialisation, which std leaves blocked for ever): a double lock. A
//! closure that waits for something a waiting caller holds closes a cycle like any lock.
//!
//! | state of the cell | recorded |
//! |---|---|
//! | already complete | nothing (the call does not block) |
//! | another thread initialises | a lock wait on the cell, ended when the call returns |
//! | this thread initialises | the wait, ended as the closure starts; hold; release at its end |

use super::select::{Instrument, Via};
use super::{foreign_key, Owner, Receiver};
use crate::model::{LockMode, ResourceKey, ResourceKind, WaitKind};
use crate::sync::hooks::{self, Shared, WaitScope};
use std::cell::Cell;
use std::marker::PhantomData;
use std::panic::Location;
use std::sync::{Once, OnceLock, OnceState};

type OnceCell<U> = once_cell::sync::OnceCell<U>;

/// A caller of a cell that was not complete: waiting, until its closure runs.
struct Caller {
    key: ResourceKey,
    site: &'static Location<'static>,
    waiting: Cell<Option<WaitScope>>,
}

impl Caller {
    /// The closure runs on this thread: the wait is over, the cell is held.
    fn initialising(&self) -> Initialising {
        drop(self.waiting.take());
        let held = hooks::enabled() && hooks::acquired(self.key, LockMode::Exclusive, self.site);
        Initialising {
            held: held.then_some(self.key),
        }
    }
}

/// The hold of a cell while its closure runs; released when the closure ends.
struct Initialising {
    held: Option<ResourceKey>,
}

impl Drop for Initialising {
    fn drop(&mut self) {
        if let Some(key) = self.held {
            hooks::released(key, LockMode::Exclusive);
        }
    }
}

/// Runs `call` (the original method, its closure wrapped to call
/// `Caller::initialising` first) with the wait published if the cell is not complete.
#[inline]
fn one_time<T: ?Sized, R>(
    cell: &T,
    complete: bool,
    at: &'static Receiver,
    owner: Owner,
    site: &'static Location<'static>,
    call: impl FnOnce(Option<&Caller>) -> R,
) -> R {
    if complete || !hooks::enabled() {
        return call(None);
    }
    let key = foreign_key(cell, ResourceKind::Mutex, at, owner, site, || Shared::Lock);
    let caller = Caller {
        key,
        site,
        waiting: Cell::new(Some(WaitScope::begin(
            key,
            WaitKind::Lock(LockMode::Exclusive),
            site,
            false,
        ))),
    };
    call(Some(&caller))
}

impl Via<Once> {
    #[track_caller]
    pub fn call_once<F: FnOnce()>(&self, once: &Once, f: F, at: &'static Receiver, owner: Owner) {
        one_time(
            once,
            once.is_completed(),
            at,
            owner,
            Location::caller(),
            |caller| {
                once.call_once(|| {
                    let _held = caller.map(Caller::initialising);
                    f()
                })
            },
        )
    }

    #[track_caller]
    pub fn call_once_force<F: FnOnce(&OnceState)>(
        &self,
        once: &Once,
        f: F,
        at: &'static Receiver,
        owner: Owner,
    ) {
        one_time(
            once,
            once.is_completed(),
            at,
            owner,
            Location::caller(),
            |caller| {
                once.call_once_force(|state| {
                    let _held = caller.map(Caller::initialising);
                    f(state)
                })
            },
        )
    }
}

impl<U> Via<OnceLock<U>> {
    #[track_caller]
    pub fn get_or_init<'c, F: FnOnce() -> U>(
        &self,
        cell: &'c OnceLock<U>,
        f: F,
        at: &'static Receiver,
        owner: Owner,
    ) -> &'c U {
        one_time(
            cell,
            cell.get().is_some(),
            at,
            owner,
            Location::caller(),
            |caller| {
                cell.get_or_init(|| {
                    let _held = caller.map(Caller::initialising);
                    f()
                })
            },
        )
    }
}

impl<U> Via<OnceCell<U>> {
    #[track_caller]
    pub fn get_or_init<'c, F: FnOnce() -> U>(
        &self,
        cell: &'c OnceCell<U>,
        f: F,
        at: &'static Receiver,
        owner: Owner,
    ) -> &'c U {
        one_time(
            cell,
            cell.get().is_some(),
            at,
            owner,
            Location::caller(),
            |caller| {
                cell.get_or_init(|| {
                    let _held = caller.map(Caller::initialising);
                    f()
                })
            },
        )
    }
}

/// The same, called with the original method names (a closure argument is typed by the
/// signature of the method it is passed to).
impl Instrument<'_, Once> {
    #[track_caller]
    pub fn call_once<F: FnOnce()>(self, f: F) {
        Via::<Once>(PhantomData).call_once(self.receiver, f, self.at, self.owner)
    }

    #[track_caller]
    pub fn call_once_force<F: FnOnce(&OnceState)>(self, f: F) {
        Via::<Once>(PhantomData).call_once_force(self.receiver, f, self.at, self.owner)
    }
}

impl<'c, U> Instrument<'c, OnceLock<U>> {
    #[track_caller]
    pub fn get_or_init<F: FnOnce() -> U>(self, f: F) -> &'c U {
        Via::<OnceLock<U>>(PhantomData).get_or_init(self.receiver, f, self.at, self.owner)
    }
}

impl<'c, U> Instrument<'c, OnceCell<U>> {
    #[track_caller]
    pub fn get_or_init<F: FnOnce() -> U>(self, f: F) -> &'c U {
        Via::<OnceCell<U>>(PhantomData).get_or_init(self.receiver, f, self.at, self.owner)
    }
}

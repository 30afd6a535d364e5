//! One-time initialisation: std's `Once::call_once` / `call_once_force`,
//! `OnceLock::get_or_init`, once_cell's `sync::OnceCell::get_or_init`; and
//! `LazyLock::force` / once_cell's `Lazy::force`, whose initialiser the attribute cannot
//! wrap: a `force` reached again on the same thread while the first still runs is
//! recorded as waiting for the hold the first one then takes (a double lock). Forcing by
//! a dereference (`*CONFIG`) shows no call and is not seen.
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
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::panic::Location;
use std::sync::{LazyLock, Once, OnceLock, OnceState};

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

/// `get_or_init` on each cell type: the same steps, the cell's own method.
macro_rules! get_or_init {
    ($($cell:ident),*) => {$(
        impl<U> Via<$cell<U>> {
            #[track_caller]
            pub fn get_or_init<'c, F: FnOnce() -> U>(
                &self,
                cell: &'c $cell<U>,
                f: F,
                at: &'static Receiver,
                owner: Owner,
            ) -> &'c U {
                let complete = cell.get().is_some();
                one_time(cell, complete, at, owner, Location::caller(), |caller| {
                    cell.get_or_init(|| {
                        let _held = caller.map(Caller::initialising);
                        f()
                    })
                })
            }
        }

        /// Called with the original method name (the closure typed by its signature).
        impl<'c, U> Instrument<'c, $cell<U>> {
            #[track_caller]
            pub fn get_or_init<F: FnOnce() -> U>(self, f: F) -> &'c U {
                Via::<$cell<U>>(PhantomData).get_or_init(self.receiver, f, self.at, self.owner)
            }
        }
    )*};
}

get_or_init!(OnceLock, OnceCell);

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

thread_local! {
    /// The lazy values this thread is forcing, by address (innermost last).
    static FORCING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Forces a lazy value through `force`: a `force` of one this thread is already forcing
/// records the outer call's hold and a wait for it, then blocks as the original does.
#[inline]
fn forced<T: ?Sized, R>(
    lazy: &T,
    at: &'static Receiver,
    owner: Owner,
    site: &'static Location<'static>,
    force: impl FnOnce() -> R,
) -> R {
    if !hooks::enabled() {
        return force();
    }
    let address = lazy as *const T as *const () as usize;
    let again = FORCING
        .try_with(|forcing| forcing.borrow().contains(&address))
        .unwrap_or(false);
    if again {
        let key = foreign_key(lazy, ResourceKind::Mutex, at, owner, site, || Shared::Lock);
        hooks::acquired(key, LockMode::Exclusive, site);
        let _wait = WaitScope::begin(key, WaitKind::Lock(LockMode::Exclusive), site, false);
        return force();
    }
    let _ = FORCING.try_with(|forcing| forcing.borrow_mut().push(address));
    struct Done(usize);
    impl Drop for Done {
        fn drop(&mut self) {
            let _ = FORCING.try_with(|forcing| {
                let mut forcing = forcing.borrow_mut();
                if let Some(index) = forcing.iter().rposition(|&a| a == self.0) {
                    forcing.remove(index);
                }
            });
        }
    }
    let _done = Done(address);
    force()
}

impl<U, F: FnOnce() -> U> Via<LazyLock<U, F>> {
    /// The argument as the branch as written (never taken) sees it.
    pub fn guard_arg<'a>(&self, lazy: &'a LazyLock<U, F>) -> &'a LazyLock<U, F> {
        lazy
    }

    #[track_caller]
    pub fn force<'a>(&self, lazy: &'a LazyLock<U, F>, at: &'static Receiver) -> &'a U {
        forced(lazy, at, None, Location::caller(), || LazyLock::force(lazy))
    }
}

impl<U, F: FnOnce() -> U> Via<once_cell::sync::Lazy<U, F>> {
    /// The argument as the branch as written (never taken) sees it.
    pub fn guard_arg<'a>(
        &self,
        lazy: &'a once_cell::sync::Lazy<U, F>,
    ) -> &'a once_cell::sync::Lazy<U, F> {
        lazy
    }

    #[track_caller]
    pub fn force<'a>(&self, lazy: &'a once_cell::sync::Lazy<U, F>, at: &'static Receiver) -> &'a U {
        if once_cell::sync::Lazy::get(lazy).is_some() {
            return once_cell::sync::Lazy::force(lazy);
        }
        forced(lazy, at, None, Location::caller(), || {
            once_cell::sync::Lazy::force(lazy)
        })
    }
}

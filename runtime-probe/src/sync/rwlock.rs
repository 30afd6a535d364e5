use super::hooks::{self, Meta, Shared, WaitScope, GRACE};
use crate::model::{LockMode, ResourceKey, ResourceKind, WaitKind};
use std::borrow::Cow;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::time::{Duration, Instant};

/// A reader-writer lock with parking_lot's API (task-fair: a reader waits while a writer
/// waits), seen by the watchdog.
///
/// Because it is fair, a thread that holds a read lock and asks for a second one while
/// a writer waits deadlocks; the watchdog reports that. [`read_recursive`](RwLock::read_recursive)
/// does not wait for writers and is the way to re-enter.
pub struct RwLock<T: ?Sized> {
    meta: Meta,
    inner: parking_lot::RwLock<T>,
}

pub struct RwLockReadGuard<'a, T: ?Sized> {
    #[allow(dead_code)] // kept for its drop, which records the release
    held: Hold,
    inner: parking_lot::RwLockReadGuard<'a, T>,
}

pub struct RwLockWriteGuard<'a, T: ?Sized> {
    held: Hold,
    inner: parking_lot::RwLockWriteGuard<'a, T>,
}

pub struct RwLockUpgradableReadGuard<'a, T: ?Sized> {
    held: Hold,
    inner: parking_lot::RwLockUpgradableReadGuard<'a, T>,
}

/// What a guard recorded, released when it drops (before the real unlock).
struct Hold {
    key: ResourceKey,
    mode: LockMode,
    recorded: bool,
}

impl Hold {
    const UNRECORDED: Hold = Hold {
        key: ResourceKey(0),
        mode: LockMode::Shared,
        recorded: false,
    };

    fn new(key: ResourceKey, mode: LockMode, site: &'static Location<'static>) -> Hold {
        Hold {
            key,
            mode,
            recorded: hooks::acquired(key, mode, site),
        }
    }

    fn release(&mut self) {
        if std::mem::take(&mut self.recorded) {
            hooks::released(self.key, self.mode);
        }
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.release();
    }
}

/// Acquires with `fast`, and else blocks with the wait published: in slices with `timed`
/// (so the thread can serve the watchdog), or with `whole` in one piece.
///
/// A writer (exclusive or upgradable) that is not timed blocks in one piece: parking_lot
/// lets readers in again whenever a timed writer gives up, so slicing its wait would
/// change what the program does (and hide the very deadlock of a re-entrant fair read).
/// Such a waiter has no backtrace in reports; its function contexts still show.
fn acquire<G>(
    key: ResourceKey,
    kind: WaitKind,
    site: &'static Location<'static>,
    deadline: Option<Instant>,
    fast: impl FnOnce() -> Option<G>,
    mut timed: impl FnMut(Duration) -> Option<G>,
    whole: Option<&dyn Fn() -> G>,
) -> Option<G> {
    if let Some(guard) = fast() {
        return Some(guard);
    }
    let wait = WaitScope::begin(key, kind, site, deadline.is_some());
    if let (None, Some(whole)) = (deadline, whole) {
        return Some(whole());
    }
    loop {
        let slice = hooks::next_slice(deadline);
        if let Some(guard) = timed(slice) {
            return Some(guard);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return None;
        }
        wait.serve();
    }
}

/// The blocking methods of one access mode. A reader's first attempt is `$raw_for`:
/// parking_lot's compare-and-swap fast path (no load before it), then the grace period.
/// A writer's is `$raw_try`, then it publishes its wait and blocks in one piece.
macro_rules! acquire_methods {
    ($(#[$doc:meta])* $name:ident, $try_name:ident, $for_name:ident, $until_name:ident,
     $guard:ident, $mode:expr, $wait_mode:expr, $raw:ident, $raw_try:ident, $raw_for:ident,
     $raw_until:ident, sliced: $sliced:expr) => {
        $(#[$doc])*
        #[inline]
        #[track_caller]
        pub fn $name(&self) -> $guard<'_, T> {
            if !hooks::enabled() {
                return $guard { held: Hold::UNRECORDED, inner: self.inner.$raw() };
            }
            let site = Location::caller();
            let key = self.key();
            let whole = || self.inner.$raw();
            let whole: Option<&dyn Fn() -> _> = if $sliced { None } else { Some(&whole) };
            let inner = acquire(
                key,
                $wait_mode,
                site,
                None,
                // A writer's first attempt is untimed too: a timed parking_lot writer
                // that gives up lets the readers queued behind it in.
                || if $sliced { self.inner.$raw_for(GRACE) } else { self.inner.$raw_try() },
                |slice| self.inner.$raw_until(Instant::now() + slice),
                whole,
            );
            match inner {
                Some(inner) => $guard { held: Hold::new(key, $mode, site), inner },
                // Unreachable: an untimed acquire loops until it succeeds.
                None => $guard { held: Hold::UNRECORDED, inner: self.inner.$raw() },
            }
        }

        #[inline]
        #[track_caller]
        pub fn $try_name(&self) -> Option<$guard<'_, T>> {
            let inner = self.inner.$raw_try()?;
            if !hooks::enabled() {
                return Some($guard { held: Hold::UNRECORDED, inner });
            }
            Some($guard { held: Hold::new(self.key(), $mode, Location::caller()), inner })
        }

        #[track_caller]
        pub fn $for_name(&self, timeout: Duration) -> Option<$guard<'_, T>> {
            self.$until_name(Instant::now() + timeout)
        }

        #[track_caller]
        pub fn $until_name(&self, deadline: Instant) -> Option<$guard<'_, T>> {
            if !hooks::enabled() {
                return Some($guard { held: Hold::UNRECORDED, inner: self.inner.$raw_until(deadline)? });
            }
            let site = Location::caller();
            let key = self.key();
            let inner = acquire(
                key,
                $wait_mode,
                site,
                Some(deadline),
                || self.inner.$raw_try(),
                |slice| self.inner.$raw_until((Instant::now() + slice).min(deadline)),
                None,
            )?;
            Some($guard { held: Hold::new(key, $mode, site), inner })
        }
    };
}

impl<T> RwLock<T> {
    #[track_caller]
    pub const fn new(value: T) -> RwLock<T> {
        RwLock {
            meta: Meta::new(Location::caller(), None),
            inner: parking_lot::RwLock::new(value),
        }
    }

    #[track_caller]
    pub const fn named(name: &'static str, value: T) -> RwLock<T> {
        RwLock {
            meta: Meta::new(Location::caller(), Some(Cow::Borrowed(name))),
            inner: parking_lot::RwLock::new(value),
        }
    }

    #[track_caller]
    pub fn with_name(name: impl Into<Cow<'static, str>>, value: T) -> RwLock<T> {
        RwLock {
            meta: Meta::new(Location::caller(), Some(name.into())),
            inner: parking_lot::RwLock::new(value),
        }
    }

    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    #[inline]
    fn key(&self) -> ResourceKey {
        self.meta.key(ResourceKind::RwLock, || Shared::Lock)
    }

    acquire_methods!(
        /// Shared access; waits while a writer holds the lock or waits for it (fairness).
        read, try_read, try_read_for, try_read_until, RwLockReadGuard,
        LockMode::Shared, WaitKind::Lock(LockMode::Shared), read, try_read, try_read_for,
        try_read_until, sliced: true
    );
    acquire_methods!(
        /// Exclusive access.
        write, try_write, try_write_for, try_write_until, RwLockWriteGuard,
        LockMode::Exclusive, WaitKind::Lock(LockMode::Exclusive), write, try_write, try_write_for,
        try_write_until, sliced: false
    );
    acquire_methods!(
        /// Shared access that can later be upgraded; excludes writers and other upgradable readers.
        upgradable_read, try_upgradable_read, try_upgradable_read_for, try_upgradable_read_until,
        RwLockUpgradableReadGuard, LockMode::Upgradable, WaitKind::Lock(LockMode::Upgradable),
        upgradable_read, try_upgradable_read, try_upgradable_read_for, try_upgradable_read_until,
        sliced: false
    );

    /// Shared access that does not wait for waiting writers, so a thread that already
    /// reads can re-enter. It still waits while a writer holds the lock.
    #[track_caller]
    pub fn read_recursive(&self) -> RwLockReadGuard<'_, T> {
        if !hooks::enabled() {
            return RwLockReadGuard {
                held: Hold::UNRECORDED,
                inner: self.inner.read_recursive(),
            };
        }
        let site = Location::caller();
        let key = self.key();
        let inner = acquire(
            key,
            WaitKind::ReadRecursive,
            site,
            None,
            || self.inner.try_read_recursive(),
            |slice| self.inner.try_read_recursive_for(slice),
            None,
        );
        match inner {
            Some(inner) => RwLockReadGuard {
                held: Hold::new(key, LockMode::Shared, site),
                inner,
            },
            None => RwLockReadGuard {
                held: Hold::UNRECORDED,
                inner: self.inner.read_recursive(),
            },
        }
    }

    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    pub fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }

    /// Whether a writer holds the lock or, waiting for the readers to leave, already
    /// keeps new readers out.
    pub fn is_locked_exclusive(&self) -> bool {
        self.inner.is_locked_exclusive()
    }

    pub fn name(&self) -> Option<&str> {
        self.meta.name()
    }
}

impl<'a, T: ?Sized> RwLockUpgradableReadGuard<'a, T> {
    /// Upgrades to exclusive access, waiting for the other readers to leave.
    #[track_caller]
    pub fn upgrade(mut guard: Self) -> RwLockWriteGuard<'a, T> {
        let site = Location::caller();
        let key = guard.held.key;
        let recorded = guard.held.recorded;
        // While it waits, the thread still excludes writers; it is recorded as waiting
        // for exclusive access, and its upgradable hold is dropped from the record
        // (a missed edge at worst, never a false self-wait).
        guard.held.release();
        let inner =
            match parking_lot::RwLockUpgradableReadGuard::try_upgrade(guard.into_inner_guard()) {
                Ok(write) => write,
                Err(inner) if !recorded => parking_lot::RwLockUpgradableReadGuard::upgrade(inner),
                Err(inner) => {
                    // In one piece, like a writer (see `acquire`).
                    let _wait =
                        WaitScope::begin(key, WaitKind::Lock(LockMode::Exclusive), site, false);
                    parking_lot::RwLockUpgradableReadGuard::upgrade(inner)
                }
            };
        let held = if recorded {
            Hold::new(key, LockMode::Exclusive, site)
        } else {
            Hold::UNRECORDED
        };
        RwLockWriteGuard { held, inner }
    }

    fn into_inner_guard(self) -> parking_lot::RwLockUpgradableReadGuard<'a, T> {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again; its `held` was released above
        // and holds no resources.
        unsafe { std::ptr::read(&this.inner) }
    }
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns exclusive access into shared access without letting a writer in between.
    #[track_caller]
    pub fn downgrade(mut guard: Self) -> RwLockReadGuard<'a, T> {
        let recorded = guard.held.recorded;
        let key = guard.held.key;
        guard.held.release();
        let this = std::mem::ManuallyDrop::new(guard);
        // SAFETY: as in `into_inner_guard`.
        let inner = unsafe { std::ptr::read(&this.inner) };
        let inner = parking_lot::RwLockWriteGuard::downgrade(inner);
        let held = if recorded {
            Hold::new(key, LockMode::Shared, Location::caller())
        } else {
            Hold::UNRECORDED
        };
        RwLockReadGuard { held, inner }
    }
}

macro_rules! guard_traits {
    ($guard:ident $(, $mutable:ident)?) => {
        impl<T: ?Sized> Deref for $guard<'_, T> {
            type Target = T;
            #[inline]
            fn deref(&self) -> &T {
                &self.inner
            }
        }
        $(
            impl<T: ?Sized> $mutable for $guard<'_, T> {
                #[inline]
                fn deref_mut(&mut self) -> &mut T {
                    &mut self.inner
                }
            }
        )?
        impl<T: ?Sized + fmt::Debug> fmt::Debug for $guard<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }
    };
}

guard_traits!(RwLockReadGuard);
guard_traits!(RwLockWriteGuard, DerefMut);
guard_traits!(RwLockUpgradableReadGuard);

impl<T: Default> Default for RwLock<T> {
    #[track_caller]
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

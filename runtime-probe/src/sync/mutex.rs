use super::hooks::{self, Meta, Shared, WaitScope, GRACE};
use crate::model::{LockMode, ResourceKey, ResourceKind, WaitKind};
use std::borrow::Cow;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::time::{Duration, Instant};

/// A mutual exclusion lock with parking_lot's API, seen by the watchdog.
///
/// Its class is the name given to it, or else the place it was created.
///
/// ```
/// use waitgraph::sync::Mutex;
/// static GIL: Mutex<u32> = Mutex::named("gil", 0);
/// *GIL.lock() += 1;
/// assert_eq!(*GIL.lock(), 1);
/// ```
pub struct Mutex<T: ?Sized> {
    pub(crate) meta: Meta,
    pub(crate) inner: parking_lot::Mutex<T>,
}

/// Proof of holding a [`Mutex`]; the lock is released when it is dropped.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    /// The key of the recorded hold, or 0 when the hold was not recorded (one word, so
    /// the guard is returned in registers like parking_lot's).
    pub(crate) hold: u64,
    pub(crate) inner: parking_lot::MutexGuard<'a, T>,
}

impl<T> Mutex<T> {
    /// A new unlocked mutex whose class is the caller's location.
    #[track_caller]
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            meta: Meta::new(Location::caller(), None),
            inner: parking_lot::Mutex::new(value),
        }
    }

    /// A new unlocked mutex with a name reports use (and that is its class).
    #[track_caller]
    pub const fn named(name: &'static str, value: T) -> Mutex<T> {
        Mutex {
            meta: Meta::new(Location::caller(), Some(Cow::Borrowed(name))),
            inner: parking_lot::Mutex::new(value),
        }
    }

    /// Like [`named`](Mutex::named), with a name built at run time.
    #[track_caller]
    pub fn with_name(name: impl Into<Cow<'static, str>>, value: T) -> Mutex<T> {
        Mutex {
            meta: Meta::new(Location::caller(), Some(name.into())),
            inner: parking_lot::Mutex::new(value),
        }
    }

    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    #[inline]
    fn key(&self) -> ResourceKey {
        self.meta.key(ResourceKind::Mutex, || Shared::Lock)
    }

    #[inline]
    fn guard<'a>(
        &self,
        inner: parking_lot::MutexGuard<'a, T>,
        key: ResourceKey,
        site: &'static Location<'static>,
    ) -> MutexGuard<'a, T> {
        let hold = if hooks::acquired(key, LockMode::Exclusive, site) {
            key.0
        } else {
            0
        };
        MutexGuard { hold, inner }
    }

    /// Acquires the lock, blocking until it is free.
    #[inline]
    #[track_caller]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        if !hooks::enabled() {
            return MutexGuard {
                hold: 0,
                inner: self.inner.lock(),
            };
        }
        let site = Location::caller();
        // The timed acquire starts with parking_lot's plain compare-and-swap (its
        // `try_lock` loads the lock word first, which costs a third more here), then
        // spins and parks for the grace period. The key shares the lock's cache line: it
        // is read once the line is ours.
        let inner = match self.inner.try_lock_for(GRACE) {
            Some(inner) => inner,
            None => self
                .lock_blocking(self.key(), site, None)
                .expect("an untimed lock always succeeds"),
        };
        self.guard(inner, self.key(), site)
    }

    #[cold]
    fn lock_blocking(
        &self,
        key: ResourceKey,
        site: &'static Location<'static>,
        deadline: Option<Instant>,
    ) -> Option<parking_lot::MutexGuard<'_, T>> {
        let wait = WaitScope::begin(
            key,
            WaitKind::Lock(LockMode::Exclusive),
            site,
            deadline.is_some(),
        );
        loop {
            let slice = hooks::next_slice(deadline);
            if let Some(inner) = self.inner.try_lock_for(slice) {
                return Some(inner);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            wait.serve();
        }
    }

    /// Acquires the lock if it is free now.
    #[inline]
    #[track_caller]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        let inner = self.inner.try_lock()?;
        if !hooks::enabled() {
            return Some(MutexGuard { hold: 0, inner });
        }
        Some(self.guard(inner, self.key(), Location::caller()))
    }

    /// Acquires the lock, giving up after `timeout`. A timed wait never counts towards a
    /// deadlock, but a long one is reported as a stall.
    #[track_caller]
    pub fn try_lock_for(&self, timeout: Duration) -> Option<MutexGuard<'_, T>> {
        self.try_lock_until(Instant::now() + timeout)
    }

    /// Acquires the lock, giving up at `deadline`.
    #[track_caller]
    pub fn try_lock_until(&self, deadline: Instant) -> Option<MutexGuard<'_, T>> {
        if !hooks::enabled() {
            let inner = self.inner.try_lock_until(deadline)?;
            return Some(MutexGuard { hold: 0, inner });
        }
        let site = Location::caller();
        let key = self.key();
        let inner = match self.inner.try_lock() {
            Some(inner) => inner,
            None => self.lock_blocking(key, site, Some(deadline))?,
        };
        Some(self.guard(inner, key, site))
    }

    pub fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }

    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    /// The name given at creation, if any (with the probe compiled out, always `None`).
    pub fn name(&self) -> Option<&str> {
        self.meta.name()
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    #[track_caller]
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Recorded before the unlock (the field drops after this), so no scan ever sees
        // two holders of one mutex.
        if self.hold != 0 {
            hooks::released(ResourceKey(self.hold), LockMode::Exclusive);
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

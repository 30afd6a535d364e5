//! Locks: std's `Mutex` and `RwLock`, and every lock_api 0.4 `Mutex` and `RwLock`
//! (parking_lot's, of any version built on lock_api 0.4; spin's `lock_api` locks).
//!
//! An acquire first tries without blocking; only if that fails is the wait published
//! (before the blocking call, which in a deadlock never returns). The hold is recorded
//! once the lock is ours, and its release when the [`Guard`] drops. A poisoned std lock
//! is still held by the caller: its hold is recorded like any other.

use super::select::Via;
use super::{foreign_key, Guard, Owner, Receiver};
use crate::model::{LockMode, ResourceKey, ResourceKind, WaitKind};
use crate::sync::hooks::{self, Shared, WaitScope};
use std::panic::Location;
use std::sync::{LockResult, PoisonError, TryLockError, TryLockResult};

type StdMutex<U> = std::sync::Mutex<U>;
type StdRwLock<U> = std::sync::RwLock<U>;
type PlMutex<R, U> = lock_api::Mutex<R, U>;
type PlRwLock<R, U> = lock_api::RwLock<R, U>;

/// One acquire: what it is and where.
#[derive(Clone, Copy)]
struct Call {
    kind: ResourceKind,
    mode: LockMode,
    at: &'static Receiver,
    owner: Owner,
    site: &'static Location<'static>,
}

impl Call {
    #[inline]
    #[track_caller]
    fn new(kind: ResourceKind, mode: LockMode, at: &'static Receiver, owner: Owner) -> Call {
        let site = Location::caller();
        Call {
            kind,
            mode,
            at,
            owner,
            site,
        }
    }

    /// The lock's key, registered for reports.
    #[inline]
    fn key<T: ?Sized>(&self, lock: &T) -> ResourceKey {
        foreign_key(lock, self.kind, self.at, self.owner, self.site, || {
            Shared::Lock
        })
    }

    /// Records the hold of `lock`, if recording.
    #[inline]
    fn hold<T: ?Sized>(&self, lock: &T) -> Option<ResourceKey> {
        if !hooks::enabled() {
            return None;
        }
        let key = self.key(lock);
        hooks::acquired(key, self.mode, self.site).then_some(key)
    }
}

/// Acquires through `attempt` (which must not block) or else, with the wait published,
/// through `block`; records the hold.
#[inline]
fn acquire<R>(
    key: ResourceKey,
    mode: LockMode,
    site: &'static Location<'static>,
    attempt: impl FnOnce() -> Option<R>,
    block: impl FnOnce() -> R,
) -> (R, Option<ResourceKey>) {
    let acquired = match attempt() {
        Some(acquired) => acquired,
        None => {
            let _wait = WaitScope::begin(key, WaitKind::Lock(mode), site, false);
            block()
        }
    };
    let hold = hooks::acquired(key, mode, site).then_some(key);
    (acquired, hold)
}

fn std_result<G>(
    result: LockResult<G>,
    hold: Option<ResourceKey>,
    mode: LockMode,
) -> LockResult<Guard<G>> {
    match result {
        Ok(guard) => Ok(Guard::new(guard, hold, mode)),
        Err(poisoned) => Err(PoisonError::new(Guard::new(
            poisoned.into_inner(),
            hold,
            mode,
        ))),
    }
}

/// A std `try_*` result as "would it block", keeping a poisoned guard (which holds).
fn std_attempt<G>(result: TryLockResult<G>) -> Option<LockResult<G>> {
    match result {
        Ok(guard) => Some(Ok(guard)),
        Err(TryLockError::Poisoned(poisoned)) => Some(Err(poisoned)),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// A std blocking acquire.
#[inline]
fn std_acquire<'l, L: ?Sized, G>(
    lock: &'l L,
    call: Call,
    attempt: impl FnOnce(&'l L) -> TryLockResult<G>,
    block: impl FnOnce(&'l L) -> LockResult<G>,
) -> LockResult<Guard<G>> {
    if !hooks::enabled() {
        return std_result(block(lock), None, call.mode);
    }
    let key = call.key(lock);
    let (result, hold) = acquire(
        key,
        call.mode,
        call.site,
        || std_attempt(attempt(lock)),
        || block(lock),
    );
    std_result(result, hold, call.mode)
}

/// A std non-blocking acquire.
#[inline]
fn std_try<'l, L: ?Sized, G>(
    lock: &'l L,
    call: Call,
    attempt: impl FnOnce(&'l L) -> TryLockResult<G>,
) -> TryLockResult<Guard<G>> {
    match attempt(lock) {
        Ok(guard) => Ok(Guard::new(guard, call.hold(lock), call.mode)),
        Err(TryLockError::Poisoned(poisoned)) => Err(TryLockError::Poisoned(PoisonError::new(
            Guard::new(poisoned.into_inner(), call.hold(lock), call.mode),
        ))),
        Err(TryLockError::WouldBlock) => Err(TryLockError::WouldBlock),
    }
}

/// A lock_api (parking_lot) blocking acquire.
#[inline]
fn pl_acquire<'l, L: ?Sized, G>(
    lock: &'l L,
    call: Call,
    attempt: impl FnOnce(&'l L) -> Option<G>,
    block: impl FnOnce(&'l L) -> G,
) -> Guard<G> {
    if !hooks::enabled() {
        return Guard::new(block(lock), None, call.mode);
    }
    let key = call.key(lock);
    let (guard, hold) = acquire(key, call.mode, call.site, || attempt(lock), || block(lock));
    Guard::new(guard, hold, call.mode)
}

/// A lock_api (parking_lot) non-blocking acquire.
#[inline]
fn pl_try<'l, L: ?Sized, G>(
    lock: &'l L,
    call: Call,
    attempt: impl FnOnce(&'l L) -> Option<G>,
) -> Option<Guard<G>> {
    let guard = attempt(lock)?;
    Some(Guard::new(guard, call.hold(lock), call.mode))
}

impl<U: ?Sized> Via<StdMutex<U>> {
    #[inline]
    #[track_caller]
    pub fn lock<'l>(
        &self,
        mutex: &'l StdMutex<U>,
        at: &'static Receiver,
        owner: Owner,
    ) -> LockResult<Guard<std::sync::MutexGuard<'l, U>>> {
        let call = Call::new(ResourceKind::Mutex, LockMode::Exclusive, at, owner);
        std_acquire(mutex, call, StdMutex::try_lock, StdMutex::lock)
    }

    #[inline]
    #[track_caller]
    pub fn try_lock<'l>(
        &self,
        mutex: &'l StdMutex<U>,
        at: &'static Receiver,
        owner: Owner,
    ) -> TryLockResult<Guard<std::sync::MutexGuard<'l, U>>> {
        let call = Call::new(ResourceKind::Mutex, LockMode::Exclusive, at, owner);
        std_try(mutex, call, StdMutex::try_lock)
    }
}

impl<U: ?Sized> Via<StdRwLock<U>> {
    #[inline]
    #[track_caller]
    pub fn read<'l>(
        &self,
        lock: &'l StdRwLock<U>,
        at: &'static Receiver,
        owner: Owner,
    ) -> LockResult<Guard<std::sync::RwLockReadGuard<'l, U>>> {
        let call = Call::new(ResourceKind::RwLock, LockMode::Shared, at, owner);
        std_acquire(lock, call, StdRwLock::try_read, StdRwLock::read)
    }

    #[inline]
    #[track_caller]
    pub fn write<'l>(
        &self,
        lock: &'l StdRwLock<U>,
        at: &'static Receiver,
        owner: Owner,
    ) -> LockResult<Guard<std::sync::RwLockWriteGuard<'l, U>>> {
        let call = Call::new(ResourceKind::RwLock, LockMode::Exclusive, at, owner);
        std_acquire(lock, call, StdRwLock::try_write, StdRwLock::write)
    }

    #[inline]
    #[track_caller]
    pub fn try_read<'l>(
        &self,
        lock: &'l StdRwLock<U>,
        at: &'static Receiver,
        owner: Owner,
    ) -> TryLockResult<Guard<std::sync::RwLockReadGuard<'l, U>>> {
        let call = Call::new(ResourceKind::RwLock, LockMode::Shared, at, owner);
        std_try(lock, call, StdRwLock::try_read)
    }

    #[inline]
    #[track_caller]
    pub fn try_write<'l>(
        &self,
        lock: &'l StdRwLock<U>,
        at: &'static Receiver,
        owner: Owner,
    ) -> TryLockResult<Guard<std::sync::RwLockWriteGuard<'l, U>>> {
        let call = Call::new(ResourceKind::RwLock, LockMode::Exclusive, at, owner);
        std_try(lock, call, StdRwLock::try_write)
    }
}

impl<R: lock_api::RawMutex, U: ?Sized> Via<PlMutex<R, U>> {
    #[inline]
    #[track_caller]
    pub fn lock<'l>(
        &self,
        mutex: &'l PlMutex<R, U>,
        at: &'static Receiver,
        owner: Owner,
    ) -> Guard<lock_api::MutexGuard<'l, R, U>> {
        let call = Call::new(ResourceKind::Mutex, LockMode::Exclusive, at, owner);
        pl_acquire(mutex, call, PlMutex::try_lock, PlMutex::lock)
    }

    #[inline]
    #[track_caller]
    pub fn try_lock<'l>(
        &self,
        mutex: &'l PlMutex<R, U>,
        at: &'static Receiver,
        owner: Owner,
    ) -> Option<Guard<lock_api::MutexGuard<'l, R, U>>> {
        let call = Call::new(ResourceKind::Mutex, LockMode::Exclusive, at, owner);
        pl_try(mutex, call, PlMutex::try_lock)
    }
}

impl<R: lock_api::RawRwLock, U: ?Sized> Via<PlRwLock<R, U>> {
    #[inline]
    #[track_caller]
    pub fn read<'l>(
        &self,
        lock: &'l PlRwLock<R, U>,
        at: &'static Receiver,
        owner: Owner,
    ) -> Guard<lock_api::RwLockReadGuard<'l, R, U>> {
        let call = Call::new(ResourceKind::RwLock, LockMode::Shared, at, owner);
        pl_acquire(lock, call, PlRwLock::try_read, PlRwLock::read)
    }

    #[inline]
    #[track_caller]
    pub fn write<'l>(
        &self,
        lock: &'l PlRwLock<R, U>,
        at: &'static Receiver,
        owner: Owner,
    ) -> Guard<lock_api::RwLockWriteGuard<'l, R, U>> {
        let call = Call::new(ResourceKind::RwLock, LockMode::Exclusive, at, owner);
        pl_acquire(lock, call, PlRwLock::try_write, PlRwLock::write)
    }

    #[inline]
    #[track_caller]
    pub fn upgradable_read<'l>(
        &self,
        lock: &'l PlRwLock<R, U>,
        at: &'static Receiver,
        owner: Owner,
    ) -> Guard<lock_api::RwLockUpgradableReadGuard<'l, R, U>>
    where
        R: lock_api::RawRwLockUpgrade,
    {
        let call = Call::new(ResourceKind::RwLock, LockMode::Upgradable, at, owner);
        pl_acquire(
            lock,
            call,
            PlRwLock::try_upgradable_read,
            PlRwLock::upgradable_read,
        )
    }

    #[inline]
    #[track_caller]
    pub fn try_read<'l>(
        &self,
        lock: &'l PlRwLock<R, U>,
        at: &'static Receiver,
        owner: Owner,
    ) -> Option<Guard<lock_api::RwLockReadGuard<'l, R, U>>> {
        let call = Call::new(ResourceKind::RwLock, LockMode::Shared, at, owner);
        pl_try(lock, call, PlRwLock::try_read)
    }

    #[inline]
    #[track_caller]
    pub fn try_write<'l>(
        &self,
        lock: &'l PlRwLock<R, U>,
        at: &'static Receiver,
        owner: Owner,
    ) -> Option<Guard<lock_api::RwLockWriteGuard<'l, R, U>>> {
        let call = Call::new(ResourceKind::RwLock, LockMode::Exclusive, at, owner);
        pl_try(lock, call, PlRwLock::try_write)
    }
}

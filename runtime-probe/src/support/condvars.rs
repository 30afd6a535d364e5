//! Condition variables: std's and parking_lot's `Condvar`.
//!
//! A wait gives the lock back and takes it again: the guard's hold is released before
//! the wait is published and recorded again once the wait returns. Guards the attribute
//! did not make (passed in from uninstrumented code) work too; their lock was never
//! recorded, so only the wait is. Notifiers are learned from `notify_*` calls, as with
//! waitgraph's own condvar: a condvar nobody has notified yet has unknown providers.

use super::select::{Instrument, Via};
use super::{foreign_key, Guard, Owner, Receiver};
use crate::model::{EventKind, LockMode, ResourceKey, ResourceKind, WaitEnd, WaitKind};
use crate::probe::registry;
use crate::sync::condvar::CondvarShared;
use crate::sync::hooks::{self, Shared, WaitScope};
use std::marker::PhantomData;
use std::panic::Location;
use std::sync::atomic::Ordering::Acquire;
use std::sync::{Arc, LockResult, PoisonError};
use std::time::{Duration, Instant};

type StdCondvar = std::sync::Condvar;
type StdMutexGuard<'l, U> = std::sync::MutexGuard<'l, U>;
type PlCondvar = parking_lot::Condvar;
type PlMutexGuard<'l, U> = parking_lot::MutexGuard<'l, U>;

/// The key and notifier state of a foreign condvar.
fn condvar<T: ?Sized>(
    cv: &T,
    at: &'static Receiver,
    owner: Owner,
    site: &'static Location<'static>,
) -> (ResourceKey, Option<Arc<CondvarShared>>) {
    let key = foreign_key(cv, ResourceKind::Condvar, at, owner, site, || {
        Shared::owned(CondvarShared::default())
    });
    let shared = registry::resource(key).and_then(|entry| entry.shared.state_as::<CondvarShared>());
    (key, shared)
}

/// A guard a std condvar wait accepts: the attribute's or the original.
pub trait StdWaitGuard<'l, U: ?Sized>: Sized {
    fn split(self) -> (StdMutexGuard<'l, U>, Option<ResourceKey>);
    fn rejoin(guard: StdMutexGuard<'l, U>, hold: Option<ResourceKey>) -> Self;
}

impl<'l, U: ?Sized> StdWaitGuard<'l, U> for StdMutexGuard<'l, U> {
    fn split(self) -> (StdMutexGuard<'l, U>, Option<ResourceKey>) {
        (self, None)
    }
    fn rejoin(guard: StdMutexGuard<'l, U>, _hold: Option<ResourceKey>) -> Self {
        guard
    }
}

impl<'l, U: ?Sized> StdWaitGuard<'l, U> for Guard<StdMutexGuard<'l, U>> {
    fn split(self) -> (StdMutexGuard<'l, U>, Option<ResourceKey>) {
        let (guard, hold, _mode) = self.into_parts();
        (guard, hold)
    }
    fn rejoin(guard: StdMutexGuard<'l, U>, hold: Option<ResourceKey>) -> Self {
        Guard::new(guard, hold, LockMode::Exclusive)
    }
}

/// A guard a parking_lot condvar wait accepts, by `&mut`.
pub trait PlWaitGuard<'l, U: ?Sized> {
    fn parts(&mut self) -> (&mut PlMutexGuard<'l, U>, Option<&mut u64>);
}

impl<'l, U: ?Sized> PlWaitGuard<'l, U> for PlMutexGuard<'l, U> {
    fn parts(&mut self) -> (&mut PlMutexGuard<'l, U>, Option<&mut u64>) {
        (self, None)
    }
}

impl<'l, U: ?Sized> PlWaitGuard<'l, U> for Guard<PlMutexGuard<'l, U>> {
    fn parts(&mut self) -> (&mut PlMutexGuard<'l, U>, Option<&mut u64>) {
        let (guard, hold) = self.parts_mut();
        (guard, Some(hold))
    }
}

/// One condvar wait: the hold given back, the wait published, the hold taken again.
/// `wait` returns whether it timed out, with its own result.
fn condvar_wait<T: ?Sized, R>(
    cv: &T,
    hold: Option<ResourceKey>,
    timed: bool,
    at: &'static Receiver,
    owner: Owner,
    site: &'static Location<'static>,
    wait: impl FnOnce() -> (R, bool),
) -> (R, Option<ResourceKey>) {
    if let Some(key) = hold {
        hooks::released(key, LockMode::Exclusive);
    }
    if !hooks::enabled() {
        return (wait().0, None);
    }
    let (key, shared) = condvar(cv, at, owner, site);
    let token = shared.map_or(0, |shared| shared.notifications.load(Acquire));
    let scope = WaitScope::begin_with_token(key, WaitKind::Condvar, site, timed, token);
    let (result, timed_out) = wait();
    scope.finish(if timed_out {
        WaitEnd::TimedOut
    } else {
        WaitEnd::Woken
    });
    let hold = hold.filter(|&key| hooks::acquired(key, LockMode::Exclusive, site));
    (result, hold)
}

/// A wait whose loop and condition belong to the library (`wait_timeout_while`,
/// `wait_while_for`): the hold is given back and the wait published the first time the
/// condition asks to wait, and both are undone when the call returns. The condition runs
/// exactly as often as without the attribute.
struct ConditionWait<'c, T: ?Sized> {
    cv: &'c T,
    hold: Option<ResourceKey>,
    released: bool,
    at: &'static Receiver,
    owner: Owner,
    site: &'static Location<'static>,
    scope: Option<WaitScope>,
}

impl<'c, T: ?Sized> ConditionWait<'c, T> {
    fn new(
        cv: &'c T,
        hold: Option<ResourceKey>,
        at: &'static Receiver,
        owner: Owner,
        site: &'static Location<'static>,
    ) -> Self {
        ConditionWait {
            cv,
            hold,
            released: false,
            at,
            owner,
            site,
            scope: None,
        }
    }

    /// Passes the condition's answer through, publishing the wait the first time it is
    /// "wait".
    fn checked(&mut self, wait: bool) -> bool {
        if wait && !self.released {
            self.released = true;
            if let Some(key) = self.hold {
                hooks::released(key, LockMode::Exclusive);
            }
            if hooks::enabled() {
                let (key, shared) = condvar(self.cv, self.at, self.owner, self.site);
                let token = shared.map_or(0, |shared| shared.notifications.load(Acquire));
                self.scope = Some(WaitScope::begin_with_token(
                    key,
                    WaitKind::Condvar,
                    self.site,
                    true,
                    token,
                ));
            }
        }
        wait
    }

    /// The wait is over: the hold as it is now.
    fn finish(self, timed_out: bool) -> Option<ResourceKey> {
        if let Some(scope) = self.scope {
            scope.finish(if timed_out {
                WaitEnd::TimedOut
            } else {
                WaitEnd::Woken
            });
        }
        if !self.released {
            return self.hold;
        }
        let site = self.site;
        self.hold
            .filter(|&key| hooks::enabled() && hooks::acquired(key, LockMode::Exclusive, site))
    }
}

/// A notification: the notifier learned, the event recorded.
fn notified<T: ?Sized>(
    cv: &T,
    all: bool,
    at: &'static Receiver,
    owner: Owner,
    site: &'static Location<'static>,
) {
    if !hooks::enabled() {
        return;
    }
    let (key, shared) = condvar(cv, at, owner, site);
    if let (Some(shared), Some(thread)) = (shared, hooks::current_thread()) {
        shared.note(thread);
    }
    hooks::note(|| EventKind::Notify { resource: key, all }, None);
}

fn std_poison<G, X>(result: LockResult<X>, rejoin: impl FnOnce(X) -> G) -> LockResult<G> {
    match result {
        Ok(value) => Ok(rejoin(value)),
        Err(poisoned) => Err(PoisonError::new(rejoin(poisoned.into_inner()))),
    }
}

impl Via<StdCondvar> {
    /// The guard argument as the original call's branch (never taken) sees it.
    pub fn guard_arg<'l, U: 'l, G: StdWaitGuard<'l, U>>(&self, guard: G) -> StdMutexGuard<'l, U> {
        guard.split().0
    }

    #[track_caller]
    pub fn wait<'l, U: 'l, G: StdWaitGuard<'l, U>>(
        &self,
        cv: &StdCondvar,
        guard: G,
        at: &'static Receiver,
        owner: Owner,
    ) -> LockResult<G> {
        let (inner, hold) = guard.split();
        let (result, hold) = condvar_wait(cv, hold, false, at, owner, Location::caller(), || {
            (cv.wait(inner), false)
        });
        std_poison(result, |guard| G::rejoin(guard, hold))
    }

    /// Waits while `condition` holds, each wait published (std's own loop, step by step).
    #[track_caller]
    pub fn wait_while<'l, U: 'l, G: StdWaitGuard<'l, U>, F: FnMut(&mut U) -> bool>(
        &self,
        cv: &StdCondvar,
        guard: G,
        mut condition: F,
        at: &'static Receiver,
        owner: Owner,
    ) -> LockResult<G> {
        let site = Location::caller();
        let (mut inner, mut hold) = guard.split();
        // As std's own loop: the first poisoned wait ends it.
        while condition(&mut *inner) {
            let (result, again) =
                condvar_wait(cv, hold, false, at, owner, site, || (cv.wait(inner), false));
            hold = again;
            inner = match result {
                Ok(guard) => guard,
                Err(poisoned) => {
                    return Err(PoisonError::new(G::rejoin(poisoned.into_inner(), hold)))
                }
            };
        }
        Ok(G::rejoin(inner, hold))
    }

    #[track_caller]
    pub fn wait_timeout<'l, U: 'l, G: StdWaitGuard<'l, U>>(
        &self,
        cv: &StdCondvar,
        guard: G,
        timeout: Duration,
        at: &'static Receiver,
        owner: Owner,
    ) -> LockResult<(G, std::sync::WaitTimeoutResult)> {
        let (inner, hold) = guard.split();
        let (result, hold) = condvar_wait(cv, hold, true, at, owner, Location::caller(), || {
            let result = cv.wait_timeout(inner, timeout);
            let timed_out = match &result {
                Ok((_, outcome)) => outcome.timed_out(),
                Err(poisoned) => poisoned.get_ref().1.timed_out(),
            };
            (result, timed_out)
        });
        std_poison(result, |(guard, outcome)| (G::rejoin(guard, hold), outcome))
    }

    /// Waits while `condition` holds, giving up after `timeout` (std's own loop runs).
    #[track_caller]
    pub fn wait_timeout_while<'l, U: 'l, G: StdWaitGuard<'l, U>, F: FnMut(&mut U) -> bool>(
        &self,
        cv: &StdCondvar,
        guard: G,
        timeout: Duration,
        mut condition: F,
        at: &'static Receiver,
        owner: Owner,
    ) -> LockResult<(G, std::sync::WaitTimeoutResult)> {
        let (inner, hold) = guard.split();
        let mut wait = ConditionWait::new(cv, hold, at, owner, Location::caller());
        let result = cv.wait_timeout_while(inner, timeout, |value| wait.checked(condition(value)));
        let timed_out = match &result {
            Ok((_, outcome)) => outcome.timed_out(),
            Err(poisoned) => poisoned.get_ref().1.timed_out(),
        };
        let hold = wait.finish(timed_out);
        std_poison(result, |(guard, outcome)| (G::rejoin(guard, hold), outcome))
    }

    #[track_caller]
    pub fn notify_one(&self, cv: &StdCondvar, at: &'static Receiver, owner: Owner) {
        notified(cv, false, at, owner, Location::caller());
        cv.notify_one()
    }

    #[track_caller]
    pub fn notify_all(&self, cv: &StdCondvar, at: &'static Receiver, owner: Owner) {
        notified(cv, true, at, owner, Location::caller());
        cv.notify_all()
    }
}

/// A parking_lot wait on `guard`, its hold given back and taken again in place.
fn pl_wait<'l, U: ?Sized + 'l, G: PlWaitGuard<'l, U>, R>(
    cv: &PlCondvar,
    guard: &mut G,
    timed: bool,
    at: &'static Receiver,
    owner: Owner,
    site: &'static Location<'static>,
    wait: impl FnOnce(&mut PlMutexGuard<'l, U>) -> (R, bool),
) -> R {
    let (inner, hold) = guard.parts();
    let recorded = hold
        .as_ref()
        .and_then(|hold| (**hold != 0).then_some(ResourceKey(**hold)));
    let (result, again) = condvar_wait(cv, recorded, timed, at, owner, site, || wait(inner));
    if let Some(hold) = hold {
        *hold = again.map_or(0, |key| key.0);
    }
    result
}

/// A parking_lot wait whose loop and condition are parking_lot's (see [`ConditionWait`]).
fn pl_condition_wait<'l, U: ?Sized + 'l, G: PlWaitGuard<'l, U>, F: FnMut(&mut U) -> bool>(
    cv: &PlCondvar,
    guard: &mut G,
    mut condition: F,
    at: &'static Receiver,
    owner: Owner,
    site: &'static Location<'static>,
    wait: impl FnOnce(
        &mut PlMutexGuard<'l, U>,
        &mut dyn FnMut(&mut U) -> bool,
    ) -> parking_lot::WaitTimeoutResult,
) -> parking_lot::WaitTimeoutResult {
    let (inner, hold) = guard.parts();
    let recorded = hold
        .as_ref()
        .and_then(|hold| (**hold != 0).then_some(ResourceKey(**hold)));
    let mut published = ConditionWait::new(cv, recorded, at, owner, site);
    let result = wait(inner, &mut |value: &mut U| {
        published.checked(condition(value))
    });
    let again = published.finish(result.timed_out());
    if let Some(hold) = hold {
        *hold = again.map_or(0, |key| key.0);
    }
    result
}

impl Via<PlCondvar> {
    /// The guard argument as the original call's branch (never taken) sees it.
    pub fn guard_arg<'g, 'l, U: ?Sized + 'l, G: PlWaitGuard<'l, U>>(
        &self,
        guard: &'g mut G,
    ) -> &'g mut PlMutexGuard<'l, U> {
        guard.parts().0
    }

    #[track_caller]
    pub fn wait<'l, U: ?Sized + 'l, G: PlWaitGuard<'l, U>>(
        &self,
        cv: &PlCondvar,
        guard: &mut G,
        at: &'static Receiver,
        owner: Owner,
    ) {
        pl_wait(cv, guard, false, at, owner, Location::caller(), |inner| {
            cv.wait(inner);
            ((), false)
        })
    }

    #[track_caller]
    pub fn wait_while<'l, U: ?Sized + 'l, G: PlWaitGuard<'l, U>, F: FnMut(&mut U) -> bool>(
        &self,
        cv: &PlCondvar,
        guard: &mut G,
        mut condition: F,
        at: &'static Receiver,
        owner: Owner,
    ) {
        let site = Location::caller();
        while condition(&mut *guard.parts().0) {
            pl_wait(cv, guard, false, at, owner, site, |inner| {
                cv.wait(inner);
                ((), false)
            })
        }
    }

    #[track_caller]
    pub fn wait_for<'l, U: ?Sized + 'l, G: PlWaitGuard<'l, U>>(
        &self,
        cv: &PlCondvar,
        guard: &mut G,
        timeout: Duration,
        at: &'static Receiver,
        owner: Owner,
    ) -> parking_lot::WaitTimeoutResult {
        pl_wait(cv, guard, true, at, owner, Location::caller(), |inner| {
            let result = cv.wait_for(inner, timeout);
            (result, result.timed_out())
        })
    }

    #[track_caller]
    pub fn wait_until<'l, U: ?Sized + 'l, G: PlWaitGuard<'l, U>>(
        &self,
        cv: &PlCondvar,
        guard: &mut G,
        deadline: Instant,
        at: &'static Receiver,
        owner: Owner,
    ) -> parking_lot::WaitTimeoutResult {
        pl_wait(cv, guard, true, at, owner, Location::caller(), |inner| {
            let result = cv.wait_until(inner, deadline);
            (result, result.timed_out())
        })
    }

    /// Waits while `condition` holds, giving up after `timeout` (parking_lot's loop runs).
    #[track_caller]
    pub fn wait_while_for<'l, U: ?Sized + 'l, G: PlWaitGuard<'l, U>, F: FnMut(&mut U) -> bool>(
        &self,
        cv: &PlCondvar,
        guard: &mut G,
        condition: F,
        timeout: Duration,
        at: &'static Receiver,
        owner: Owner,
    ) -> parking_lot::WaitTimeoutResult {
        pl_condition_wait(
            cv,
            guard,
            condition,
            at,
            owner,
            Location::caller(),
            |inner, check| cv.wait_while_for(inner, check, timeout),
        )
    }

    /// Waits while `condition` holds, giving up at `deadline` (parking_lot's loop runs).
    #[track_caller]
    pub fn wait_while_until<'l, U: ?Sized + 'l, G: PlWaitGuard<'l, U>, F: FnMut(&mut U) -> bool>(
        &self,
        cv: &PlCondvar,
        guard: &mut G,
        condition: F,
        deadline: Instant,
        at: &'static Receiver,
        owner: Owner,
    ) -> parking_lot::WaitTimeoutResult {
        pl_condition_wait(
            cv,
            guard,
            condition,
            at,
            owner,
            Location::caller(),
            |inner, check| cv.wait_while_until(inner, check, deadline),
        )
    }

    #[track_caller]
    pub fn notify_one(&self, cv: &PlCondvar, at: &'static Receiver, owner: Owner) -> bool {
        notified(cv, false, at, owner, Location::caller());
        cv.notify_one()
    }

    #[track_caller]
    pub fn notify_all(&self, cv: &PlCondvar, at: &'static Receiver, owner: Owner) -> usize {
        notified(cv, true, at, owner, Location::caller());
        cv.notify_all()
    }
}

/// Condition waits on a std condvar, called with the original method names.
impl Instrument<'_, StdCondvar> {
    #[track_caller]
    pub fn wait_while<'l, U: 'l, G: StdWaitGuard<'l, U>, F: FnMut(&mut U) -> bool>(
        self,
        guard: G,
        condition: F,
    ) -> LockResult<G> {
        Via::<StdCondvar>(PhantomData).wait_while(
            self.receiver,
            guard,
            condition,
            self.at,
            self.owner,
        )
    }

    #[track_caller]
    pub fn wait_timeout_while<'l, U: 'l, G: StdWaitGuard<'l, U>, F: FnMut(&mut U) -> bool>(
        self,
        guard: G,
        timeout: Duration,
        condition: F,
    ) -> LockResult<(G, std::sync::WaitTimeoutResult)> {
        Via::<StdCondvar>(PhantomData).wait_timeout_while(
            self.receiver,
            guard,
            timeout,
            condition,
            self.at,
            self.owner,
        )
    }
}

/// Condition waits on a parking_lot condvar, called with the original method names.
impl Instrument<'_, PlCondvar> {
    #[track_caller]
    pub fn wait_while<'l, U: ?Sized + 'l, G: PlWaitGuard<'l, U>, F: FnMut(&mut U) -> bool>(
        self,
        guard: &mut G,
        condition: F,
    ) {
        Via::<PlCondvar>(PhantomData).wait_while(
            self.receiver,
            guard,
            condition,
            self.at,
            self.owner,
        )
    }

    #[track_caller]
    pub fn wait_while_for<'l, U: ?Sized + 'l, G: PlWaitGuard<'l, U>, F: FnMut(&mut U) -> bool>(
        self,
        guard: &mut G,
        condition: F,
        timeout: Duration,
    ) -> parking_lot::WaitTimeoutResult {
        Via::<PlCondvar>(PhantomData).wait_while_for(
            self.receiver,
            guard,
            condition,
            timeout,
            self.at,
            self.owner,
        )
    }

    #[track_caller]
    pub fn wait_while_until<'l, U: ?Sized + 'l, G: PlWaitGuard<'l, U>, F: FnMut(&mut U) -> bool>(
        self,
        guard: &mut G,
        condition: F,
        deadline: Instant,
    ) -> parking_lot::WaitTimeoutResult {
        Via::<PlCondvar>(PhantomData).wait_while_until(
            self.receiver,
            guard,
            condition,
            deadline,
            self.at,
            self.owner,
        )
    }
}

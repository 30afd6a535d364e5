use super::hooks::{self, Meta, Shared, WaitScope};
use super::mutex::MutexGuard;
use crate::model::{EventKind, LockMode, ResourceKey, ResourceKind, ThreadKey, WaitKind};
use parking_lot::Mutex as RawMutex;
use std::borrow::Cow;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How many distinct notifier threads a condvar remembers; past that its waits count as
/// waits with unknown providers (never part of a deadlock).
const NOTIFIER_CAPACITY: usize = 64;

/// Who has notified a condvar (or was declared to): the providers of its waits.
#[derive(Default)]
pub struct CondvarShared {
    last: AtomicU64,
    /// Notifications seen while recording: a wait that began at an older count may
    /// already have been woken.
    pub(crate) notifications: AtomicU64,
    pub(crate) notifiers: RawMutex<Notifiers>,
}

#[derive(Default)]
pub(crate) struct Notifiers {
    pub(crate) threads: Vec<ThreadKey>,
    pub(crate) overflowed: bool,
}

impl CondvarShared {
    pub(crate) fn note(&self, thread: ThreadKey) {
        self.notifications.fetch_add(1, Release);
        if self.last.load(Relaxed) == thread.0 {
            return;
        }
        self.last.store(thread.0, Relaxed);
        let mut notifiers = self.notifiers.lock();
        if !notifiers.threads.contains(&thread) {
            if notifiers.threads.len() == NOTIFIER_CAPACITY {
                notifiers.overflowed = true;
            } else {
                notifiers.threads.push(thread);
            }
        }
    }
}

/// Whether a timed condvar wait ended by timing out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    pub fn timed_out(self) -> bool {
        self.0
    }
}

/// A condition variable with parking_lot's API, seen by the watchdog.
///
/// A wait's providers are the threads that have notified this condvar before (or were
/// declared with [`declare_notifier`](Condvar::declare_notifier)); while there are none
/// the wait may always be satisfied and is never reported as part of a deadlock.
///
/// Like std's, a wait may return without a notification (a spurious wakeup): while a
/// thread waits, it wakes every 50 ms to serve the watchdog, and returns early if a
/// notification happened meanwhile, so no notification is ever lost.
pub struct Condvar {
    meta: Meta,
    shared: OnceLock<Arc<CondvarShared>>,
    sequence: AtomicU64,
    inner: parking_lot::Condvar,
}

impl Condvar {
    #[track_caller]
    pub const fn new() -> Condvar {
        Condvar::make(Location::caller(), None)
    }

    #[track_caller]
    pub const fn named(name: &'static str) -> Condvar {
        Condvar::make(Location::caller(), Some(Cow::Borrowed(name)))
    }

    const fn make(site: &'static Location<'static>, name: Option<Cow<'static, str>>) -> Condvar {
        Condvar {
            meta: Meta::new(site, name),
            shared: OnceLock::new(),
            sequence: AtomicU64::new(0),
            inner: parking_lot::Condvar::new(),
        }
    }

    pub(crate) fn shared(&self) -> &Arc<CondvarShared> {
        self.shared.get_or_init(Arc::default)
    }

    pub(crate) fn key(&self) -> ResourceKey {
        self.meta
            .key(ResourceKind::Condvar, || Shared::weak(self.shared()))
    }

    /// Declares the current thread a notifier of this condvar.
    pub fn declare_notifier(&self) {
        if hooks::enabled() {
            self.key();
            if let Some(thread) = hooks::current_thread() {
                self.shared().note(thread);
            }
        }
    }

    /// Wakes one waiter. Returns whether a thread was woken.
    #[inline]
    pub fn notify_one(&self) -> bool {
        self.note_notifier(false);
        self.inner.notify_one()
    }

    /// Wakes every waiter. Returns how many were woken.
    #[inline]
    pub fn notify_all(&self) -> usize {
        self.note_notifier(true);
        self.inner.notify_all()
    }

    #[inline]
    fn note_notifier(&self, all: bool) {
        self.sequence.fetch_add(1, Release);
        if hooks::enabled() {
            let key = self.key();
            if let Some(thread) = hooks::current_thread() {
                self.shared().note(thread);
            }
            hooks::note(|| EventKind::Notify { resource: key, all }, None);
        }
    }

    /// Releases the guard's lock, waits for a notification, and takes the lock again.
    #[track_caller]
    pub fn wait<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>) {
        self.wait_inner(guard, None, Location::caller());
    }

    /// Waits while `condition` holds.
    #[track_caller]
    pub fn wait_while<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) {
        let site = Location::caller();
        while condition(&mut *guard) {
            self.wait_inner(guard, None, site);
        }
    }

    /// Waits for a notification, giving up after `timeout`.
    #[track_caller]
    pub fn wait_for<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        self.wait_inner(guard, Some(Instant::now() + timeout), Location::caller())
    }

    /// Waits for a notification, giving up at `deadline`.
    #[track_caller]
    pub fn wait_until<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        deadline: Instant,
    ) -> WaitTimeoutResult {
        self.wait_inner(guard, Some(deadline), Location::caller())
    }

    /// Waits while `condition` holds, giving up after `timeout`.
    #[track_caller]
    pub fn wait_while_for<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        mut condition: impl FnMut(&mut T) -> bool,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        let site = Location::caller();
        let deadline = Instant::now() + timeout;
        while condition(&mut *guard) {
            if self.wait_inner(guard, Some(deadline), site).timed_out() {
                return WaitTimeoutResult(condition(&mut *guard));
            }
        }
        WaitTimeoutResult(false)
    }

    fn wait_inner<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        deadline: Option<Instant>,
        site: &'static Location<'static>,
    ) -> WaitTimeoutResult {
        if !hooks::enabled() {
            return WaitTimeoutResult(match deadline {
                Some(deadline) => self
                    .inner
                    .wait_until(&mut guard.inner, deadline)
                    .timed_out(),
                None => {
                    self.inner.wait(&mut guard.inner);
                    false
                }
            });
        }
        // The lock is given back for the wait: so is its record.
        let hold = guard.hold;
        if hold != 0 {
            hooks::released(ResourceKey(hold), LockMode::Exclusive);
        }
        let seen = self.sequence.load(Acquire);
        let timed_out = {
            let key = self.key();
            let token = self.shared().notifications.load(Acquire);
            let wait = WaitScope::begin_with_token(
                key,
                WaitKind::Condvar,
                site,
                deadline.is_some(),
                token,
            );
            loop {
                let slice = hooks::next_slice(deadline);
                if !self.inner.wait_for(&mut guard.inner, slice).timed_out() {
                    break false;
                }
                if self.sequence.load(Acquire) != seen {
                    break false;
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break true;
                }
                wait.serve();
            }
        };
        if hold != 0 && !hooks::acquired(ResourceKey(hold), LockMode::Exclusive, site) {
            guard.hold = 0;
        }
        WaitTimeoutResult(timed_out)
    }
}

impl Default for Condvar {
    #[track_caller]
    fn default() -> Condvar {
        Condvar::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}

/// A condvar wait needs any one of the threads that notified it (or were declared to),
/// unless a notification came since it began.
#[cfg(feature = "probe")]
impl hooks::WaitState for CondvarShared {
    fn provision(
        &self,
        world: &hooks::World,
        waiter: ThreadKey,
        wait: &hooks::WaitRecord,
    ) -> hooks::Provision {
        if self.notifications.load(Acquire) != wait.token {
            return hooks::Provision::Free;
        }
        let notifiers = self.notifiers.lock();
        if notifiers.overflowed {
            return hooks::Provision::Unknown;
        }
        if notifiers.threads.is_empty() {
            // Never notified: the threads on their way to notifying it, if the attribute
            // saw where it is notified (std and parking_lot condvars).
            let presumed = world.presumed_notifiers(waiter, wait.resource);
            if presumed.is_empty() {
                return world.unannounced(wait.resource);
            }
            return hooks::Provision::any(presumed);
        }
        let live = world.live(notifiers.threads.iter().copied().filter(|&t| t != waiter));
        if live.is_empty() && !notifiers.threads.is_empty() {
            // Its notifiers have all ended, or the waiter was the only one.
            return hooks::Provision::Orphaned;
        }
        hooks::Provision::any(live)
    }
}

//! The hooks the primitives call. With the `probe` feature they record into the live
//! registry; without it every hook is an empty inline function and [`Meta`] is empty, so
//! the primitives cost what parking_lot's cost and no call site needs a `#[cfg]`.
//!
//! | hook | when | hot path cost (probe on) |
//! |---|---|---|
//! | [`enabled`] | every operation | one relaxed load |
//! | [`acquired`] / [`released`] | every lock / unlock | a thread-local read and two or three relaxed stores |
//! | [`WaitScope::begin`] | only before blocking | a clock read and a per-thread mutex |
//! | [`WaitScope::serve`] | between slices of a blocked wait | one relaxed load |

#[cfg(feature = "probe")]
pub use live::*;
#[cfg(not(feature = "probe"))]
pub use off::*;

use std::time::Duration;

/// How long a blocked thread sleeps before it looks whether the watchdog wants its
/// backtrace. Waits are otherwise unchanged: a lock keeps its queue order within a slice.
pub const SLICE: Duration = Duration::from_millis(50);

/// Runs `wait` (a blocking call of the program's own) as a published wait of `kind` on
/// the resource `key` gives: what `Executor::idle`, `Job::waiting` and `Event::waiting`
/// declare. The key is not asked for when recording is off.
#[inline]
pub fn declared_wait<R>(
    key: impl FnOnce() -> crate::model::ResourceKey,
    kind: crate::model::WaitKind,
    site: &'static std::panic::Location<'static>,
    wait: impl FnOnce() -> R,
) -> R {
    if !enabled() {
        return wait();
    }
    let _wait = WaitScope::begin(key(), kind, site, false);
    wait()
}

/// The next slice of a wait that ends at `deadline` (if any).
#[inline]
pub fn next_slice(deadline: Option<std::time::Instant>) -> Duration {
    match deadline {
        Some(deadline) => deadline
            .saturating_duration_since(std::time::Instant::now())
            .min(SLICE),
        None => SLICE,
    }
}

/// How long a lock acquisition waits in parking_lot's own way (spin, then park) before
/// it publishes its wait. Short waits, the common case under contention, then cost no
/// clock read and no bookkeeping; a wait that is still blocked after it is published
/// like any other (a deadlock lasts far longer than this).
pub const GRACE: Duration = Duration::from_millis(1);

#[cfg(feature = "probe")]
mod live {
    use crate::model::{EventKind, LockMode, ResourceKey, WaitEnd, WaitKind};
    use crate::probe::slot;
    use crate::record;
    use std::marker::PhantomData;
    use std::panic::Location;

    pub use crate::probe::providers::World;
    pub use crate::probe::providers::{Provision, WaitState};
    pub use crate::probe::registry::ResourceMeta as Meta;
    pub use crate::probe::registry::Shared;
    pub use crate::probe::slot::WaitRecord;
    pub use crate::probe::switch::enabled;

    /// Records that the current thread now holds `key`. Returns whether it was recorded,
    /// which the guard keeps so that its release is recorded exactly when its hold was.
    #[inline]
    pub fn acquired(key: ResourceKey, mode: LockMode, site: &'static Location<'static>) -> bool {
        slot::with_current(|slot| {
            if record::active() && !record::lone_chain_again(slot, key, mode) {
                record_hold(slot.key, key, mode, Some(site), true);
            }
            slot.push_held(key, mode, site)
        })
        .unwrap_or(false)
    }

    #[inline]
    pub fn released(key: ResourceKey, mode: LockMode) {
        slot::with_existing(|slot| {
            slot.pop_held(key, mode);
            if record::active() && !slot.ends_unsent_lone_hold(key, mode) {
                record_hold(slot.key, key, mode, None, false);
            }
        });
    }

    /// Records an event of the current thread, if a capture or a trace file runs (the
    /// event is built only then).
    #[inline]
    pub fn note(event: impl FnOnce() -> EventKind, site: Option<&'static Location<'static>>) {
        record::note(event, site);
    }

    /// Out of line, so the lock fast path carries one load and one branch for recording.
    #[cold]
    #[inline(never)]
    fn record_hold(
        thread: crate::model::ThreadKey,
        resource: ResourceKey,
        mode: LockMode,
        site: Option<&'static Location<'static>>,
        acquired: bool,
    ) {
        record::hold(thread, resource, mode, site, acquired);
    }

    /// The current thread's key, registering it if needed.
    #[inline]
    pub fn current_thread() -> Option<crate::model::ThreadKey> {
        slot::with_current(|slot| slot.key)
    }

    /// A key for a thread about to be spawned, and the `Fork` event naming it.
    pub fn fork() -> Option<crate::model::ThreadKey> {
        let child = crate::probe::registry::new_thread_key();
        note(|| EventKind::Fork { child }, None);
        Some(child)
    }

    /// On the new thread, first thing: take the key its parent chose.
    pub fn adopt(key: Option<crate::model::ThreadKey>) {
        if let Some(key) = key {
            slot::register_as(key);
        }
    }

    /// A published wait: set before the thread blocks, cleared when it is dropped, on
    /// the thread that published it (it is neither `Send` nor `Sync`).
    pub struct WaitScope {
        published: bool,
        key: ResourceKey,
        end: WaitEnd,
        on_this_thread: PhantomData<*const ()>,
    }

    impl WaitScope {
        pub fn begin(
            key: ResourceKey,
            kind: WaitKind,
            site: &'static Location<'static>,
            timed: bool,
        ) -> WaitScope {
            WaitScope::begin_with_token(key, kind, site, timed, 0)
        }

        /// A wait that is over once the resource's state moves past `token` (see
        /// `WaitRecord::token`).
        pub fn begin_with_token(
            key: ResourceKey,
            kind: WaitKind,
            site: &'static Location<'static>,
            timed: bool,
            token: u64,
        ) -> WaitScope {
            // Inside a declared wait (idle, a job's reply, an event), the primitive wait
            // is how the declared one happens: the declaration stays the record.
            let published = slot::with_current(|slot| {
                if slot.in_declared_wait() {
                    return false;
                }
                if record::active() {
                    record::emit(
                        slot.key,
                        EventKind::WaitBegin {
                            resource: key,
                            wait: kind,
                            timed,
                        },
                        Some(site),
                    );
                }
                slot.begin_wait(key, kind, site, timed, token);
                // Holding a lock while it starts an untimed lock wait, this thread may
                // have closed a lock cycle: the watchdog looks at once.
                let lock_wait = matches!(
                    kind,
                    WaitKind::Lock(LockMode::Exclusive | LockMode::Upgradable)
                        | WaitKind::ReadRecursive
                );
                if lock_wait && !timed && slot.holds_any() {
                    crate::probe::prompt::prompt();
                }
                true
            });
            WaitScope {
                published: published == Some(true),
                key,
                end: WaitEnd::Woken,
                on_this_thread: PhantomData,
            }
        }

        /// Ends the wait saying how it ended (dropping it says it was woken).
        pub fn finish(mut self, end: WaitEnd) {
            self.end = end;
        }

        /// Between two slices of the wait: answer the watchdog.
        #[inline]
        pub fn serve(&self) {
            if self.published {
                slot::with_existing(|slot| slot.serve_requests());
            }
        }
    }

    impl Drop for WaitScope {
        fn drop(&mut self) {
            if !self.published {
                return;
            }
            slot::with_existing(|slot| {
                slot.end_wait();
                if record::active() {
                    record::emit(
                        slot.key,
                        EventKind::WaitEnd {
                            resource: self.key,
                            end: self.end,
                        },
                        None,
                    );
                }
            });
        }
    }
}

#[cfg(not(feature = "probe"))]
#[allow(missing_docs, clippy::missing_const_for_fn)]
mod off {
    use crate::model::{LockMode, ResourceKey, ResourceKind, ThreadKey, WaitKind};
    use std::borrow::Cow;
    use std::panic::Location;

    #[inline(always)]
    pub fn enabled() -> bool {
        false
    }

    /// With the probe compiled out no state is ever registered: the primitives' calls
    /// that describe it are never made, and cost nothing.
    pub enum Shared {
        Lock,
        Opaque,
    }

    impl Shared {
        #[inline(always)]
        pub fn weak<T>(_state: &std::sync::Arc<T>) -> Shared {
            Shared::Opaque
        }
    }

    /// Only the name is kept with the probe compiled out.
    pub struct Meta {
        name: Option<Cow<'static, str>>,
    }

    impl Meta {
        #[inline(always)]
        pub const fn new(
            _site: &'static Location<'static>,
            name: Option<Cow<'static, str>>,
        ) -> Meta {
            Meta { name }
        }
        #[inline(always)]
        pub fn key(&self, _kind: ResourceKind, _shared: impl FnOnce() -> Shared) -> ResourceKey {
            ResourceKey(0)
        }
        pub fn name(&self) -> Option<&str> {
            self.name.as_deref()
        }
    }

    #[inline(always)]
    pub fn acquired(_key: ResourceKey, _mode: LockMode, _site: &'static Location<'static>) -> bool {
        false
    }

    #[inline(always)]
    pub fn released(_key: ResourceKey, _mode: LockMode) {}

    #[inline(always)]
    pub fn note(
        _event: impl FnOnce() -> crate::model::EventKind,
        _site: Option<&'static Location<'static>>,
    ) {
    }

    #[inline(always)]
    pub fn current_thread() -> Option<ThreadKey> {
        None
    }

    #[inline(always)]
    pub fn fork() -> Option<ThreadKey> {
        None
    }

    #[inline(always)]
    pub fn adopt(_key: Option<ThreadKey>) {}

    pub struct WaitScope;

    impl WaitScope {
        #[inline(always)]
        pub fn begin(
            _key: ResourceKey,
            _kind: WaitKind,
            _site: &'static Location<'static>,
            _timed: bool,
        ) -> WaitScope {
            WaitScope
        }
        #[inline(always)]
        pub fn begin_with_token(
            _key: ResourceKey,
            _kind: WaitKind,
            _site: &'static Location<'static>,
            _timed: bool,
            _token: u64,
        ) -> WaitScope {
            WaitScope
        }
        #[inline(always)]
        pub fn serve(&self) {}
    }
}

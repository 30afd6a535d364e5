//! Who can end a wait: the rules that turn what one scan saw into clauses of the
//! wait-for graph. Only what is known becomes an edge; anything uncertain makes the
//! wait one that may be satisfied (`Unknown`), which can stall but never deadlock.
//!
//! | wait | providers | rule |
//! |---|---|---|
//! | `lock` (exclusive) | every holder, the waiter too (a double lock) | AND |
//! | `upgradable-read` | exclusive and upgradable holders | AND |
//! | `read` (fair) | the exclusive holder and the writers that started waiting before this reader | AND |
//! | `read-recursive` | the exclusive holder | AND |
//! | condvar | threads that have notified it, or were declared to | OR; none of them alive but the waiter: `Orphaned` (a stall, never a deadlock) |
//! | std / parking_lot condvar nobody has notified yet | threads inside a function whose body notifies it (same module, same receiver name), not yet there | OR; none: `Unannounced` (a stall if asked for, never a deadlock); no instrumented code anywhere notifies one like it (`notify_sites`): `Unnotified` (a stall, never a deadlock) |
//! | barrier (enrolled parties) | parties that have not arrived in this generation | AND, only if every missing party is known |
//! | barrier fed by an executor | the executor's workers that have not arrived | k-of-n, k = arrivals missing |
//! | join | the joined thread (a std handle: the live thread with that std id) | AND |
//! | job | queued: the executor's workers (OR); running: its worker (AND) | |
//! | recv / send on a full channel | the threads last seen using each live sender / receiver | OR, only if every live handle's thread is known |
//! | named event | declared producers | OR |
//! | std barrier, std channel (through the attribute) | unknown: they can stall, never deadlock | |
//! | idle worker, any timed wait | none: the thread counts as running | |

use super::registry::{self, ResourceEntry, Shared};
use super::slot::{HeldEntry, ThreadSlot, WaitRecord};
use crate::model::{LockMode, ResourceKey, ThreadKey, WaitKind};
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

/// What a primitive's shared state tells a scan: who can end a wait on it (the rows of
/// the table above that are not locks). Each primitive implements it beside its own code
/// in `sync/`, so the probe names none of them.
pub trait WaitState: IntoAny {
    /// Who can end `waiter`'s `wait` on this resource, as `world` saw the threads.
    fn provision(&self, world: &World, waiter: ThreadKey, wait: &WaitRecord) -> Provision;
}

/// A shared state as `Any`, for the attribute's role lookups, which need the concrete
/// type (an executor by name, a barrier's round). Every `WaitState` has it.
pub trait IntoAny: Any + Send + Sync {
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

impl<T: Any + Send + Sync> IntoAny for T {
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

/// One thread as a scan saw it.
pub struct ThreadView {
    pub slot: Arc<ThreadSlot>,
    pub wait: Option<WaitRecord>,
    pub held: Vec<HeldEntry>,
}

impl ThreadView {
    pub fn key(&self) -> ThreadKey {
        self.slot.key
    }

    /// Whether the thread is, when asked again now, in the very wait the scan saw (the
    /// same epoch): then it was in that wait all along since.
    pub fn still_in_the_wait_seen(&self) -> bool {
        self.slot.wait().map(|wait| wait.epoch) == self.wait.map(|wait| wait.epoch)
    }
}

/// What a wait needs, in thread keys.
#[derive(Debug, PartialEq, Eq)]
pub enum Provision {
    /// The thread can make progress (running, idle, or in a timed wait).
    Free,
    /// Someone not known to the probe may end the wait.
    Unknown,
    /// As `Unknown` for the graph, but every thread known to have ended such a wait
    /// before is gone (or is the waiter): worth a stall warning once it lasts.
    Orphaned,
    /// As `Unknown` for the graph, and nothing has ever ended such a wait nor is on its
    /// way to (a condvar never notified, no thread inside a function that notifies it):
    /// a missing notification, or an idle thread before its first work. A stall warning
    /// only when asked for (`WatchdogBuilder::warn_every_wait`), never a deadlock.
    Unannounced,
    /// As `Unannounced`, and no instrumented function anywhere in the program notifies a
    /// condvar that could be this one (see `notify_sites`): a missing notify, or one in
    /// code without the attribute. Worth a stall warning once it lasts, never a deadlock.
    Unnotified,
    /// Every clause `(need, providers)` must be met.
    Needs(Vec<(usize, Vec<ThreadKey>)>),
}

impl Provision {
    /// Every one of `providers` (none known: `Unknown`).
    pub fn all(providers: Vec<ThreadKey>) -> Provision {
        if providers.is_empty() {
            Provision::Unknown
        } else {
            Provision::Needs(vec![(providers.len(), providers)])
        }
    }

    /// Any one of `providers` (none known: `Unknown`).
    pub fn any(providers: Vec<ThreadKey>) -> Provision {
        if providers.is_empty() {
            Provision::Unknown
        } else {
            Provision::Needs(vec![(1, providers)])
        }
    }
}

/// Everything one scan saw, indexed for the rules above.
pub struct World {
    pub threads: Vec<ThreadView>,
    index: HashMap<ThreadKey, usize>,
    holders: HashMap<ResourceKey, Vec<(ThreadKey, LockMode)>>,
    entries: HashMap<ResourceKey, Option<Arc<ResourceEntry>>>,
    /// Labels made distinct where classes collide (see [`World::label`]), made when a
    /// report first asks.
    labels: std::sync::OnceLock<HashMap<ResourceKey, String>>,
}

/// For the std and parking_lot resources among `keys` whose label another one shares:
/// the label numbered in the order the keys first appear. O(keys).
fn distinct_labels(
    keys: &[ResourceKey],
    entries: &HashMap<ResourceKey, Option<Arc<ResourceEntry>>>,
) -> HashMap<ResourceKey, String> {
    let mut by_label: HashMap<String, Vec<ResourceKey>> = HashMap::new();
    // Only std and parking_lot resources: their names come from receivers as written;
    // waitgraph's own are named by the program, and jobs are many of one name by design.
    for &key in keys.iter().filter(|&&key| super::foreign::is_foreign(key)) {
        let Some(Some(entry)) = entries.get(&key) else {
            continue;
        };
        let same = by_label.entry(entry.info.label()).or_default();
        if !same.contains(&key) {
            same.push(key);
        }
    }
    by_label
        .into_iter()
        .filter(|(_, keys)| keys.len() > 1)
        .flat_map(|(label, keys)| {
            keys.into_iter()
                .enumerate()
                .map(move |(i, key)| (key, format!("{label} #{}", i + 1)))
        })
        .collect()
}

impl World {
    /// Reads every live thread's slot, one at a time (never two locks at once).
    pub fn observe() -> World {
        let threads: Vec<ThreadView> = registry::threads()
            .into_iter()
            .map(|slot| ThreadView {
                wait: slot.wait(),
                held: slot.held(),
                slot,
            })
            .collect();
        World::from_views(threads)
    }

    pub fn from_views(threads: Vec<ThreadView>) -> World {
        let index = threads
            .iter()
            .enumerate()
            .map(|(i, t)| (t.key(), i))
            .collect();
        let mut holders: HashMap<ResourceKey, Vec<(ThreadKey, LockMode)>> = HashMap::new();
        let mut wanted = Vec::new();
        for thread in &threads {
            for held in &thread.held {
                holders
                    .entry(held.resource)
                    .or_default()
                    .push((thread.key(), held.mode));
                wanted.push(held.resource);
            }
            if let Some(wait) = &thread.wait {
                wanted.push(wait.resource);
            }
        }
        let entries = wanted
            .into_iter()
            .map(|key| (key, registry::resource(key)))
            .collect();
        World {
            threads,
            index,
            holders,
            entries,
            labels: std::sync::OnceLock::new(),
        }
    }

    /// What reports call `resource`: its class, with `#1`, `#2`, .. when it is a std or
    /// parking_lot resource and others this scan saw share its class (two mutexes reached
    /// through the same parameter names in opposite orders would otherwise read as one
    /// thread waiting for what it holds).
    pub fn label(&self, resource: ResourceKey) -> String {
        let labels = self.labels.get_or_init(|| {
            // In the order the scan met them: each thread's holds, then its wait.
            let met: Vec<ResourceKey> = self
                .threads
                .iter()
                .flat_map(|t| {
                    t.held
                        .iter()
                        .map(|h| h.resource)
                        .chain(t.wait.map(|w| w.resource))
                })
                .collect();
            distinct_labels(&met, &self.entries)
        });
        if let Some(label) = labels.get(&resource) {
            return label.clone();
        }
        self.entry(resource).map_or_else(
            || format!("resource #{}", resource.0),
            |entry| entry.info.label(),
        )
    }

    pub fn index_of(&self, thread: ThreadKey) -> Option<usize> {
        self.index.get(&thread).copied()
    }

    pub fn entry(&self, resource: ResourceKey) -> Option<&Arc<ResourceEntry>> {
        self.entries.get(&resource).and_then(Option::as_ref)
    }

    /// Whether `thread` is a live thread of this scan.
    pub fn is_live(&self, thread: ThreadKey) -> bool {
        self.index.contains_key(&thread)
    }

    fn holders(&self, resource: ResourceKey, modes: &[LockMode]) -> Vec<ThreadKey> {
        let mut found: Vec<ThreadKey> = self
            .holders
            .get(&resource)
            .into_iter()
            .flatten()
            .filter(|(_, mode)| modes.contains(mode))
            .map(|(thread, _)| *thread)
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Writers that started waiting for `resource` before `before` began its wait.
    fn earlier_writers(
        &self,
        resource: ResourceKey,
        before: &WaitRecord,
        waiter: ThreadKey,
    ) -> Vec<ThreadKey> {
        self.threads
            .iter()
            .filter(|t| t.key() != waiter)
            .filter(|t| {
                t.wait.is_some_and(|w| {
                    w.resource == resource
                        && w.kind == WaitKind::Lock(LockMode::Exclusive)
                        && w.since < before.since
                })
            })
            .map(ThreadView::key)
            .collect()
    }

    /// What `thread`'s current wait needs.
    pub fn provision(&self, thread: &ThreadView) -> Provision {
        let Some(wait) = &thread.wait else {
            return Provision::Free;
        };
        if wait.timed || wait.kind == WaitKind::Idle {
            return Provision::Free;
        }
        const ANY_MODE: &[LockMode] =
            &[LockMode::Exclusive, LockMode::Shared, LockMode::Upgradable];
        match wait.kind {
            WaitKind::Lock(LockMode::Exclusive) => {
                Provision::all(self.holders(wait.resource, ANY_MODE))
            }
            WaitKind::Lock(LockMode::Upgradable) => Provision::all(
                self.holders(wait.resource, &[LockMode::Exclusive, LockMode::Upgradable]),
            ),
            WaitKind::Lock(LockMode::Shared) => {
                let mut providers = self.holders(wait.resource, &[LockMode::Exclusive]);
                providers.extend(self.earlier_writers(wait.resource, wait, thread.key()));
                providers.sort_unstable();
                providers.dedup();
                Provision::all(providers)
            }
            WaitKind::ReadRecursive => {
                Provision::all(self.holders(wait.resource, &[LockMode::Exclusive]))
            }
            _ => match self.entry(wait.resource) {
                Some(entry) => self.provision_by_state(thread.key(), wait, &entry.shared),
                None => Provision::Unknown,
            },
        }
    }

    fn provision_by_state(
        &self,
        waiter: ThreadKey,
        wait: &WaitRecord,
        shared: &Shared,
    ) -> Provision {
        match shared {
            Shared::Lock | Shared::Opaque => Provision::Unknown,
            Shared::OsThread(id) => {
                match self.threads.iter().find(|view| view.slot.os_thread == *id) {
                    Some(joined) => Provision::all(vec![joined.key()]),
                    // Never met, or gone: the join may well return.
                    None => Provision::Unknown,
                }
            }
            // A state that is gone was dropped while the scan looked: nothing is known.
            _ => shared.state().map_or(Provision::Unknown, |state| {
                state.provision(self, waiter, wait)
            }),
        }
    }

    /// For a foreign condvar nobody has notified yet: the live threads other than
    /// `waiter` inside a function whose body notifies a condvar of that name (its module
    /// and the receiver's last name, see `Context::may_notify`). They are who the waiter
    /// waits for: each is on its way to the notification, or stuck before it.
    pub fn presumed_notifiers(&self, waiter: ThreadKey, condvar: ResourceKey) -> Vec<ThreadKey> {
        if !super::foreign::is_foreign(condvar) {
            return Vec::new();
        }
        let class = match self.entry(condvar).map(|entry| &entry.info.class) {
            Some(crate::model::Class::Named(name)) => name.clone(),
            _ => return Vec::new(),
        };
        let presumed = self.threads.iter().filter(|thread| {
            thread.key() != waiter
                && thread
                    .slot
                    .contexts()
                    .iter()
                    .any(|context| context.may_notify(&class))
        });
        self.live(presumed.map(ThreadView::key))
    }

    /// For a condvar nobody has notified yet and no thread is on its way to notify: the
    /// provision, `Unnotified` when it is a foreign one (std, parking_lot: seen through
    /// the attribute) that no instrumented code notifies (`notify_sites`), `Unannounced`
    /// otherwise (waitgraph's own condvars are notified by code the attribute never sees).
    pub fn unannounced(&self, condvar: ResourceKey) -> Provision {
        if !super::foreign::is_foreign(condvar) {
            return Provision::Unannounced;
        }
        match self.entry(condvar).map(|entry| &entry.info.class) {
            Some(crate::model::Class::Named(name))
                if !super::notify_sites::may_be_notified(name) =>
            {
                Provision::Unnotified
            }
            _ => Provision::Unannounced,
        }
    }

    /// The live ones among `threads`, sorted, each once.
    pub fn live(&self, threads: impl Iterator<Item = ThreadKey>) -> Vec<ThreadKey> {
        let mut live: Vec<ThreadKey> = threads.filter(|&t| self.is_live(t)).collect();
        live.sort_unstable();
        live.dedup();
        live
    }
}

#[cfg(test)]
mod tests {
    //! A thread whose wait has ended but that has not run yet still shows its old wait
    //! record; the state of the resource must say the wait is over, or two scans during a
    //! long descheduling would agree on a deadlock that is not there.

    use super::*;
    use crate::model::{ResourceKind, WaitKind};
    use crate::probe::slot::ThreadSlot;
    use crate::sync::{Barrier, Condvar};
    use std::panic::Location;
    use std::sync::atomic::Ordering::Acquire;
    use std::time::Instant;

    fn waiting(key: u64, resource: ResourceKey, kind: WaitKind, token: u64) -> ThreadView {
        let slot = Arc::new(ThreadSlot::new(ThreadKey(key), Some(format!("t{key}"))));
        let wait = WaitRecord {
            resource,
            kind,
            site: Location::caller(),
            since: Instant::now(),
            timed: false,
            epoch: 1,
            token,
        };
        ThreadView {
            slot,
            wait: Some(wait),
            held: Vec::new(),
        }
    }

    #[test]
    fn a_party_of_a_round_that_completed_is_free() {
        let barrier = Barrier::new(2);
        barrier.enroll();
        let key = barrier.key();
        assert_eq!(
            registry::resource(key).unwrap().info.kind,
            ResourceKind::Barrier
        );
        // Round 0 is open, a party is missing: the wait is not over.
        let stale = waiting(1_000_001, key, WaitKind::Barrier, 0);
        let world = World::from_views(vec![stale]);
        assert_ne!(world.provision(&world.threads[0]), Provision::Free);
        // Round 0 ends (here by a cancel); the record still names it.
        barrier.cancel();
        let world = World::from_views(vec![waiting(1_000_001, key, WaitKind::Barrier, 0)]);
        assert_eq!(world.provision(&world.threads[0]), Provision::Free);
    }

    #[test]
    fn a_condvar_waiter_notified_since_its_wait_began_is_free() {
        let condvar = Condvar::new();
        condvar.declare_notifier();
        let key = condvar.key();
        let token = condvar.shared().notifications.load(Acquire);
        let world = World::from_views(vec![waiting(1_000_002, key, WaitKind::Condvar, token)]);
        // The only notifier (this test thread) is not among the scan's live threads, as
        // if it had ended: orphaned (may be satisfied, worth a stall), not free.
        assert_eq!(world.provision(&world.threads[0]), Provision::Orphaned);
        condvar.notify_one();
        let world = World::from_views(vec![waiting(1_000_002, key, WaitKind::Condvar, token)]);
        assert_eq!(world.provision(&world.threads[0]), Provision::Free);
    }
}

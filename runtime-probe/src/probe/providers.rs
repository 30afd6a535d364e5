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
//! | condvar | threads that have notified it, or were declared to | OR |
//! | barrier (enrolled parties) | parties that have not arrived in this generation | AND, only if every missing party is known |
//! | barrier fed by an executor | the executor's workers that have not arrived | k-of-n, k = arrivals missing |
//! | join | the joined thread (a std handle: the live thread with that std id) | AND |
//! | job | queued: the executor's workers (OR); running: its worker (AND) | |
//! | recv / send on a full channel | the threads last seen using each live sender / receiver | OR, only if every live handle's thread is known |
//! | named event | declared producers | OR |
//! | std barrier, std channel (through the attribute) | unknown: they can stall, never deadlock | |
//! | idle worker, any timed wait | none: the thread counts as running | |

use super::registry::{self, ResourceEntry};
use super::slot::{HeldEntry, ThreadSlot, WaitRecord};
use crate::model::{LockMode, ResourceKey, ThreadKey, WaitKind};
use crate::sync::channel::ChannelShared;
use crate::sync::hooks::Shared;
use crate::sync::{BarrierShared, ExecutorShared, JobShared, JobStatus};
use std::collections::HashMap;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::Arc;

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
}

/// What a wait needs, in thread keys.
#[derive(Debug, PartialEq, Eq)]
pub enum Provision {
    /// The thread can make progress (running, idle, or in a timed wait).
    Free,
    /// Someone not known to the probe may end the wait.
    Unknown,
    /// Every clause `(need, providers)` must be met.
    Needs(Vec<(usize, Vec<ThreadKey>)>),
}

impl Provision {
    fn all(providers: Vec<ThreadKey>) -> Provision {
        if providers.is_empty() {
            Provision::Unknown
        } else {
            Provision::Needs(vec![(providers.len(), providers)])
        }
    }

    fn any(providers: Vec<ThreadKey>) -> Provision {
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
        }
    }

    pub fn index_of(&self, thread: ThreadKey) -> Option<usize> {
        self.index.get(&thread).copied()
    }

    pub fn entry(&self, resource: ResourceKey) -> Option<&Arc<ResourceEntry>> {
        self.entries.get(&resource).and_then(Option::as_ref)
    }

    fn is_live(&self, thread: ThreadKey) -> bool {
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
            Shared::Condvar(condvar) => {
                if condvar.notifications.load(Acquire) != wait.token {
                    return Provision::Free;
                }
                let notifiers = condvar.notifiers.lock();
                if notifiers.overflowed {
                    return Provision::Unknown;
                }
                Provision::any(
                    self.live(notifiers.threads.iter().copied().filter(|&t| t != waiter)),
                )
            }
            // A state that is gone was dropped while the scan looked: nothing is known.
            Shared::Barrier(barrier) => barrier.upgrade().map_or(Provision::Unknown, |barrier| {
                self.barrier(&barrier, wait.token)
            }),
            Shared::Thread(thread) => match thread.upgrade() {
                Some(thread) if thread.is_finished() => Provision::Free,
                Some(thread) => match *thread.thread.lock() {
                    Some(joined) if self.is_live(joined) => Provision::all(vec![joined]),
                    Some(_) => Provision::Free,
                    None => Provision::Unknown,
                },
                None => Provision::Unknown,
            },
            Shared::Job(job) => match job.upgrade() {
                Some(job) => self.job(&job),
                None => Provision::Unknown,
            },
            Shared::Executor(executor) => executor
                .upgrade()
                .map_or(Provision::Unknown, |executor| self.any_worker(&executor)),
            Shared::Event(event) => match event.upgrade() {
                Some(event) => Provision::any(self.live(event.producers.lock().iter().copied())),
                None => Provision::Unknown,
            },
            Shared::Channel(channel) => match channel.upgrade() {
                Some(channel) => self.channel(wait, &channel),
                None => Provision::Unknown,
            },
        }
    }

    fn job(&self, job: &JobShared) -> Provision {
        match *job.status.lock() {
            JobStatus::Queued => self.any_worker(&job.executor.lock()),
            JobStatus::Running(Some(worker)) if self.is_live(worker) => {
                Provision::all(vec![worker])
            }
            JobStatus::Running(_) => Provision::Unknown,
            JobStatus::Done | JobStatus::Cancelled => Provision::Free,
        }
    }

    fn channel(&self, wait: &WaitRecord, channel: &ChannelShared) -> Provision {
        // Which handles end the wait depends on its direction.
        let sending = wait.kind == WaitKind::Send;
        let queued = channel.queued.load(Relaxed);
        let can_go = if sending {
            channel.capacity.is_none_or(|c| queued < c)
        } else {
            queued > 0
        };
        if can_go {
            return Provision::Free;
        }
        let handles = if sending {
            &channel.receivers
        } else {
            &channel.senders
        };
        let handles = handles.lock();
        if handles.is_empty() {
            return Provision::Free;
        }
        let mut threads = Vec::with_capacity(handles.len());
        for handle in handles.iter() {
            match handle.load(Relaxed) {
                0 => return Provision::Unknown,
                key if self.is_live(ThreadKey(key)) => threads.push(ThreadKey(key)),
                // Tied to a thread that has exited: the handle moved on.
                _ => return Provision::Unknown,
            }
        }
        threads.sort_unstable();
        threads.dedup();
        Provision::any(threads)
    }

    fn live(&self, threads: impl Iterator<Item = ThreadKey>) -> Vec<ThreadKey> {
        let mut live: Vec<ThreadKey> = threads.filter(|&t| self.is_live(t)).collect();
        live.sort_unstable();
        live.dedup();
        live
    }

    fn any_worker(&self, executor: &ExecutorShared) -> Provision {
        Provision::any(self.live(executor.members.lock().iter().copied()))
    }

    /// A barrier round (waited for by a party or by a spinner) needs its missing
    /// arrivals. The rule gives up (`Unknown`) whenever fewer candidates are known than
    /// arrivals are missing: a party the probe has not met may still come.
    fn barrier(&self, barrier: &BarrierShared, round: u64) -> Provision {
        let state = barrier.state.lock();
        if state.generation != round || state.closed {
            // The round the thread waits for is over; it has not run since.
            return Provision::Free;
        }
        let missing = state.parties.saturating_sub(state.arrived.len());
        if missing == 0 {
            return Provision::Free;
        }
        let arrived: Vec<ThreadKey> = state.arrived.iter().flatten().copied().collect();
        let candidates: Vec<ThreadKey> = match &barrier.executor {
            Some(executor) => self.live(
                executor
                    .members
                    .lock()
                    .iter()
                    .copied()
                    .filter(|t| !arrived.contains(t)),
            ),
            None => self.live(
                state
                    .enrolled
                    .iter()
                    .copied()
                    .filter(|t| !arrived.contains(t)),
            ),
        };
        if candidates.len() < missing {
            return Provision::Unknown;
        }
        Provision::Needs(vec![(missing, candidates)])
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
        // The only notifier (this test thread) is not in the scan: unknown, not free.
        assert_eq!(world.provision(&world.threads[0]), Provision::Unknown);
        condvar.notify_one();
        let world = World::from_views(vec![waiting(1_000_002, key, WaitKind::Condvar, token)]);
        assert_eq!(world.provision(&world.threads[0]), Provision::Free);
    }
}

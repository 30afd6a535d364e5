use super::executor::{Executor, ExecutorShared};
use super::hooks::{self, Meta, Shared, WaitScope};
use crate::model::{EventKind, ResourceKey, ResourceKind, ThreadKey, WaitKind};
use parking_lot::{Condvar as RawCondvar, Mutex as RawMutex};
use std::borrow::Cow;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many parties a barrier remembers by name (learned or enrolled).
const PARTY_CAPACITY: usize = 256;

/// A barrier: `parties` threads wait until all have arrived, then all go on.
///
/// The watchdog knows who is missing when it knows the parties: threads that
/// [`enroll`](Barrier::enroll), threads that arrived in an earlier round, or, for a
/// barrier [fed by an executor](Barrier::for_executor), the executor's workers (any
/// `k` of them). A barrier can also be [cancelled](Barrier::cancel), which releases the
/// threads waiting in the current round.
///
/// ```
/// use waitgraph::sync::Barrier;
/// use std::sync::Arc;
/// let barrier = Arc::new(Barrier::named("start", 2));
/// let other = barrier.clone();
/// let t = std::thread::spawn(move || other.wait().is_leader());
/// let here = barrier.wait().is_leader();
/// assert!(here ^ t.join().unwrap());
/// ```
pub struct Barrier {
    shared: Arc<BarrierShared>,
}

pub struct BarrierShared {
    meta: Meta,
    pub(crate) state: RawMutex<BarrierState>,
    released: RawCondvar,
    #[cfg_attr(not(feature = "probe"), allow(dead_code))]
    pub(crate) executor: Option<Arc<ExecutorShared>>,
}

pub(crate) struct BarrierState {
    pub(crate) parties: usize,
    pub(crate) arrived: Vec<Option<ThreadKey>>,
    pub(crate) generation: u64,
    cancelled_generation: Option<u64>,
    pub(crate) enrolled: Vec<ThreadKey>,
    /// Closed for good: every wait, now and later, returns cancelled at once.
    pub(crate) closed: bool,
}

/// What a thread learns when it leaves a barrier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierWaitResult {
    leader: bool,
    cancelled: bool,
}

impl BarrierWaitResult {
    /// Exactly one thread of a completed round is the leader.
    pub fn is_leader(&self) -> bool {
        self.leader
    }

    /// The round was cancelled before every party arrived.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled
    }
}

impl Barrier {
    #[track_caller]
    pub fn new(parties: usize) -> Barrier {
        Barrier::make(Location::caller(), None, parties, None)
    }

    #[track_caller]
    pub fn named(name: impl Into<Cow<'static, str>>, parties: usize) -> Barrier {
        Barrier::make(Location::caller(), Some(name.into()), parties, None)
    }

    /// A barrier whose arrivals come from jobs queued to `executor`: a round completes
    /// once `parties` distinct workers of that executor have arrived.
    #[track_caller]
    pub fn for_executor(
        name: impl Into<Cow<'static, str>>,
        parties: usize,
        executor: &Executor,
    ) -> Barrier {
        Barrier::make(
            Location::caller(),
            Some(name.into()),
            parties,
            Some(executor.shared.clone()),
        )
    }

    fn make(
        site: &'static Location<'static>,
        name: Option<Cow<'static, str>>,
        parties: usize,
        executor: Option<Arc<ExecutorShared>>,
    ) -> Barrier {
        let named = name.is_some();
        let barrier = Barrier {
            shared: Arc::new(BarrierShared {
                meta: Meta::new(site, name),
                state: RawMutex::new(BarrierState {
                    parties,
                    arrived: Vec::new(),
                    generation: 0,
                    cancelled_generation: None,
                    enrolled: Vec::new(),
                    closed: false,
                }),
                released: RawCondvar::new(),
                executor,
            }),
        };
        // Named resources are registered at once, so roles can find them by name.
        if named && hooks::enabled() {
            barrier.key();
        }
        barrier
    }

    pub(crate) fn key(&self) -> ResourceKey {
        self.shared
            .meta
            .key(ResourceKind::Barrier, || Shared::weak(&self.shared))
    }

    /// The executor whose jobs arrive, for a barrier fed by one.
    pub(crate) fn fed_by(&self) -> Option<ResourceKey> {
        self.shared.executor.as_ref().map(|executor| executor.key())
    }

    /// Declares the current thread a party, so a wait can name it before it arrives.
    pub fn enroll(&self) {
        if let Some(thread) = hooks::enabled().then(hooks::current_thread).flatten() {
            let resource = self.key();
            let mut state = self.shared.state.lock();
            if !state.enrolled.contains(&thread) && state.enrolled.len() < PARTY_CAPACITY {
                state.enrolled.push(thread);
            }
            drop(state);
            hooks::note(|| EventKind::Enroll { resource }, None);
        }
    }

    /// Arrives and waits for the round to complete (or be cancelled).
    #[track_caller]
    pub fn wait(&self) -> BarrierWaitResult {
        self.wait_inner(None, Location::caller())
            .unwrap_or(BarrierWaitResult {
                leader: false,
                cancelled: true,
            })
    }

    /// Arrives and waits at most `timeout`. On timeout the thread's arrival is taken
    /// back and `None` is returned.
    #[track_caller]
    pub fn wait_timeout(&self, timeout: Duration) -> Option<BarrierWaitResult> {
        self.wait_inner(Some(Instant::now() + timeout), Location::caller())
    }

    fn wait_inner(
        &self,
        deadline: Option<Instant>,
        site: &'static Location<'static>,
    ) -> Option<BarrierWaitResult> {
        let recording = hooks::enabled();
        let thread = if recording {
            hooks::current_thread()
        } else {
            None
        };
        let key = if recording {
            self.key()
        } else {
            ResourceKey(0)
        };
        if recording {
            let parties = self.shared.state.lock().parties as u64;
            if let Some(executor) = self.fed_by() {
                hooks::note(
                    || EventKind::BarrierFedBy {
                        barrier: key,
                        executor,
                    },
                    Some(site),
                );
            }
            hooks::note(
                || EventKind::BarrierArrive {
                    resource: key,
                    parties,
                },
                Some(site),
            );
        }
        let mut state = self.shared.state.lock();
        if state.closed {
            return Some(BarrierWaitResult {
                leader: false,
                cancelled: true,
            });
        }
        let generation = state.generation;
        state.arrived.push(thread);
        if let Some(thread) = thread {
            if !state.enrolled.contains(&thread) && state.enrolled.len() < PARTY_CAPACITY {
                state.enrolled.push(thread);
            }
        }
        if state.arrived.len() >= state.parties {
            state.arrived.clear();
            state.generation += 1;
            drop(state);
            self.shared.released.notify_all();
            return Some(BarrierWaitResult {
                leader: true,
                cancelled: false,
            });
        }
        let wait = recording.then(|| {
            WaitScope::begin_with_token(
                key,
                WaitKind::Barrier,
                site,
                deadline.is_some(),
                generation,
            )
        });
        loop {
            if state.generation != generation {
                let cancelled = state.cancelled_generation == Some(generation);
                return Some(BarrierWaitResult {
                    leader: false,
                    cancelled,
                });
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                if let Some(position) = state.arrived.iter().position(|&t| t == thread) {
                    state.arrived.remove(position);
                }
                return None;
            }
            let slice = hooks::next_slice(deadline);
            self.shared.released.wait_for(&mut state, slice);
            if let Some(wait) = &wait {
                wait.serve();
            }
        }
    }

    /// Releases every thread waiting in the current round (their `wait` reports
    /// [`is_cancelled`](BarrierWaitResult::is_cancelled)) and starts a new round.
    /// Returns how many were waiting.
    pub fn cancel(&self) -> usize {
        let mut state = self.shared.state.lock();
        let waiting = state.arrived.len();
        state.cancelled_generation = Some(state.generation);
        state.arrived.clear();
        state.generation += 1;
        drop(state);
        self.shared.released.notify_all();
        waiting
    }

    /// Cancels the current round and every later one: threads waiting now and threads
    /// that arrive later return at once, [cancelled](BarrierWaitResult::is_cancelled).
    /// For a one-shot barrier that is being given up on, so a party that was already on
    /// its way cannot be left waiting. Returns how many were waiting.
    pub fn close(&self) -> usize {
        self.shared.state.lock().closed = true;
        self.cancel()
    }

    pub fn is_closed(&self) -> bool {
        self.shared.state.lock().closed
    }

    /// How many parties have arrived in the current round.
    pub fn arrived(&self) -> usize {
        self.shared.state.lock().arrived.len()
    }

    /// How many rounds have completed or been cancelled.
    pub fn generation(&self) -> u64 {
        self.shared.state.lock().generation
    }

    pub fn parties(&self) -> usize {
        self.shared.state.lock().parties
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.state.lock();
        f.debug_struct("Barrier")
            .field("parties", &state.parties)
            .field("arrived", &state.arrived.len())
            .finish()
    }
}

/// A barrier round (waited for by a party or by a spinner) needs its missing arrivals.
/// The rule gives up (`Unknown`) whenever fewer candidates are known than arrivals are
/// missing: a party the probe has not met may still come.
#[cfg(feature = "probe")]
impl hooks::WaitState for BarrierShared {
    fn provision(
        &self,
        world: &hooks::World,
        _waiter: ThreadKey,
        wait: &hooks::WaitRecord,
    ) -> hooks::Provision {
        let state = self.state.lock();
        if state.generation != wait.token || state.closed {
            // The round the thread waits for is over; it has not run since.
            return hooks::Provision::Free;
        }
        let missing = state.parties.saturating_sub(state.arrived.len());
        if missing == 0 {
            return hooks::Provision::Free;
        }
        let arrived: Vec<ThreadKey> = state.arrived.iter().flatten().copied().collect();
        let not_arrived = |t: &ThreadKey| !arrived.contains(t);
        let candidates = match &self.executor {
            Some(executor) => {
                world.live(executor.members.lock().iter().copied().filter(not_arrived))
            }
            None => world.live(state.enrolled.iter().copied().filter(not_arrived)),
        };
        if candidates.len() < missing {
            return hooks::Provision::Unknown;
        }
        hooks::Provision::Needs(vec![(missing, candidates)])
    }
}

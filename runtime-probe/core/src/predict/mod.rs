//! Prediction: from a recorded run, the deadlocks another interleaving can close, even
//! when this run did not hang.
//!
//! Every blocking operation waits for an **event** some thread must produce: a lock's
//! release, a free worker of an executor, an arrival at a barrier, a notification, a
//! send, a job's completion, a thread's exit. Events are grouped into **classes**
//! (a lock made per request is one class), and each thread **owes** events while it does
//! things: the release of every lock it holds, a free worker of the executor whose job
//! (or loop item) it is running. When a thread waits for `X` while it owes `Y`, `Y`
//! cannot happen until `X` has: the edge `Y -> X`. A thread that produces `Y` after
//! waiting for `X` in the same job gives `Y -> X` too, and an event produced inside a job
//! of executor `E` needs that job picked up: `Y -> free(E)`. A cycle of such edges is a
//! deadlock waiting for the right interleaving; lock-order inversion is the case where
//! every event is a release.
//!
//! | the trace shows | edge |
//! |---|---|
//! | a lock taken (or waited for) while owing `Y` | `Y -> released(lock)` (modes: a read waits for writers only) |
//! | a condvar / barrier / spin / job / recv / join wait while owing `Y` | `Y -> notify / arrival / ... / job done / send / exit` |
//! | `Y` produced after waits for `X`, since the thread's job began (or since it last produced `Y`) | `Y -> X` |
//! | `Y` produced while running a job of `E` | `Y -> free(E)` |
//! | a job of class `J` queued to (or started on) `E` | `done(J) -> free(E)` |
//!
//! A cycle is reported only if it can close (a false alarm is worse than a miss):
//!
//! | filter | a cycle is dropped when |
//! |---|---|
//! | threads | its waits all come from one thread, and it passes through no executor |
//! | fork / join / wake-up | two of its waits are ordered by a fork, a join, or a notification (send, job completion) that ended a wait (they never overlap) |
//! | gate lock | every wait of it happens under one lock instance held exclusively |
//! | k of n | it is only a pool and a barrier its own jobs arrive at, and the barrier needs no more arrivals than the pool has workers; or it needs a free worker of a pool that has more workers than the run had jobs of it waiting for the cycle's events (one worker is always left; not said of cycles through a barrier, whose arrivals hold workers while they wait) |
//! | timeouts | (kept, as a warning) one of its waits is timed: a bounded stall |
//!
//! What it knowingly misses: an order imposed only through a shared variable (a flag
//! read without a wait) is not used to drop a cycle (so such a cycle is reported: a false
//! alarm, documented in `docs/PREDICTION.md`); a cycle between two instances of one lock class; a send waiting
//! for room in a full channel; a `try_lock` is taken for a lock that could block.
//!
//! The analysis is one streaming pass ([`Predictor::feed`], then [`Predictor::finish`]);
//! its memory is bounded by the classes, the threads and the resource instances the trace
//! describes (a number per instance), not by the events.

pub mod classes;
pub mod dependency_graph;
pub mod elementary_cycles;
mod findings;
pub mod happens_before;
mod stuck_at_end;

use crate::binary::IdHasher;
use crate::model::{
    Event, EventKind, LockMode, ResourceKey, ResourceKind, Site, ThreadKey, TraceLine, WaitEnd,
    WaitKind,
};
use crate::report::Finding;
use classes::{ClassId, Classes, Node};
use dependency_graph::{DependencyGraph, Evidence, Owed};
use happens_before::HappensBefore;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Waits remembered per thread since its current job began (the oldest are forgotten).
const WINDOW: usize = 32;
/// Locks one thread is seen to hold at once (more are left out: a missed edge at most).
const HELD: usize = 64;
/// Function contexts kept per thread.
const CONTEXTS: usize = 32;

/// What a prediction found, and what it noticed about the trace.
#[derive(Debug, Default)]
pub struct Prediction {
    pub findings: Vec<Finding>,
    /// About the trace rather than the program: events naming undescribed resources,
    /// duplicate descriptions, threads still blocked when it ended.
    pub notes: Vec<String>,
    pub events: u64,
    pub threads: usize,
    pub classes: usize,
    pub edges: usize,
}

/// A lock a thread holds.
#[derive(Clone, Debug)]
struct Hold {
    resource: ResourceKey,
    class: ClassId,
    mode: LockMode,
    site: Option<Site>,
    since: u64,
}

/// What a thread owes, by where it is in the thread's state (built into evidence only
/// when the graph wants it).
#[derive(Clone)]
enum Source {
    Producing(usize),
    Hold(usize),
    Busy,
}

/// A wait remembered for the productions that may follow it.
#[derive(Clone, Debug)]
struct Waited {
    node: Node,
    seq: u64,
    site: Option<Site>,
    wait: &'static str,
    timed: bool,
}

/// A wait the thread has begun and not ended.
#[derive(Clone, Debug)]
struct OpenWait {
    resource: ResourceKey,
    node: Option<Node>,
    kind: WaitKind,
    seq: u64,
    site: Option<Site>,
    timed: bool,
}

#[derive(Clone, Default)]
struct ThreadState {
    name: Option<String>,
    held: Vec<Hold>,
    /// The executor whose job (or loop item) the thread is running, since when.
    busy: Option<(ClassId, u64)>,
    /// The executor the thread is waiting for work from.
    idle: Option<ClassId>,
    open: Option<OpenWait>,
    /// A lock wait already counted (a request, then its acquisition).
    pending_lock: Option<ResourceKey>,
    /// Waits since the current job began: what a later production depends on.
    window: VecDeque<Waited>,
    /// Per event class produced, when it last was.
    produced: HashMap<Node, u64, IdHasher>,
    /// Named events the thread declared it will produce: (instance, class, since).
    producing: Vec<(ResourceKey, Node, u64)>,
    contexts: Vec<String>,
    exited: bool,
    /// Which of the traces analysed together it came from (counted by headers): only
    /// threads of one run can help each other at its end.
    trace: u32,
}

/// The streaming analysis: feed it a trace's lines in file order, then finish.
///
/// ```
/// use waitgraph_core::model::*;
/// use waitgraph_core::predict::Predictor;
/// use waitgraph_core::report::FindingKind;
///
/// // Two threads take `a` and `b` in opposite orders, one after the other: no hang in
/// // this run, a deadlock in another.
/// let lock = |key: u64, name: &'static str| TraceLine::Resource(ResourceInfo {
///     key: ResourceKey(key), kind: ResourceKind::Mutex,
///     class: Class::Named(name.into()), created: Site::from_location(std::panic::Location::caller()),
/// });
/// let event = |seq: u64, thread: u64, kind: EventKind| TraceLine::Event(Event {
///     seq, thread: ThreadKey(thread), kind, site: None,
/// });
/// let (a, b, x) = (ResourceKey(1), ResourceKey(2), LockMode::Exclusive);
/// let mut predictor = Predictor::default();
/// for line in [
///     lock(1, "a"), lock(2, "b"),
///     event(1, 1, EventKind::LockAcquired { resource: a, mode: x }),
///     event(2, 1, EventKind::LockAcquired { resource: b, mode: x }),
///     event(3, 1, EventKind::LockReleased { resource: b, mode: x }),
///     event(4, 1, EventKind::LockReleased { resource: a, mode: x }),
///     event(5, 2, EventKind::LockAcquired { resource: b, mode: x }),
///     event(6, 2, EventKind::LockAcquired { resource: a, mode: x }),
///     event(7, 2, EventKind::LockReleased { resource: a, mode: x }),
///     event(8, 2, EventKind::LockReleased { resource: b, mode: x }),
/// ] {
///     predictor.feed(line);
/// }
/// let prediction = predictor.finish();
/// assert_eq!(prediction.findings.len(), 1);
/// assert_eq!(prediction.findings[0].kind, FindingKind::LockOrderInversion);
/// ```
#[derive(Clone, Default)]
pub struct Predictor {
    classes: Classes,
    graph: DependencyGraph,
    threads: BTreeMap<ThreadKey, ThreadState>,
    order: HappensBefore,
    /// Per condvar / channel instance, the last notification or send.
    last_signal: HashMap<ResourceKey, u64, IdHasher>,
    double_locks: Vec<(ThreadKey, Hold, Evidence)>,
    under_lock: BTreeMap<(ClassId, Node), Evidence>,
    notes: Vec<String>,
    events: u64,
    truncated: bool,
    /// Threads of traces that ended with their end line.
    ended: std::collections::HashSet<ThreadKey>,
    /// Events the recorder dropped (said by `Lost` events).
    lost: u64,
    /// Headers seen: the trace the lines now fed belong to.
    trace: u32,
    /// Reused for what a thread owes at each wait (no allocation per event).
    scratch: Vec<(Node, u64, Source)>,
    /// Per executor and event waited for, the job runs of the executor that waited for
    /// it (a run is its worker and when it began; at most [`JOB_RUNS`] kept): a cycle
    /// through a free worker needs as many such runs as the executor has workers.
    busy_waits: HashMap<(ClassId, Node), JobRuns, IdHasher>,
}

/// Job runs (a worker, and when its job began).
type JobRuns = std::collections::HashSet<(ThreadKey, u64), IdHasher>;

/// Job runs counted per executor and event waited for: past this, as many as any pool.
pub(crate) const JOB_RUNS: usize = 1024;

/// The longest cycle searched for, in event classes.
const MAX_CYCLE: usize = 8;
/// How many cycles are examined at most.
const MAX_CYCLES: usize = 10_000;

impl Predictor {
    /// One line of the trace, in file order (threads' events may come interleaved in any
    /// order between threads, but each thread's in its own order).
    pub fn feed(&mut self, line: TraceLine) {
        match line {
            TraceLine::Trace(_) => self.trace += 1,
            // A recording finished whole: where its threads were left is where they
            // were (a trace without its end line has lost its threads' last buffers).
            TraceLine::End(_) => {
                let ended = self.threads.keys().copied().collect::<Vec<_>>();
                self.ended.extend(ended);
            }
            TraceLine::Thread(info) => {
                let state = self.thread(info.key);
                if state.name.is_none() {
                    state.name = info.name;
                }
            }
            TraceLine::Resource(info) => {
                if !self.classes.describe(&info) {
                    self.note(format!(
                        "resource #{} is described twice; the first description is kept",
                        info.key.0
                    ));
                }
            }
            TraceLine::Event(event) => self.event(event),
        }
    }

    /// The trace ended in the middle of a line: the analysis says so.
    pub fn mark_truncated(&mut self) {
        self.truncated = true;
    }

    fn note(&mut self, note: String) {
        const NOTES: usize = 64;
        if self.notes.len() < NOTES {
            self.notes.push(note);
        }
    }

    fn event(&mut self, event: Event) {
        self.events += 1;
        let Event {
            seq,
            thread,
            kind,
            site,
        } = event;
        self.thread(thread);
        match kind {
            EventKind::LockRequested { resource, mode } => {
                self.lock_wait(thread, resource, mode, seq, site, false, false);
                self.thread(thread).pending_lock = Some(resource);
            }
            EventKind::LockAcquired { resource, mode } => {
                if self.thread(thread).pending_lock.take() != Some(resource) {
                    self.lock_wait(thread, resource, mode, seq, site.clone(), false, false);
                }
                let class = self.classes.of(resource, ResourceKind::Mutex);
                let state = self.thread(thread);
                if state.held.len() < HELD {
                    state.held.push(Hold {
                        resource,
                        class,
                        mode,
                        site,
                        since: seq,
                    });
                }
            }
            EventKind::LockReleased { resource, mode } => {
                let state = self.thread(thread);
                if let Some(at) = state
                    .held
                    .iter()
                    .rposition(|h| h.resource == resource && h.mode == mode)
                {
                    state.held.remove(at);
                }
            }
            EventKind::WaitBegin {
                resource,
                wait,
                timed,
            } => self.wait_begin(thread, resource, wait, timed, seq, site),
            EventKind::WaitEnd { resource, end } => self.wait_end(thread, resource, end, seq),
            EventKind::Notify { resource, .. } => {
                self.signal(thread, resource, seq);
                let class = self.classes.of(resource, ResourceKind::Condvar);
                self.produce(thread, Node::Notify(class), seq, site);
            }
            EventKind::Send { resource } => {
                self.signal(thread, resource, seq);
                let class = self.classes.of(resource, ResourceKind::Channel);
                self.produce(thread, Node::Send(class), seq, site);
            }
            EventKind::BarrierArrive { resource, parties } => {
                let class = self.classes.of(resource, ResourceKind::Barrier);
                let info = self.classes.info_mut(class);
                info.parties = info.parties.max(parties);
                self.produce(thread, Node::Arrive(class), seq, site);
            }
            EventKind::JobQueued { job, executor } => {
                let (job_class, executor) = self.job_classes(job, executor);
                self.queued_to(thread, job_class, executor, seq, site);
            }
            EventKind::JobStarted { job, executor } => {
                let (job_class, executor) = self.job_classes(job, executor);
                self.queued_to(thread, job_class, executor, seq, site);
                self.classes.info_mut(executor).workers.insert(thread);
                let state = self.thread(thread);
                state.busy = Some((executor, seq));
                state.idle = None;
                state.window.clear();
            }
            EventKind::JobFinished { job, .. } => {
                self.order.signal(job, thread, seq);
                let state = self.thread(thread);
                state.busy = None;
                state.window.clear();
            }
            EventKind::ThreadStart { name } => {
                let state = self.thread(thread);
                if state.name.is_none() {
                    state.name = name.map(|n| n.into_owned());
                }
            }
            EventKind::ThreadExit => {
                if let Some(name) = self.thread(thread).name.clone() {
                    let class = self.classes.thread(&name);
                    self.produce(thread, Node::Exit(class), seq, site);
                }
                self.thread(thread).exited = true;
            }
            EventKind::Fork { child } => {
                self.thread(child);
                self.order.fork(thread, child, seq);
            }
            EventKind::Join { child } => self.order.join(child, thread, seq),
            EventKind::BarrierFedBy { barrier, executor } => {
                let barrier = self.classes.of(barrier, ResourceKind::Barrier);
                let executor = self.classes.of(executor, ResourceKind::Executor);
                let evidence =
                    self.evidence(thread, seq, seq, site, "declare", Owed::Declared, false);
                self.graph
                    .add(Node::Arrive(barrier), Node::Free(executor), evidence);
            }
            EventKind::ProducerDeclared { resource } => {
                let class = self.classes.of(resource, ResourceKind::Event);
                self.owes(thread, resource, Node::Event(class), seq);
            }
            EventKind::Enroll { resource } => {
                let class = self.classes.of(resource, ResourceKind::Executor);
                match self.classes.info(class).kind {
                    // A party owes its arrivals.
                    ResourceKind::Barrier => self.owes(thread, resource, Node::Arrive(class), seq),
                    // A worker that is not idle is running something of the executor.
                    _ => {
                        self.classes.info_mut(class).workers.insert(thread);
                        let state = self.thread(thread);
                        if state.busy.is_none() && state.idle.is_none() {
                            state.busy = Some((class, seq));
                        }
                    }
                }
            }
            EventKind::ProducerDropped { resource } | EventKind::Leave { resource } => {
                let class = self.classes.of(resource, ResourceKind::Executor);
                let state = self.thread(thread);
                state.producing.retain(|(r, _, _)| *r != resource);
                if state.busy.is_some_and(|(executor, _)| executor == class) {
                    state.busy = None;
                }
            }
            // Memory order is not used to rule cycles out (see the module docs).
            EventKind::Read { .. } | EventKind::Write { .. } => {}
            EventKind::Enter { function } => {
                let state = self.thread(thread);
                if state.contexts.len() < CONTEXTS {
                    state.contexts.push(function.into_owned());
                }
            }
            EventKind::Exit { .. } => {
                self.thread(thread).contexts.pop();
            }
            EventKind::Lost { events } => {
                // What it held and did before is unknown: forget it rather than guess
                // (a missed edge, never a phantom hold).
                let state = self.thread(thread);
                state.held.clear();
                state.pending_lock = None;
                state.open = None;
                state.busy = None;
                state.idle = None;
                state.window.clear();
                state.contexts.clear();
                self.lost += events;
            }
        }
    }

    /// The thread owes `node` (from `resource`) until it says otherwise.
    fn owes(&mut self, thread: ThreadKey, resource: ResourceKey, node: Node, seq: u64) {
        let state = self.thread(thread);
        if !state.producing.iter().any(|(r, _, _)| *r == resource) {
            state.producing.push((resource, node, seq));
        }
    }

    /// A notification or send on `resource`: the latest one matters for waits nothing
    /// ended, every one for the order it puts before the wait it ends.
    fn signal(&mut self, thread: ThreadKey, resource: ResourceKey, seq: u64) {
        let last = self.last_signal.entry(resource).or_insert(seq);
        *last = (*last).max(seq);
        self.order.signal(resource, thread, seq);
    }

    fn thread(&mut self, thread: ThreadKey) -> &mut ThreadState {
        let trace = self.trace;
        self.threads.entry(thread).or_insert_with(|| ThreadState {
            trace,
            ..ThreadState::default()
        })
    }

    fn job_classes(&mut self, job: ResourceKey, executor: ResourceKey) -> (ClassId, ClassId) {
        let job_class = self.classes.of(job, ResourceKind::Job);
        (job_class, self.classes.of(executor, ResourceKind::Executor))
    }

    fn queued_to(
        &mut self,
        thread: ThreadKey,
        job: ClassId,
        executor: ClassId,
        seq: u64,
        site: Option<Site>,
    ) {
        let evidence = self.evidence(thread, seq, seq, site, "queue", Owed::QueuedTo, false);
        self.graph
            .add(Node::Job(job), Node::Free(executor), evidence);
    }

    #[allow(clippy::too_many_arguments)]
    fn evidence(
        &mut self,
        thread: ThreadKey,
        seq: u64,
        since: u64,
        site: Option<Site>,
        wait: &'static str,
        owed: Owed,
        timed: bool,
    ) -> Evidence {
        let state = self.thread(thread);
        Evidence {
            thread,
            seq,
            since,
            site,
            wait,
            owed,
            gates: state
                .held
                .iter()
                .filter(|h| h.mode == LockMode::Exclusive)
                .map(|h| h.resource)
                .collect(),
            timed,
            context: state.contexts.clone(),
        }
    }

    /// A lock acquisition that may wait: edges from what the thread owes to the
    /// releases it needs, and a double lock if it already holds the lock.
    #[allow(clippy::too_many_arguments)]
    fn lock_wait(
        &mut self,
        thread: ThreadKey,
        resource: ResourceKey,
        mode: LockMode,
        seq: u64,
        site: Option<Site>,
        timed: bool,
        blocked_fair: bool,
    ) {
        let class = self.classes.of(resource, ResourceKind::Mutex);
        let kind = self.classes.info(class).kind;
        // A fair read that blocked while the thread reads already: only a writer queued
        // in between can block it, and that writer waits for this very thread.
        let reentered = blocked_fair && kind == ResourceKind::RwLock;
        let conflicting = |held: LockMode| match mode {
            LockMode::Shared => held == LockMode::Exclusive || reentered,
            LockMode::Upgradable => held != LockMode::Shared,
            LockMode::Exclusive => true,
        };
        let already = self
            .thread(thread)
            .held
            .iter()
            .find(|h| h.resource == resource && conflicting(h.mode))
            .cloned();
        let wait = match mode {
            LockMode::Exclusive => "lock",
            LockMode::Shared => "read",
            LockMode::Upgradable => "upgradable-read",
        };
        if let Some(hold) = already {
            if !timed {
                let evidence = self.evidence(
                    thread,
                    seq,
                    hold.since,
                    site.clone(),
                    wait,
                    Owed::Work,
                    false,
                );
                self.double_locks.push((thread, hold, evidence));
            }
            return;
        }
        let needed: &[LockMode] = match (kind, mode) {
            (ResourceKind::Mutex, _) => &[LockMode::Exclusive],
            (_, LockMode::Shared) => &[LockMode::Exclusive],
            (_, LockMode::Upgradable) => &[LockMode::Exclusive, LockMode::Upgradable],
            (_, LockMode::Exclusive) => {
                &[LockMode::Exclusive, LockMode::Shared, LockMode::Upgradable]
            }
        };
        for &held_mode in needed {
            self.wait_for(
                thread,
                Node::Release(class, held_mode),
                Some(resource),
                seq,
                site.clone(),
                wait,
                timed,
            );
        }
    }

    /// The thread waits for `target`: an edge from each thing it owes.
    #[allow(clippy::too_many_arguments)]
    fn wait_for(
        &mut self,
        thread: ThreadKey,
        target: Node,
        resource: Option<ResourceKey>,
        seq: u64,
        site: Option<Site>,
        wait: &'static str,
        timed: bool,
    ) {
        self.owed_edges(thread, target, resource, seq, &site, wait, timed, false);
        // A wait for something other than a lock, under a lock: worth a word even off
        // any cycle.
        if !matches!(target, Node::Release(..)) {
            let hold = self.threads[&thread]
                .held
                .iter()
                .find(|h| h.mode == LockMode::Exclusive)
                .map(|h| (h.class, h.resource, h.mode, h.site.clone(), h.since));
            if let Some((class, resource, mode, held_at, since)) = hold {
                if !self.under_lock.contains_key(&(class, target)) {
                    let owed = Owed::Hold {
                        resource,
                        mode,
                        site: held_at,
                    };
                    let evidence =
                        self.evidence(thread, seq, since, site.clone(), wait, owed, timed);
                    self.under_lock.insert((class, target), evidence);
                }
            }
        }
        let state = self.thread(thread);
        if state.window.len() == WINDOW {
            state.window.pop_front();
        }
        state.window.push_back(Waited {
            node: target,
            seq,
            site,
            wait,
            timed,
        });
    }

    /// Edges from everything the thread owes now to `target` (`first`: this evidence is
    /// shown before any other).
    #[allow(clippy::too_many_arguments)]
    fn owed_edges(
        &mut self,
        thread: ThreadKey,
        target: Node,
        resource: Option<ResourceKey>,
        seq: u64,
        site: &Option<Site>,
        wait: &'static str,
        timed: bool,
        first: bool,
    ) {
        let mut sources = std::mem::take(&mut self.scratch);
        sources.clear();
        {
            let state = &self.threads[&thread];
            for (index, &(owed, node, since)) in state.producing.iter().enumerate() {
                if Some(owed) != resource {
                    sources.push((node, since, Source::Producing(index)));
                }
            }
            for (index, hold) in state.held.iter().enumerate() {
                if Some(hold.resource) != resource {
                    sources.push((
                        Node::Release(hold.class, hold.mode),
                        hold.since,
                        Source::Hold(index),
                    ));
                }
            }
            if let Some((executor, since)) = state.busy {
                sources.push((Node::Free(executor), since, Source::Busy));
                let runs = self.busy_waits.entry((executor, target)).or_default();
                if runs.len() < JOB_RUNS {
                    runs.insert((thread, since));
                }
            }
        }
        for &(source, since, ref which) in &sources {
            // A worker waiting for a free worker of its own pool is a cycle of one.
            if source == target && !matches!(source, Node::Free(_)) {
                continue;
            }
            if !first && !self.graph.wants(source, target, thread, timed) {
                continue;
            }
            let owed = {
                let state = &self.threads[&thread];
                match *which {
                    Source::Producing(index) => Owed::Producer {
                        resource: state.producing[index].0,
                    },
                    Source::Hold(index) => Owed::Hold {
                        resource: state.held[index].resource,
                        mode: state.held[index].mode,
                        site: state.held[index].site.clone(),
                    },
                    Source::Busy => Owed::Work,
                }
            };
            let evidence = self.evidence(thread, seq, since, site.clone(), wait, owed, timed);
            if first {
                self.graph.add_first(source, target, evidence);
            } else {
                self.graph.add(source, target, evidence);
            }
        }
        self.scratch = sources;
    }

    fn wait_begin(
        &mut self,
        thread: ThreadKey,
        resource: ResourceKey,
        wait: WaitKind,
        timed: bool,
        seq: u64,
        site: Option<Site>,
    ) {
        let node = match wait {
            WaitKind::Lock(mode) => {
                if self.thread(thread).pending_lock != Some(resource) {
                    self.lock_wait(thread, resource, mode, seq, site.clone(), timed, true);
                    self.thread(thread).pending_lock = Some(resource);
                }
                let class = self.classes.of(resource, ResourceKind::Mutex);
                self.thread(thread).open = Some(OpenWait {
                    resource,
                    node: Some(Node::Release(class, LockMode::Exclusive)),
                    kind: wait,
                    seq,
                    site,
                    timed,
                });
                return;
            }
            WaitKind::ReadRecursive => {
                if self.thread(thread).pending_lock != Some(resource) {
                    self.lock_wait(thread, resource, LockMode::Shared, seq, site, timed, false);
                    self.thread(thread).pending_lock = Some(resource);
                }
                return;
            }
            WaitKind::Idle => {
                let executor = self.classes.of(resource, ResourceKind::Executor);
                self.classes.info_mut(executor).workers.insert(thread);
                let state = self.thread(thread);
                state.busy = None;
                state.idle = Some(executor);
                state.window.clear();
                return;
            }
            WaitKind::Condvar => Some(Node::Notify(
                self.classes.of(resource, ResourceKind::Condvar),
            )),
            WaitKind::Barrier => Some(Node::Arrive(
                self.classes.of(resource, ResourceKind::Barrier),
            )),
            WaitKind::Join => {
                let class = self.classes.of(resource, ResourceKind::Thread);
                Some(Node::Exit(class))
            }
            WaitKind::Job => Some(self.job_node(resource)),
            WaitKind::Recv => Some(Node::Send(self.classes.of(resource, ResourceKind::Channel))),
            // Room in a full channel: receives are not recorded, so nothing to wait for.
            WaitKind::Send => None,
            WaitKind::Spin | WaitKind::Event => {
                let kind = self
                    .classes
                    .kind_of(resource)
                    .unwrap_or(ResourceKind::Event);
                let class = self.classes.of(resource, kind);
                Some(match kind {
                    ResourceKind::Barrier => Node::Arrive(class),
                    ResourceKind::Job => self.job_node(resource),
                    ResourceKind::Executor => Node::Free(class),
                    ResourceKind::Condvar => Node::Notify(class),
                    ResourceKind::Channel => Node::Send(class),
                    _ => Node::Event(class),
                })
            }
        };
        if let Some(node) = node {
            self.wait_for(
                thread,
                node,
                Some(resource),
                seq,
                site.clone(),
                wait.as_str(),
                timed,
            );
        }
        self.thread(thread).open = Some(OpenWait {
            resource,
            node,
            kind: wait,
            seq,
            site,
            timed,
        });
    }

    fn job_node(&mut self, job: ResourceKey) -> Node {
        Node::Job(self.classes.of(job, ResourceKind::Job))
    }

    fn wait_end(&mut self, thread: ThreadKey, resource: ResourceKey, end: WaitEnd, seq: u64) {
        let state = self.thread(thread);
        let mut woken_by_signal = false;
        if let Some(open) = state.open.take_if(|w| w.resource == resource) {
            woken_by_signal = end == WaitEnd::Woken
                && matches!(
                    open.kind,
                    WaitKind::Condvar | WaitKind::Recv | WaitKind::Job
                );
        }
        if state.pending_lock == Some(resource) {
            // Woken without taking the lock (a timed wait that gave up).
            state.pending_lock = None;
        }
        if let Some(executor) = state.idle.take() {
            // Out of its idle wait, a worker runs the next item.
            state.busy = Some((executor, seq));
            state.window.clear();
        }
        if woken_by_signal {
            self.order.woken(resource, thread, seq);
        }
    }

    /// The thread produces `node`: it depends on what the thread waited for since it
    /// began its current job (or last produced `node`), and on the job's pickup.
    fn produce(&mut self, thread: ThreadKey, node: Node, seq: u64, site: Option<Site>) {
        let (last, busy, count) = {
            let state = self.thread(thread);
            let last = state.produced.insert(node, seq).unwrap_or(0);
            (last, state.busy, state.window.len())
        };
        for index in 0..count {
            let waited = &self.threads[&thread].window[index];
            if waited.seq <= last
                || waited.node == node
                || !self.graph.wants(node, waited.node, thread, waited.timed)
            {
                continue;
            }
            let waited = waited.clone();
            let owed = Owed::Produced {
                site: site.clone(),
                seq,
            };
            let evidence = self.evidence(
                thread,
                waited.seq,
                waited.seq,
                waited.site,
                waited.wait,
                owed,
                waited.timed,
            );
            self.graph.add(node, waited.node, evidence);
        }
        if let Some((executor, since)) = busy {
            if self.graph.wants(node, Node::Free(executor), thread, false) {
                let owed = Owed::InJob {
                    site: site.clone(),
                    seq,
                };
                let evidence = self.evidence(thread, seq, since, site, "produce", owed, false);
                self.graph.add(node, Node::Free(executor), evidence);
            }
        }
    }

    /// Threads still blocked at the end: what they would have produced next depends on
    /// the wait they are stuck in.
    fn blocked_at_end(&mut self) -> Vec<(ThreadKey, OpenWait)> {
        let blocked: Vec<(ThreadKey, OpenWait)> = self
            .threads
            .iter()
            .filter(|(key, _)| self.ended.contains(key))
            .filter_map(|(&key, state)| state.open.clone().map(|w| (key, w)))
            .collect();
        let unfinished = self
            .threads
            .iter()
            .any(|(key, state)| state.open.is_some() && !self.ended.contains(key));
        if unfinished {
            self.note(
                "a trace has no end line (its recording was not finished): where its threads were last seen waiting is not taken as where they hung".into(),
            );
        }
        for (thread, open) in &blocked {
            // The wait the run ended in is the evidence a report shows first.
            if let Some(node) = open.node {
                let wait = match open.kind {
                    WaitKind::Lock(_) => "lock",
                    kind => kind.as_str(),
                };
                self.owed_edges(
                    *thread,
                    node,
                    Some(open.resource),
                    open.seq,
                    &open.site,
                    wait,
                    open.timed,
                    true,
                );
            }
            let (produced, name, window) = {
                let state = &self.threads[thread];
                (
                    state.produced.keys().copied().collect::<Vec<_>>(),
                    state.name.clone(),
                    state.window.clone(),
                )
            };
            let mut pending = produced;
            if let Some(name) = name {
                pending.push(Node::Exit(self.classes.thread(&name)));
            }
            for node in pending {
                let last = self.threads[thread]
                    .produced
                    .get(&node)
                    .copied()
                    .unwrap_or(0);
                for waited in &window {
                    if waited.seq > last && waited.node != node {
                        let owed = Owed::Produced {
                            site: None,
                            seq: u64::MAX,
                        };
                        let evidence = self.evidence(
                            *thread,
                            waited.seq,
                            waited.seq,
                            waited.site.clone(),
                            waited.wait,
                            owed,
                            waited.timed,
                        );
                        self.graph.add(node, waited.node, evidence);
                    }
                }
            }
        }
        blocked
    }

    /// Ends the analysis: cycles, double locks, waits nothing could end.
    pub fn finish(mut self) -> Prediction {
        let blocked = self.blocked_at_end();
        self.order.settle();
        if self.order.dropped > 0 {
            let dropped = self.order.dropped;
            self.note(format!(
                "{dropped} wake-ups past the first {} were not used to order events",
                happens_before::MAX_WAKE_UPS
            ));
        }
        if self.classes.undescribed > 0 {
            let count = self.classes.undescribed;
            self.note(format!(
                "{count} resources were named by events but never described; they are named by their keys"
            ));
        }
        if self.lost > 0 {
            let lost = self.lost;
            self.note(format!(
                "{lost} events are not in the trace (dropped by the recorder, or older than a flight recorder keeps); the threads they belonged to were followed afresh after each gap (a cycle through the gap can be missed, never made up)"
            ));
        }
        if self.truncated {
            self.note("the trace was cut short: every complete event was analysed".into());
        }
        let findings = findings::report(&self, &blocked);
        Prediction {
            findings,
            notes: self.notes,
            events: self.events,
            threads: self.threads.len(),
            classes: self.classes.count(),
            edges: self.graph.edge_count(),
        }
    }

    fn thread_name(&self, thread: ThreadKey) -> String {
        self.threads
            .get(&thread)
            .and_then(|s| s.name.clone())
            .unwrap_or_else(|| format!("thread #{}", thread.0))
    }
}

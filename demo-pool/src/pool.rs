//! The worker pool of one shard: N threads, a priority queue (admin jobs before query
//! jobs, first in first out within a priority), and resizes numbered by generation.
//!
//! A query job takes the index ("spec") read lock, collects the matches, drops the spec
//! lock, then (if it loads fields) takes the gil to read the keyspace, then replies.
//! An admin job waits at the shrink barrier; if its resize says so, the worker then exits.

use crate::data::{answer, Answer, Query};
use crate::shard::ShardState;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use waitgraph::sync::{channel, Barrier, Condvar, Executor, Job, Mutex};

/// Where a query's answer goes.
pub type Reply = channel::Sender<Result<Answer, String>>;

/// Work for a worker.
pub enum Work {
    Query {
        job: Job,
        query: Query,
        reply: Reply,
    },
    Admin {
        job: Job,
        barrier: Arc<Barrier>,
        exit: bool,
    },
    /// Any other work (the scenario catalogue's).
    Closure {
        job: Job,
        work: Box<dyn FnOnce() + Send>,
    },
}

#[derive(Default)]
pub struct Queue {
    admin: VecDeque<Work>,
    queries: VecDeque<Work>,
    shutdown: bool,
}

impl Queue {
    fn pop(&mut self) -> Option<Work> {
        self.admin.pop_front().or_else(|| self.queries.pop_front())
    }
}

/// A shard's worker pool.
pub struct Pool {
    pub executor: Executor,
    queue: Arc<(Mutex<Queue>, Condvar)>,
    /// Threads running now.
    live: Arc<AtomicUsize>,
    /// What the last resize asked for.
    pub target: AtomicUsize,
    threads: std::sync::Mutex<Vec<std::thread::JoinHandle<()>>>,
    state: Arc<ShardState>,
    name: String,
    /// Test gate: one query waits between dropping the spec lock and taking the gil
    /// until the shrink has begun, making the incident's interleaving certain.
    pub gate: Arc<Gate>,
}

/// See [`Pool::gate`].
#[derive(Default)]
pub struct Gate {
    pub armed: AtomicBool,
    pub shrink_started: AtomicBool,
    pub held: AtomicUsize,
    pub wanted: AtomicUsize,
    /// Hold until a blocking revive has begun, rather than the shrink.
    pub until_revive: AtomicBool,
    pub revive_started: AtomicBool,
}

impl Pool {
    pub fn new(name: &str, state: Arc<ShardState>) -> Pool {
        Pool {
            executor: Executor::new(name.to_string()),
            queue: Arc::new((
                Mutex::with_name(format!("{name}-queue"), Queue::default()),
                Condvar::named("work-queued"),
            )),
            live: Arc::new(AtomicUsize::new(0)),
            target: AtomicUsize::new(0),
            threads: std::sync::Mutex::new(Vec::new()),
            state,
            name: name.to_string(),
            gate: Arc::new(Gate::default()),
        }
    }

    pub fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Starts `count` more worker threads.
    pub fn grow(&self, count: usize) {
        let mut threads = self.threads.lock().unwrap();
        for _ in 0..count {
            let index = threads.len();
            let worker = Worker {
                executor: self.executor.clone(),
                queue: self.queue.clone(),
                live: self.live.clone(),
                state: self.state.clone(),
                gate: self.gate.clone(),
            };
            self.live.fetch_add(1, Ordering::SeqCst);
            let handle = std::thread::Builder::new()
                .name(format!("{}-{index}", self.name))
                .spawn(move || worker.run())
                .expect("spawn worker");
            threads.push(handle);
        }
        // Wait until they serve, so a shrink right after sees them enrolled.
        while self.executor.workers() < self.live() && waitgraph::enabled() {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Queues a query; its `job` is the request the client waits for.
    pub fn submit_query(&self, job: Job, query: Query, reply: Reply) {
        self.push(Work::Query { job, query, reply });
    }

    /// Queues arbitrary work at query priority.
    pub fn submit_closure(&self, job: Job, work: Box<dyn FnOnce() + Send>) {
        self.push(Work::Closure { job, work });
    }

    /// Queues `count` admin jobs at top priority, all waiting at `barrier`; `exit` says
    /// whether the worker leaves after the barrier.
    pub fn submit_admin(&self, count: usize, barrier: &Arc<Barrier>, exit: bool) -> Vec<Job> {
        let jobs: Vec<Job> = (0..count).map(|_| self.executor.queue()).collect();
        let (queue, queued) = &*self.queue;
        let mut queue = queue.lock();
        for job in &jobs {
            queue.admin.push_back(Work::Admin {
                job: job.clone(),
                barrier: barrier.clone(),
                exit,
            });
        }
        drop(queue);
        queued.notify_all();
        jobs
    }

    /// Takes back admin jobs that no worker has started.
    pub fn withdraw_admin(&self, jobs: &[Job]) -> usize {
        let withdrawn = jobs.iter().filter(|job| job.cancel()).count();
        let (queue, _) = &*self.queue;
        queue
            .lock()
            .admin
            .retain(|work| !matches!(work, Work::Admin { job, .. } if job.is_done()));
        withdrawn
    }

    /// Queues work at query priority (admin jobs go through `submit_admin`).
    fn push(&self, work: Work) {
        let (queue, queued) = &*self.queue;
        queue.lock().queries.push_back(work);
        queued.notify_one();
    }

    /// Stops every worker and answers what is still queued with an error; joins them.
    pub fn shut_down(&self) {
        let (queue, queued) = &*self.queue;
        let leftovers: Vec<Work> = {
            let mut queue = queue.lock();
            queue.shutdown = true;
            let queue = &mut *queue;
            queue
                .queries
                .drain(..)
                .chain(queue.admin.drain(..))
                .collect()
        };
        queued.notify_all();
        for work in leftovers {
            if let Work::Query { job, reply, .. } = work {
                job.run(|| reply.send(Err("shutting down".into())));
            }
        }
        let threads: Vec<_> = self.threads.lock().unwrap().drain(..).collect();
        for thread in threads {
            let _ = thread.join();
        }
    }

    /// Takes the queries still queued: a pool that shrank to nothing hands them to the
    /// main thread, which runs queries itself when there are no workers.
    pub fn take_queries(&self) -> Vec<(Query, Reply)> {
        let queued: Vec<Work> = self.queue.0.lock().queries.drain(..).collect();
        queued
            .into_iter()
            .filter_map(|work| match work {
                Work::Query { job, query, reply } => {
                    job.run(|| ());
                    Some((query, reply))
                }
                Work::Admin { .. } | Work::Closure { .. } => None,
            })
            .collect()
    }
}

struct Worker {
    executor: Executor,
    queue: Arc<(Mutex<Queue>, Condvar)>,
    live: Arc<AtomicUsize>,
    state: Arc<ShardState>,
    gate: Arc<Gate>,
}

impl Worker {
    fn run(self) {
        let _serving = self.executor.enroll();
        loop {
            let next = self.executor.idle(|| {
                let (queue, queued) = &*self.queue;
                let mut queue = queue.lock();
                loop {
                    if let Some(work) = queue.pop() {
                        return Some(work);
                    }
                    if queue.shutdown {
                        return None;
                    }
                    queued.wait(&mut queue);
                }
            });
            let Some(work) = next else { break };
            match work {
                Work::Query { job, query, reply } => {
                    job.run(|| run_query(&self.state, &query, &reply, Some(&self.gate)));
                }
                Work::Admin { job, barrier, exit } => {
                    let Some(result) = job.run(|| barrier.wait()) else {
                        continue;
                    };
                    if exit && !result.is_cancelled() {
                        break;
                    }
                }
                Work::Closure { job, work } => {
                    job.run(work);
                }
            }
        }
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One query, as the host runs it: spec read lock, matches, drop the spec lock, then the
/// gil if fields are loaded. `gate`: see [`Pool::gate`].
#[waitgraph::instrument]
pub fn run_query(state: &ShardState, query: &Query, reply: &Reply, gate: Option<&Gate>) {
    let matches = {
        let spec = state.spec.read();
        let matches = spec.matches(&query.tag);
        work_per_document(matches.len(), SEARCH_COST);
        matches
    };
    let result = if query.load_fields || query.aggregate {
        if let Some(gate) = gate {
            hold_at_gate(gate);
        }
        let keyspace = state.gil.lock();
        work_per_document(matches.len(), LOAD_COST);
        answer(query, &matches, &keyspace)
    } else {
        answer(query, &matches, &Default::default())
    };
    let _ = reply.send(Ok(result));
}

/// Searching the index (under the spec read lock) and loading a document from the host's
/// keyspace (opening the key, reading its fields, under the gil) cost real time in the
/// host. The demo's documents are in memory, so that work is stood in for, per matched
/// document, in rounds of a cheap hash: searching costs more than loading, as it does
/// when the results are paged.
pub const SEARCH_COST: u64 = 48;
pub const LOAD_COST: u64 = 8;

pub fn work_per_document(documents: usize, rounds: u64) {
    let mut checksum = 0u64;
    for i in 0..documents as u64 * rounds {
        checksum = std::hint::black_box(checksum.wrapping_mul(31).wrapping_add(i));
    }
    std::hint::black_box(checksum);
}

/// Holds this query between the spec lock and the gil until the shrink has begun, if
/// the gate is armed and wants another query held.
fn hold_at_gate(gate: &Gate) {
    if !gate.armed.load(Ordering::SeqCst) {
        return;
    }
    let wanted = gate.wanted.load(Ordering::SeqCst);
    let taken = gate.held.fetch_add(1, Ordering::SeqCst);
    if taken >= wanted {
        return;
    }
    let released = if gate.until_revive.load(Ordering::SeqCst) {
        &gate.revive_started
    } else {
        &gate.shrink_started
    };
    while !released.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    // The shrink holds the gil by now; give it a moment to queue its admin jobs.
    std::thread::sleep(Duration::from_millis(20));
}

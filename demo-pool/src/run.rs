//! One run: shards under client load, `CONFIG SET WORKERS` on shard 0 mid-load (or while
//! idle), every reply checked against the oracle, the worker threads counted afterwards.

use crate::coordinator::Coordinator;
use crate::data::{documents, normalised, oracle, query_mix, Answer, Document, Query};
use crate::shard::{Pending, Shard};
use crate::shrink::Variant;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Queries a client keeps in flight on a single shard.
const PIPELINE: usize = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShrinkAt {
    UnderLoad,
    Idle,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub variant: Variant,
    pub shards: usize,
    pub workers: usize,
    pub docs: usize,
    pub clients: usize,
    /// One target, or several applied in turn (8 -> 4 -> 2 -> 1 -> 0).
    pub shrink_to: Vec<usize>,
    pub shrink_at: ShrinkAt,
    pub report: Option<PathBuf>,
    /// Where to record the run's trace (every thread's events), if anywhere.
    pub trace: Option<PathBuf>,
    /// Clients send only searches that load no fields (NOCONTENT).
    pub no_content: bool,
    /// Test gate: hold this many queries between the spec lock and the gil until the
    /// shrink has begun.
    pub gate: usize,
    /// How long the load runs before and after the command.
    pub load_for: Duration,
    /// After the shrinks, grow back to this many workers the pre-fix way (waiting for
    /// every live worker under the gil).
    pub revive_blocking: Option<usize>,
    /// Sample the registry size and resident memory through the run, and fail it if they
    /// grow (`run --watch-memory`).
    pub watch_memory: bool,
    /// Keep only each thread's last this many events (a flight recorder), written when
    /// the watchdog reports and at the end.
    pub trace_last: Option<usize>,
    /// The watchdog also predicts, in the running program.
    pub predict: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            variant: Variant::Buggy,
            shards: 1,
            workers: 8,
            docs: 1000,
            clients: 20,
            shrink_to: vec![0],
            shrink_at: ShrinkAt::UnderLoad,
            report: None,
            trace: None,
            no_content: false,
            gate: 0,
            load_for: Duration::from_millis(300),
            revive_blocking: None,
            watch_memory: false,
            trace_last: None,
            predict: false,
        }
    }
}

/// What a completed run saw.
#[derive(Debug, Default)]
pub struct Outcome {
    pub sent: u64,
    pub answered: u64,
    pub errors: u64,
    pub wrong: u64,
    pub command_results: Vec<Result<(), String>>,
    pub command_time: Duration,
    pub workers_left: usize,
    pub threads_before: Option<usize>,
    pub threads_after: Option<usize>,
    /// With `watch_memory`: the footprint's verdict (`Err`: it grew).
    pub footprint: Option<Result<String, String>>,
    /// Threads of the process that ended between the command and the moment the pool
    /// reached its target: the workers that left (from the process's own thread list).
    pub threads_exited: Option<isize>,
}

impl Outcome {
    /// Every query got exactly one reply or one explicit error, every reply was right.
    pub fn all_answered(&self) -> bool {
        self.sent == self.answered + self.errors && self.wrong == 0
    }
}

/// The cluster: shards and, with more than one, a coordinator per shard.
struct Cluster {
    shards: Vec<Arc<Shard>>,
    coordinators: Vec<Coordinator>,
}

impl Cluster {
    fn start(options: &Options, docs: &[Document]) -> Cluster {
        let cluster = options.shards > 1;
        let shards: Vec<Arc<Shard>> = (0..options.shards)
            .map(|id| {
                let mine: Vec<Document> = docs
                    .iter()
                    .filter(|d| d.id as usize % options.shards == id)
                    .cloned()
                    .collect();
                Shard::start(id, mine, options.workers, options.variant, cluster)
            })
            .collect();
        let coordinators = if cluster {
            (0..options.shards)
                .map(|home| Coordinator::start(home, shards.clone()))
                .collect()
        } else {
            Vec::new()
        };
        Cluster {
            shards,
            coordinators,
        }
    }

    fn query(&self, client: usize, query: Query) -> Result<Answer, String> {
        match self
            .coordinators
            .get(client % self.coordinators.len().max(1))
        {
            Some(coordinator) => coordinator.query(query),
            None => self.shards[0].query(query),
        }
    }

    fn shut_down(self) {
        for coordinator in self.coordinators {
            coordinator.shut_down();
        }
        for shard in &self.shards {
            shard.shut_down();
        }
    }
}

#[derive(Default)]
struct Tally {
    sent: AtomicU64,
    answered: AtomicU64,
    errors: AtomicU64,
    wrong: AtomicU64,
}

/// Runs the scenario the options describe. Returns when it completes; a deadlock ends
/// the process from the watchdog (status 3) instead.
pub fn run(options: &Options) -> Outcome {
    let docs = documents(options.docs);
    let mix: Vec<(Query, Answer)> = query_mix(!options.no_content)
        .into_iter()
        .map(|q| {
            let a = oracle(&q, &docs);
            (q, normalised(&a))
        })
        .collect();
    let threads_before = thread_count();
    let watch = options
        .watch_memory
        .then(|| crate::footprint::watch(Duration::from_millis(500)));
    let cluster = Arc::new(Cluster::start(options, &docs));
    let shard = cluster.shards[0].clone();
    let gate = &shard.pool.gate;
    gate.wanted.store(options.gate, Ordering::SeqCst);
    gate.armed.store(options.gate > 0, Ordering::SeqCst);
    gate.until_revive
        .store(options.revive_blocking.is_some(), Ordering::SeqCst);

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let start_clients = |tally: &Arc<Tally>,
                         stop: &Arc<AtomicBool>|
     -> Vec<std::thread::JoinHandle<()>> {
        (0..options.clients)
            .map(|client| {
                let (cluster, tally, stop, mix) =
                    (cluster.clone(), tally.clone(), stop.clone(), mix.clone());
                std::thread::Builder::new()
                    .name(format!("client-{client}"))
                    .spawn(move || {
                        let mut i = client;
                        let check = |result: Result<Answer, String>, expected: &Answer| match result
                        {
                            Ok(answer) => {
                                tally.answered.fetch_add(1, Ordering::SeqCst);
                                if normalised(&answer) != *expected {
                                    tally.wrong.fetch_add(1, Ordering::SeqCst);
                                }
                            }
                            Err(_) => {
                                tally.errors.fetch_add(1, Ordering::SeqCst);
                            }
                        };
                        // Through a coordinator a client waits for each answer; on a
                        // single shard it keeps two queries in flight, as pipelining
                        // clients do, so the workers are never short of work.
                        let mut in_flight: VecDeque<(Pending, &Answer)> = VecDeque::new();
                        while !stop.load(Ordering::SeqCst) {
                            let (query, expected) = &mix[i % mix.len()];
                            i += 7;
                            tally.sent.fetch_add(1, Ordering::SeqCst);
                            if !cluster.coordinators.is_empty() {
                                check(cluster.query(client, query.clone()), expected);
                                continue;
                            }
                            match cluster.shards[0].submit(query.clone()) {
                                Ok(pending) => in_flight.push_back((pending, expected)),
                                Err(error) => check(Err(error), expected),
                            }
                            if in_flight.len() >= PIPELINE {
                                let (pending, expected) = in_flight.pop_front().expect("in flight");
                                check(pending.wait(), expected);
                            }
                        }
                        for (pending, expected) in in_flight {
                            check(pending.wait(), expected);
                        }
                    })
                    .expect("spawn client")
            })
            .collect()
    };

    let mut clients = start_clients(&tally, &stop);
    std::thread::sleep(options.load_for);
    if options.shrink_at == ShrinkAt::Idle {
        stop.store(true, Ordering::SeqCst);
        for client in clients.drain(..) {
            let _ = client.join();
        }
    }
    let threads_at_command = thread_count();
    let began = Instant::now();
    // The command comes from an admin client of its own, as CONFIG SET does.
    let (admin_shard, targets, revive) = (
        shard.clone(),
        options.shrink_to.clone(),
        options.revive_blocking,
    );
    let command_results: Vec<Result<(), String>> = std::thread::Builder::new()
        .name("admin-client".into())
        .spawn(move || {
            let mut results: Vec<Result<(), String>> = targets
                .iter()
                .map(|&target| admin_shard.config_set_workers(target))
                .collect();
            if let Some(count) = revive {
                results.push(admin_shard.revive_blocking(count));
            }
            results
        })
        .expect("spawn admin client")
        .join()
        .expect("admin client");
    let command_time = began.elapsed();
    // Workers asked to leave have left (async shrinks finish in the background, with the
    // load still running); the process's own thread list must agree.
    let expected = shard.pool.target.load(Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(10);
    while shard.pool.live() != expected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let workers_left = shard.pool.live();
    // A thread that has left the pool is gone from the list a moment after its exit.
    std::thread::sleep(Duration::from_millis(20));
    let threads_exited = match (threads_at_command, thread_count()) {
        (Some(before), Some(now)) => Some(before as isize - now as isize),
        _ => None,
    };
    if options.shrink_at == ShrinkAt::UnderLoad {
        std::thread::sleep(options.load_for);
        stop.store(true, Ordering::SeqCst);
        for client in clients {
            let _ = client.join();
        }
    }
    let footprint = watch.map(|watch| crate::footprint::verdict(&watch.finish()));
    let cluster = Arc::try_unwrap(cluster).ok().expect("clients are done");
    cluster.shut_down();
    let threads_after = thread_count();
    Outcome {
        sent: tally.sent.load(Ordering::SeqCst),
        answered: tally.answered.load(Ordering::SeqCst),
        errors: tally.errors.load(Ordering::SeqCst),
        wrong: tally.wrong.load(Ordering::SeqCst),
        command_results,
        command_time,
        workers_left,
        threads_before,
        threads_after,
        threads_exited,
        footprint,
    }
}

/// Threads of this process, from the process's own thread list (Linux).
pub fn thread_count() -> Option<usize> {
    std::fs::read_dir("/proc/self/task")
        .ok()
        .map(|entries| entries.count())
}

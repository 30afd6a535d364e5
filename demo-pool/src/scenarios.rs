//! The catalogue: related hazards in the same code, each with the outcome it must have.

use crate::data::{documents, Query};
use crate::pool::Pool;
use crate::run::{run, Options, ShrinkAt};
use crate::shard::ShardState;
use crate::shrink::Variant;
use std::sync::Arc;
use std::time::Duration;
use waitgraph::sync::{channel, Job, Mutex, RwLock};

/// What a scenario must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// The watchdog reports a deadlock and the process exits with status 3.
    Deadlock,
    /// It completes, every query answered, no finding.
    Completes,
}

pub struct Scenario {
    pub name: &'static str,
    pub about: &'static str,
    pub expected: Expected,
    pub run: fn() -> Result<(), String>,
}

pub fn catalogue() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "partial-shrink",
            about: "buggy shrink 8 -> 2 while 3 workers wait for the gil: fewer free workers (5) than exits (6)",
            expected: Expected::Deadlock,
            run: || checked(Options { workers: 8, shrink_to: vec![2], gate: 3, ..Options::default() }),
        },
        Scenario {
            name: "revive-while-draining",
            about: "the shipped shrink 8 -> 0, then growing back at once the pre-fix way: waiting under the gil for every live worker",
            expected: Expected::Deadlock,
            run: || {
                checked(Options {
                    variant: Variant::AsyncShrink,
                    shrink_to: vec![0],
                    revive_blocking: Some(8),
                    // One query is still on its way to the gil when the revive starts.
                    gate: 1,
                    ..Options::default()
                })
            },
        },
        Scenario {
            name: "self-queued-pool",
            about: "every worker queues a job to its own pool and waits for it",
            expected: Expected::Deadlock,
            run: self_queued_pool,
        },
        Scenario {
            name: "drain-under-gil",
            about: "the main thread, holding the gil, waits for the pool to drain while queries need the gil",
            expected: Expected::Deadlock,
            run: drain_under_gil,
        },
        Scenario {
            name: "spec-across-gil",
            about: "a query keeps the spec read lock while taking the gil; the main thread writes the spec under the gil",
            expected: Expected::Deadlock,
            run: spec_across_gil,
        },
        Scenario {
            name: "coordinator-queue-full",
            about: "coordinator threads hold every pending-request slot of a connection while the IO thread needs one to deliver their replies",
            expected: Expected::Deadlock,
            run: coordinator_queue_full,
        },
        Scenario {
            name: "healthy-async-shrink",
            about: "control: the shipped fix, 8 -> 0 under the same load",
            expected: Expected::Completes,
            run: || checked(Options { variant: Variant::AsyncShrink, ..Options::default() }),
        },
        Scenario {
            name: "healthy-idle-shrink",
            about: "control: the buggy shrink while idle (no query in flight): completes, as upstream",
            expected: Expected::Completes,
            run: || checked(Options { shrink_at: ShrinkAt::Idle, ..Options::default() }),
        },
        Scenario {
            name: "healthy-no-content",
            about: "control: the buggy shrink under a load that loads no fields (NOCONTENT): completes, as upstream",
            expected: Expected::Completes,
            run: || checked(Options { no_content: true, ..Options::default() }),
        },
        Scenario {
            name: "healthy-no-shrink",
            about: "control: the same load, no command at all",
            expected: Expected::Completes,
            run: || checked(Options { shrink_to: vec![8], ..Options::default() }),
        },
    ]
}

/// Runs `options` and checks that every query was answered correctly.
fn checked(options: Options) -> Result<(), String> {
    let outcome = run(&options);
    if !outcome.all_answered() {
        return Err(format!("queries not all answered correctly: {outcome:?}"));
    }
    Ok(())
}

fn self_queued_pool() -> Result<(), String> {
    let state = Arc::new(ShardState {
        gil: Mutex::named("gil", Default::default()),
        spec: RwLock::named("spec", Default::default()),
    });
    let pool = Arc::new(Pool::new("workers", state));
    pool.target.store(4, std::sync::atomic::Ordering::SeqCst);
    pool.grow(4);
    // Four queries whose "reply" is to queue a follow-up job to the same pool and wait.
    let (reply, _answers) = channel::unbounded();
    // Every worker is inside one of these jobs before any queues its follow-up.
    let all_busy = Arc::new(std::sync::Barrier::new(4));
    for _ in 0..4 {
        let (pool2, reply2, all_busy) = (pool.clone(), reply.clone(), all_busy.clone());
        let job = pool.executor.queue();
        let nested = move || {
            all_busy.wait();
            let follow_up = pool2.executor.queue();
            pool2.submit_query(
                follow_up.clone(),
                Query {
                    tag: "red".into(),
                    aggregate: false,
                    load_fields: false,
                },
                reply2,
            );
            follow_up.wait();
        };
        pool.submit_closure(job, Box::new(nested));
    }
    std::thread::sleep(Duration::from_secs(30));
    Err("the pool did not deadlock".into())
}

fn drain_under_gil() -> Result<(), String> {
    let docs = documents(100);
    let state = Arc::new(ShardState {
        gil: Mutex::named("gil", docs.iter().map(|d| (d.id, d.clone())).collect()),
        spec: RwLock::named("spec", crate::data::Index::build(&docs)),
    });
    let pool = Pool::new("workers", state.clone());
    pool.target.store(2, std::sync::atomic::Ordering::SeqCst);
    pool.grow(2);
    std::thread::Builder::new()
        .name("main".into())
        .spawn(move || {
            let _gil = state.gil.lock();
            let (reply, _answers) = channel::unbounded();
            for _ in 0..4 {
                pool.submit_query(
                    pool.executor.queue(),
                    Query {
                        tag: "red".into(),
                        aggregate: true,
                        load_fields: true,
                    },
                    reply.clone(),
                );
            }
            // Drain: wait until everything queued so far has run.
            let marker: Job = pool.executor.queue();
            pool.submit_closure(marker.clone(), Box::new(|| ()));
            marker.wait();
        })
        .map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_secs(30));
    Err("the drain did not deadlock".into())
}

/// A connection's pending-request slots (50 upstream, 4 here): a request holds its slot
/// until its reply is delivered, and delivering a reply takes a slot too.
struct Slots {
    free: Mutex<usize>,
    freed: waitgraph::sync::Condvar,
}

impl Slots {
    fn take(&self) {
        let mut free = self.free.lock();
        while *free == 0 {
            self.freed.wait(&mut free);
        }
        *free -= 1;
    }

    fn give_back(&self) {
        *self.free.lock() += 1;
        self.freed.notify_one();
    }
}

fn coordinator_queue_full() -> Result<(), String> {
    let io = waitgraph::sync::Executor::new("io");
    let slots = Arc::new(Slots {
        free: Mutex::named("pending-slots", 4),
        freed: waitgraph::sync::Condvar::named("slot-freed"),
    });
    // Who can free a slot: the coordinator threads holding one.
    let slot_freed = waitgraph::sync::Event::new("a free request slot");
    let (requests, inbox) = channel::named::<Job>("io-requests", None);
    let (io2, slots2, slot_freed2) = (io.clone(), slots.clone(), slot_freed.clone());
    std::thread::Builder::new()
        .name("io".into())
        .spawn(move || {
            let _serving = io2.enroll();
            while let Ok(job) = io2.idle(|| inbox.recv()) {
                job.run(|| {
                    // Delivering the reply needs a slot of its own.
                    slot_freed2.waiting(|| slots2.take());
                    slots2.give_back();
                });
            }
        })
        .map_err(|e| e.to_string())?;
    let all_sent = Arc::new(std::sync::Barrier::new(4));
    for i in 0..4 {
        let (io, requests, slots, slot_freed, all_sent) = (
            io.clone(),
            requests.clone(),
            slots.clone(),
            slot_freed.clone(),
            all_sent.clone(),
        );
        std::thread::Builder::new()
            .name(format!("coord-{i}"))
            .spawn(move || {
                slots.take();
                let _frees_a_slot = slot_freed.declare_producer();
                all_sent.wait(); // every slot is held before the first request goes out
                let job = io.queue();
                if requests.send(job.clone()).is_ok() {
                    job.wait();
                }
                slots.give_back();
            })
            .map_err(|e| e.to_string())?;
    }
    std::thread::sleep(Duration::from_secs(30));
    Err("the coordinator did not deadlock".into())
}

fn spec_across_gil() -> Result<(), String> {
    let state = Arc::new(ShardState {
        gil: Mutex::named("gil", Default::default()),
        spec: RwLock::named("spec", Default::default()),
    });
    let both = Arc::new(std::sync::Barrier::new(2));
    let (state2, both2) = (state.clone(), both.clone());
    std::thread::Builder::new()
        .name("workers-0".into())
        .spawn(move || {
            let _spec = state2.spec.read(); // kept across the gil: the inversion
            both2.wait();
            let _gil = state2.gil.lock();
        })
        .map_err(|e| e.to_string())?;
    std::thread::Builder::new()
        .name("main".into())
        .spawn(move || {
            let _gil = state.gil.lock();
            both.wait();
            state.spec.write().by_tag.clear(); // an index update, under the gil
        })
        .map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_secs(30));
    Err("the inversion did not deadlock".into())
}

//! Synthetic traces for benchmarks and tests: many threads doing the same kinds of
//! things a server does, generated on the fly (so a trace of 100 million events costs no
//! memory), in the order a recorder writes them.
//!
//! | shape | each thread, over and over |
//! |---|---|
//! | [`Shape::LockHeavy`] | takes two of the locks in one global order, releases them (no cycle) |
//! | [`Shape::WaitHeavy`] | runs a job of the pool: takes a lock, notifies, sends, waits on a condvar and for another job, arrives at a barrier |
//!
//! ```
//! use waitgraph_analyzer::synthetic::{Shape, Synthetic};
//! let lines: Vec<_> = Synthetic::new(Shape::LockHeavy, 1_000).collect();
//! assert!(lines.len() > 1_000);
//! ```

use std::borrow::Cow;
use waitgraph_core::model::*;

/// What the threads of a synthetic trace do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    LockHeavy,
    WaitHeavy,
}

const THREADS: u64 = 16;
const LOCKS: u64 = 64;
/// Instances are reused round-robin, so the trace describes a bounded number of them.
const JOBS: u64 = 256;
const POOL: u64 = 1;
const CONDVAR: u64 = 2;
const CHANNEL: u64 = 3;
const BARRIER: u64 = 4;
const LOCK_BASE: u64 = 100;
const JOB_BASE: u64 = 1_000;

/// An iterator over the lines of a synthetic trace of about `events` events.
pub struct Synthetic {
    shape: Shape,
    events: u64,
    seq: u64,
    pending: std::collections::VecDeque<TraceLine>,
    step: u64,
}

impl Synthetic {
    pub fn new(shape: Shape, events: u64) -> Synthetic {
        let mut pending = std::collections::VecDeque::new();
        pending.push_back(TraceLine::Trace(TraceHeader::current()));
        for thread in 1..=THREADS {
            pending.push_back(TraceLine::Thread(ThreadInfo {
                key: ThreadKey(thread),
                name: Some(format!("worker-{thread}")),
            }));
        }
        let describe = |key: u64, kind: ResourceKind, name: String| {
            TraceLine::Resource(ResourceInfo {
                key: ResourceKey(key),
                kind,
                class: Class::Named(Cow::Owned(name)),
                created: Site {
                    file: Cow::Borrowed("src/server.rs"),
                    line: key as u32,
                    column: 1,
                    function: None,
                },
            })
        };
        for lock in 0..LOCKS {
            pending.push_back(describe(
                LOCK_BASE + lock,
                ResourceKind::Mutex,
                format!("lock-{lock}"),
            ));
        }
        pending.push_back(describe(POOL, ResourceKind::Executor, "pool".into()));
        pending.push_back(describe(CONDVAR, ResourceKind::Condvar, "changed".into()));
        pending.push_back(describe(CHANNEL, ResourceKind::Channel, "replies".into()));
        pending.push_back(describe(BARRIER, ResourceKind::Barrier, "round".into()));
        for job in 0..JOBS {
            pending.push_back(describe(
                JOB_BASE + job,
                ResourceKind::Job,
                "job on pool".into(),
            ));
        }
        Synthetic {
            shape,
            events,
            seq: 0,
            pending,
            step: 0,
        }
    }

    fn push(&mut self, thread: u64, kind: EventKind) {
        self.seq += 1;
        self.pending.push_back(TraceLine::Event(Event {
            seq: self.seq,
            thread: ThreadKey(thread),
            kind,
            site: Some(Site {
                file: Cow::Borrowed("src/server.rs"),
                line: (self.seq % 512) as u32,
                column: 9,
                function: None,
            }),
        }));
    }

    /// One round of one thread's work.
    fn round(&mut self) {
        let step = self.step;
        self.step += 1;
        let thread = 1 + step % THREADS;
        let x = LockMode::Exclusive;
        match self.shape {
            Shape::LockHeavy => {
                let first = step % (LOCKS - 1);
                let second = first + 1 + (step / LOCKS) % (LOCKS - first - 1);
                let (a, b) = (
                    ResourceKey(LOCK_BASE + first),
                    ResourceKey(LOCK_BASE + second),
                );
                self.push(
                    thread,
                    EventKind::LockAcquired {
                        resource: a,
                        mode: x,
                    },
                );
                self.push(
                    thread,
                    EventKind::LockAcquired {
                        resource: b,
                        mode: x,
                    },
                );
                self.push(
                    thread,
                    EventKind::LockReleased {
                        resource: b,
                        mode: x,
                    },
                );
                self.push(
                    thread,
                    EventKind::LockReleased {
                        resource: a,
                        mode: x,
                    },
                );
            }
            Shape::WaitHeavy => {
                let job = ResourceKey(JOB_BASE + step % JOBS);
                let other = ResourceKey(JOB_BASE + (step + 1) % JOBS);
                let pool = ResourceKey(POOL);
                let lock = ResourceKey(LOCK_BASE + step % LOCKS);
                self.push(
                    thread,
                    EventKind::WaitBegin {
                        resource: pool,
                        wait: WaitKind::Idle,
                        timed: false,
                    },
                );
                self.push(
                    thread,
                    EventKind::WaitEnd {
                        resource: pool,
                        end: WaitEnd::Woken,
                    },
                );
                self.push(
                    thread,
                    EventKind::JobStarted {
                        job,
                        executor: pool,
                    },
                );
                self.push(
                    thread,
                    EventKind::LockAcquired {
                        resource: lock,
                        mode: x,
                    },
                );
                self.push(
                    thread,
                    EventKind::Notify {
                        resource: ResourceKey(CONDVAR),
                        all: false,
                    },
                );
                self.push(
                    thread,
                    EventKind::LockReleased {
                        resource: lock,
                        mode: x,
                    },
                );
                self.push(
                    thread,
                    EventKind::Send {
                        resource: ResourceKey(CHANNEL),
                    },
                );
                self.push(
                    thread,
                    EventKind::WaitBegin {
                        resource: ResourceKey(CONDVAR),
                        wait: WaitKind::Condvar,
                        timed: true,
                    },
                );
                self.push(
                    thread,
                    EventKind::WaitEnd {
                        resource: ResourceKey(CONDVAR),
                        end: WaitEnd::TimedOut,
                    },
                );
                self.push(
                    thread,
                    EventKind::JobQueued {
                        job: other,
                        executor: pool,
                    },
                );
                self.push(
                    thread,
                    EventKind::WaitBegin {
                        resource: other,
                        wait: WaitKind::Job,
                        timed: true,
                    },
                );
                self.push(
                    thread,
                    EventKind::WaitEnd {
                        resource: other,
                        end: WaitEnd::Woken,
                    },
                );
                self.push(
                    thread,
                    EventKind::BarrierArrive {
                        resource: ResourceKey(BARRIER),
                        parties: THREADS,
                    },
                );
                self.push(
                    thread,
                    EventKind::JobFinished {
                        job,
                        executor: pool,
                    },
                );
            }
        }
    }
}

impl Iterator for Synthetic {
    type Item = TraceLine;

    fn next(&mut self) -> Option<TraceLine> {
        if self.pending.is_empty() {
            if self.seq >= self.events {
                return None;
            }
            self.round();
        }
        self.pending.pop_front()
    }
}

//! A cycle through a free worker of a pool closes only when every worker can be taken
//! by a job stuck on the cycle: a pool with a worker to spare is not flagged.

use waitgraph_core::model::*;
use waitgraph_core::predict::{Prediction, Predictor};
use waitgraph_core::report::FindingKind;

const X: LockMode = LockMode::Exclusive;

struct Trace {
    predictor: Predictor,
    seq: u64,
}

impl Trace {
    fn new() -> Trace {
        let mut predictor = Predictor::default();
        let site = Site::from_location(std::panic::Location::caller());
        for (key, kind, name) in [
            (1, ResourceKind::Mutex, "gil"),
            (2, ResourceKind::Executor, "pool"),
        ] {
            predictor.feed(TraceLine::Resource(ResourceInfo {
                key: ResourceKey(key),
                kind,
                class: Class::Named(name.into()),
                created: site.clone(),
            }));
        }
        Trace { predictor, seq: 0 }
    }

    fn event(&mut self, thread: u64, kind: EventKind) -> &mut Trace {
        self.seq += 1;
        self.predictor.feed(TraceLine::Event(Event {
            seq: self.seq,
            thread: ThreadKey(thread),
            kind,
            site: None,
        }));
        self
    }

    fn job(&mut self, key: u64, kind: ResourceKind) {
        self.predictor.feed(TraceLine::Resource(ResourceInfo {
            key: ResourceKey(key),
            kind,
            class: Class::Named("job".into()),
            created: Site::from_location(std::panic::Location::caller()),
        }));
    }
}

/// `workers` workers; the main thread holds the gil, queues `gil_jobs` jobs that take
/// it (each picked up by its own worker, which then waits), and waits for one more job.
fn pool(workers: u64, gil_jobs: u64) -> Prediction {
    let mut trace = Trace::new();
    let (gil, pool) = (ResourceKey(1), ResourceKey(2));
    for worker in 0..workers {
        trace.event(10 + worker, EventKind::Enroll { resource: pool });
    }
    trace.event(
        1,
        EventKind::LockAcquired {
            resource: gil,
            mode: X,
        },
    );
    for job in 0..gil_jobs {
        let key = 100 + job;
        trace.job(key, ResourceKind::Job);
        let (job, worker) = (ResourceKey(key), 10 + job);
        trace
            .event(
                1,
                EventKind::JobQueued {
                    job,
                    executor: pool,
                },
            )
            .event(
                worker,
                EventKind::JobStarted {
                    job,
                    executor: pool,
                },
            )
            .event(
                worker,
                EventKind::WaitBegin {
                    resource: gil,
                    wait: WaitKind::Lock(X),
                    timed: false,
                },
            );
    }
    let last = ResourceKey(200);
    trace.job(200, ResourceKind::Job);
    trace
        .event(
            1,
            EventKind::JobQueued {
                job: last,
                executor: pool,
            },
        )
        .event(
            1,
            EventKind::WaitBegin {
                resource: last,
                wait: WaitKind::Job,
                timed: false,
            },
        );
    trace.predictor.finish()
}

fn self_stalls(prediction: &Prediction) -> usize {
    prediction
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::QueuedWorkSelfStall)
        .count()
}

#[test]
fn every_worker_taken_by_a_job_waiting_for_the_holder_is_flagged() {
    let prediction = pool(3, 3);
    assert_eq!(self_stalls(&prediction), 1, "{prediction:#?}");
}

#[test]
fn a_pool_with_a_worker_to_spare_is_not_flagged() {
    let prediction = pool(4, 3);
    assert_eq!(self_stalls(&prediction), 0, "{prediction:#?}");
}

//! Prediction, rule by rule, on small traces: each rule finds what it must (positive)
//! and stays quiet on correct code (negative). STD traces go through the STD reader,
//! waitgraph's own events are written as the recorder's lines.

use std::borrow::Cow;
use std::path::Path;
use waitgraph_analyzer::read;
use waitgraph_core::model::*;
use waitgraph_core::predict::Predictor;
use waitgraph_core::report::{Finding, FindingKind, Severity};

fn predict_lines(lines: impl IntoIterator<Item = TraceLine>) -> Vec<Finding> {
    let mut predictor = Predictor::default();
    for line in lines {
        predictor.feed(line);
    }
    predictor.finish().findings
}

fn predict_std(text: &str) -> Vec<Finding> {
    let reader = read::from_reader(Path::new("test.std"), text.as_bytes()).expect("an STD trace");
    predict_lines(reader.map(|line| line.expect("a well-formed line")))
}

fn kinds(findings: &[Finding]) -> Vec<FindingKind> {
    findings.iter().map(|f| f.kind).collect()
}

fn threads(finding: &Finding) -> Vec<&str> {
    let mut names: Vec<&str> = finding.cycle.iter().map(|s| s.thread.as_str()).collect();
    names.sort_unstable();
    names
}

// ---- lock order (STD) ------------------------------------------------------------

#[test]
fn a_two_lock_inversion_is_found_though_the_run_did_not_hang() {
    let findings = predict_std(
        "T0|acq(a)|1\nT0|acq(b)|2\nT0|rel(b)|3\nT0|rel(a)|4\n\
         T1|acq(b)|5\nT1|acq(a)|6\nT1|rel(a)|7\nT1|rel(b)|8\n",
    );
    assert_eq!(kinds(&findings), [FindingKind::LockOrderInversion]);
    let finding = &findings[0];
    assert!(!finding.confirmed);
    assert_eq!(finding.severity, Severity::Error);
    assert_eq!(threads(finding), ["T0", "T1"]);
    // Each step says what it holds and where it waits.
    for step in &finding.cycle {
        assert_eq!(step.holds.len(), 1, "{step:?}");
        assert_eq!(step.waits_for.wait, "lock");
        assert!(step.site.as_ref().is_some_and(|s| s.file == "test.std"));
        assert!(step.event.is_some());
    }
    assert!(finding.scenario.len() >= 4, "{:?}", finding.scenario);
}

#[test]
fn a_three_lock_inversion_is_found() {
    let findings = predict_std(
        "T0|acq(a)|1\nT0|acq(b)|2\nT0|rel(b)|3\nT0|rel(a)|4\n\
         T1|acq(b)|5\nT1|acq(c)|6\nT1|rel(c)|7\nT1|rel(b)|8\n\
         T2|acq(c)|9\nT2|acq(a)|10\nT2|rel(a)|11\nT2|rel(c)|12\n",
    );
    assert_eq!(kinds(&findings), [FindingKind::LockOrderInversion]);
    assert_eq!(threads(&findings[0]), ["T0", "T1", "T2"]);
}

#[test]
fn an_inversion_under_a_gate_lock_is_not_reported() {
    let findings = predict_std(
        "T0|acq(g)|1\nT0|acq(a)|2\nT0|acq(b)|3\nT0|rel(b)|4\nT0|rel(a)|5\nT0|rel(g)|6\n\
         T1|acq(g)|7\nT1|acq(b)|8\nT1|acq(a)|9\nT1|rel(a)|10\nT1|rel(b)|11\nT1|rel(g)|12\n",
    );
    assert_eq!(findings, []);
}

#[test]
fn an_inversion_ordered_by_fork_or_join_is_not_reported() {
    // T1 starts after T0 took both locks in its order.
    let forked = predict_std(
        "T0|acq(a)|1\nT0|acq(b)|2\nT0|rel(b)|3\nT0|rel(a)|4\nT0|fork(T1)|5\n\
         T1|acq(b)|6\nT1|acq(a)|7\nT1|rel(a)|8\nT1|rel(b)|9\n",
    );
    assert_eq!(forked, []);
    // T0 takes them in its order only after T1 has ended.
    let joined = predict_std(
        "T0|fork(T1)|1\nT1|acq(b)|2\nT1|acq(a)|3\nT1|rel(a)|4\nT1|rel(b)|5\n\
         T0|join(T1)|6\nT0|acq(a)|7\nT0|acq(b)|8\nT0|rel(b)|9\nT0|rel(a)|10\n",
    );
    assert_eq!(joined, []);
    // Forked before: the two can overlap, and that is reported.
    let concurrent = predict_std(
        "T0|fork(T1)|1\nT0|acq(a)|2\nT0|acq(b)|3\nT0|rel(b)|4\nT0|rel(a)|5\n\
         T1|acq(b)|6\nT1|acq(a)|7\nT1|rel(a)|8\nT1|rel(b)|9\n",
    );
    assert_eq!(kinds(&concurrent), [FindingKind::LockOrderInversion]);
}

#[test]
fn an_inversion_ordered_by_a_wake_up_is_not_reported() {
    // T1 waits until T0 notifies, and T0 notifies after its own a -> b: T1's b -> a
    // comes after, in every interleaving where T1 waits.
    let waited = predict_std(
        "T1|acq(l)|1\nT1|rel(l)|2\nT1|wait(l)|3\n\
         T0|acq(a)|4\nT0|acq(b)|5\nT0|rel(b)|6\nT0|rel(a)|7\n\
         T0|acq(l)|8\nT0|notify(l)|9\nT0|rel(l)|10\n\
         T1|req(l)|11\nT1|acq(l)|12\nT1|rel(l)|13\n\
         T1|acq(b)|14\nT1|acq(a)|15\nT1|rel(a)|16\nT1|rel(b)|17\n",
    );
    assert_eq!(waited, []);
    // Notified before its a -> b: no order between the two, reported.
    let notified_first = predict_std(
        "T1|acq(l)|1\nT1|rel(l)|2\nT1|wait(l)|3\n\
         T0|acq(l)|4\nT0|notify(l)|5\nT0|rel(l)|6\n\
         T0|acq(a)|7\nT0|acq(b)|8\nT0|rel(b)|9\nT0|rel(a)|10\n\
         T1|req(l)|11\nT1|acq(l)|12\nT1|rel(l)|13\n\
         T1|acq(b)|14\nT1|acq(a)|15\nT1|rel(a)|16\nT1|rel(b)|17\n",
    );
    assert_eq!(kinds(&notified_first), [FindingKind::LockOrderInversion]);
}

#[test]
fn one_thread_taking_two_locks_in_both_orders_is_not_reported() {
    let findings = predict_std(
        "T0|acq(a)|1\nT0|acq(b)|2\nT0|rel(b)|3\nT0|rel(a)|4\n\
         T0|acq(b)|5\nT0|acq(a)|6\nT0|rel(a)|7\nT0|rel(b)|8\n",
    );
    assert_eq!(findings, []);
}

#[test]
fn taking_a_lock_one_holds_is_a_double_lock() {
    let findings = predict_std("T0|acq(a)|1\nT0|req(a)|2\n");
    assert_eq!(kinds(&findings), [FindingKind::DoubleLock]);
    assert!(
        findings[0].summary.contains("`a`"),
        "{}",
        findings[0].summary
    );
    // Taken again after its release: fine.
    assert_eq!(
        predict_std("T0|acq(a)|1\nT0|rel(a)|2\nT0|req(a)|3\nT0|acq(a)|4\nT0|rel(a)|5\n"),
        []
    );
}

// ---- condition variables (STD) ----------------------------------------------------

#[test]
fn a_condvar_waiter_holding_a_lock_its_notifier_needs_is_found() {
    let findings = predict_std(
        "T0|acq(m)|1\nT0|acq(l)|2\nT0|rel(l)|3\nT0|wait(l)|4\n\
         T1|acq(m)|5\nT1|rel(m)|6\nT1|acq(l)|7\nT1|notify(l)|8\nT1|rel(l)|9\n\
         T0|req(l)|10\nT0|acq(l)|11\nT0|rel(l)|12\nT0|rel(m)|13\n",
    );
    assert_eq!(
        kinds(&findings),
        [FindingKind::PotentialDeadlock],
        "{findings:#?}"
    );
    assert_eq!(threads(&findings[0]), ["T0", "T1"]);
}

#[test]
fn a_correct_condvar_handshake_with_a_flag_is_not_reported() {
    let findings = predict_std(
        "T0|acq(l)|1\nT0|r(ready)|2\nT0|rel(l)|3\nT0|wait(l)|4\n\
         T1|acq(l)|5\nT1|w(ready)|6\nT1|notify(l)|7\nT1|rel(l)|8\n\
         T0|req(l)|9\nT0|acq(l)|10\nT0|r(ready)|11\nT0|rel(l)|12\n",
    );
    assert_eq!(findings, []);
}

// ---- waitgraph's own events (JSON lines) -------------------------------------------

struct Trace {
    lines: Vec<TraceLine>,
    seq: u64,
}

impl Trace {
    fn new() -> Trace {
        Trace {
            lines: vec![TraceLine::Trace(TraceHeader::current())],
            seq: 0,
        }
    }

    fn thread(&mut self, key: u64, name: &str) -> &mut Self {
        self.lines.push(TraceLine::Thread(ThreadInfo {
            key: ThreadKey(key),
            name: Some(name.into()),
        }));
        self
    }

    fn resource(&mut self, key: u64, kind: ResourceKind, name: &'static str) -> &mut Self {
        self.lines.push(TraceLine::Resource(ResourceInfo {
            key: ResourceKey(key),
            kind,
            class: Class::Named(Cow::Borrowed(name)),
            created: Site {
                file: "src/lib.rs".into(),
                line: key as u32,
                column: 1,
                function: None,
            },
        }));
        self
    }

    fn event(&mut self, thread: u64, kind: EventKind) -> &mut Self {
        self.seq += 1;
        self.lines.push(TraceLine::Event(Event {
            seq: self.seq,
            thread: ThreadKey(thread),
            kind,
            site: Some(Site {
                file: "src/lib.rs".into(),
                line: 100 + self.seq as u32,
                column: 5,
                function: None,
            }),
        }));
        self
    }

    /// As a finished recording: its end line last.
    fn predict(&self) -> Vec<Finding> {
        let end = TraceLine::End(TraceEnd {
            events: self.seq,
            dropped: 0,
        });
        predict_lines(self.lines.iter().cloned().chain([end]))
    }

    /// As a recording that was never finished (no end line).
    fn predict_unfinished(&self) -> Vec<Finding> {
        predict_lines(self.lines.clone())
    }
}

const X: LockMode = LockMode::Exclusive;

fn r(key: u64) -> ResourceKey {
    ResourceKey(key)
}

#[test]
fn a_job_waited_for_on_its_own_single_thread_executor_is_a_self_stall() {
    let mut trace = Trace::new();
    trace
        .thread(1, "event-loop")
        .resource(10, ResourceKind::Executor, "loop")
        .resource(11, ResourceKind::Job, "job on loop")
        .resource(12, ResourceKind::Job, "job on loop")
        .event(
            1,
            EventKind::WaitBegin {
                resource: r(10),
                wait: WaitKind::Idle,
                timed: false,
            },
        )
        .event(
            1,
            EventKind::WaitEnd {
                resource: r(10),
                end: WaitEnd::Woken,
            },
        )
        .event(
            1,
            EventKind::JobStarted {
                job: r(11),
                executor: r(10),
            },
        )
        // Inside a job of its own loop, it queues another and waits for it.
        .event(
            1,
            EventKind::JobQueued {
                job: r(12),
                executor: r(10),
            },
        )
        .event(
            1,
            EventKind::WaitBegin {
                resource: r(12),
                wait: WaitKind::Job,
                timed: false,
            },
        );
    let findings = trace.predict();
    assert_eq!(
        kinds(&findings),
        [FindingKind::QueuedWorkSelfStall],
        "{findings:#?}"
    );
    assert!(findings[0].confirmed, "the trace ends in that wait");
    assert_eq!(threads(&findings[0]), ["event-loop"]);
}

#[test]
fn a_job_waited_for_from_outside_the_executor_is_not_reported() {
    let mut trace = Trace::new();
    trace
        .thread(1, "worker")
        .thread(2, "client")
        .resource(10, ResourceKind::Executor, "pool")
        .resource(11, ResourceKind::Job, "job on pool")
        .event(
            2,
            EventKind::JobQueued {
                job: r(11),
                executor: r(10),
            },
        )
        .event(
            2,
            EventKind::WaitBegin {
                resource: r(11),
                wait: WaitKind::Job,
                timed: false,
            },
        )
        .event(
            1,
            EventKind::JobStarted {
                job: r(11),
                executor: r(10),
            },
        )
        .event(
            1,
            EventKind::JobFinished {
                job: r(11),
                executor: r(10),
            },
        )
        .event(
            2,
            EventKind::WaitEnd {
                resource: r(11),
                end: WaitEnd::Woken,
            },
        );
    assert_eq!(trace.predict(), []);
}

/// A pool of `workers` whose jobs each arrive at a barrier of `parties` and wait there.
fn pool_feeding_a_barrier(workers: u64, parties: u64) -> Vec<Finding> {
    let mut trace = Trace::new();
    trace.resource(10, ResourceKind::Executor, "pool").resource(
        20,
        ResourceKind::Barrier,
        "rendezvous",
    );
    for worker in 1..=workers {
        let job = 100 + worker;
        trace
            .thread(worker, &format!("pool-{worker}"))
            .resource(job, ResourceKind::Job, "job on pool")
            .event(
                worker,
                EventKind::JobStarted {
                    job: r(job),
                    executor: r(10),
                },
            )
            .event(
                worker,
                EventKind::BarrierArrive {
                    resource: r(20),
                    parties,
                },
            )
            .event(
                worker,
                EventKind::WaitBegin {
                    resource: r(20),
                    wait: WaitKind::Barrier,
                    timed: false,
                },
            );
    }
    trace.predict()
}

#[test]
fn a_pool_of_n_waited_on_by_a_barrier_of_n_plus_one_is_found() {
    let findings = pool_feeding_a_barrier(2, 3);
    assert_eq!(
        kinds(&findings),
        [FindingKind::QueuedWorkSelfStall],
        "{findings:#?}"
    );
    // Enough workers for the barrier: it opens.
    assert_eq!(pool_feeding_a_barrier(3, 3), []);
}

#[test]
fn the_incident_is_predicted_from_a_run_that_did_not_hang() {
    // main holds the gil and spin-waits on a barrier fed by the pool's jobs; earlier, a
    // query job on the pool took the gil. Nothing hung: the query was done before.
    let mut trace = Trace::new();
    trace
        .thread(1, "main")
        .thread(2, "workers-0")
        .resource(1, ResourceKind::Mutex, "gil")
        .resource(10, ResourceKind::Executor, "workers")
        .resource(11, ResourceKind::Job, "job on workers")
        .resource(12, ResourceKind::Job, "job on workers")
        .resource(20, ResourceKind::Barrier, "workers-exit")
        // A query.
        .event(
            2,
            EventKind::JobStarted {
                job: r(11),
                executor: r(10),
            },
        )
        .event(
            2,
            EventKind::LockAcquired {
                resource: r(1),
                mode: X,
            },
        )
        .event(
            2,
            EventKind::LockReleased {
                resource: r(1),
                mode: X,
            },
        )
        .event(
            2,
            EventKind::JobFinished {
                job: r(11),
                executor: r(10),
            },
        )
        // The shrink.
        .event(
            1,
            EventKind::LockAcquired {
                resource: r(1),
                mode: X,
            },
        )
        .event(
            1,
            EventKind::JobQueued {
                job: r(12),
                executor: r(10),
            },
        )
        .event(
            1,
            EventKind::BarrierFedBy {
                barrier: r(20),
                executor: r(10),
            },
        )
        .event(
            1,
            EventKind::WaitBegin {
                resource: r(20),
                wait: WaitKind::Spin,
                timed: false,
            },
        )
        .event(
            2,
            EventKind::JobStarted {
                job: r(12),
                executor: r(10),
            },
        )
        .event(
            2,
            EventKind::BarrierArrive {
                resource: r(20),
                parties: 1,
            },
        )
        .event(
            2,
            EventKind::JobFinished {
                job: r(12),
                executor: r(10),
            },
        )
        .event(
            1,
            EventKind::WaitEnd {
                resource: r(20),
                end: WaitEnd::Woken,
            },
        )
        .event(
            1,
            EventKind::LockReleased {
                resource: r(1),
                mode: X,
            },
        );
    let findings = trace.predict();
    assert_eq!(
        kinds(&findings),
        [FindingKind::QueuedWorkSelfStall],
        "{findings:#?}"
    );
    let finding = &findings[0];
    assert!(!finding.confirmed);
    assert_eq!(threads(finding), ["main", "workers-0"]);
    for name in ["`gil`", "`workers-exit`", "`workers`"] {
        assert!(
            finding.summary.contains(name),
            "{name} in {}",
            finding.summary
        );
    }
}

#[test]
fn a_timed_wait_on_the_cycle_makes_it_a_warning() {
    let mut trace = Trace::new();
    trace
        .thread(1, "a")
        .thread(2, "b")
        .resource(1, ResourceKind::Mutex, "first")
        .resource(2, ResourceKind::Mutex, "second")
        .event(
            1,
            EventKind::LockAcquired {
                resource: r(1),
                mode: X,
            },
        )
        .event(
            1,
            EventKind::WaitBegin {
                resource: r(2),
                wait: WaitKind::Lock(X),
                timed: true,
            },
        )
        .event(
            1,
            EventKind::WaitEnd {
                resource: r(2),
                end: WaitEnd::TimedOut,
            },
        )
        .event(
            1,
            EventKind::LockReleased {
                resource: r(1),
                mode: X,
            },
        )
        .event(
            2,
            EventKind::LockAcquired {
                resource: r(2),
                mode: X,
            },
        )
        .event(
            2,
            EventKind::LockAcquired {
                resource: r(1),
                mode: X,
            },
        )
        .event(
            2,
            EventKind::LockReleased {
                resource: r(1),
                mode: X,
            },
        )
        .event(
            2,
            EventKind::LockReleased {
                resource: r(2),
                mode: X,
            },
        );
    let findings = trace.predict();
    assert_eq!(kinds(&findings), [FindingKind::LockOrderInversion]);
    assert_eq!(findings[0].severity, Severity::Warning);
}

#[test]
fn a_condvar_wait_nothing_notified_is_an_orphaned_wait() {
    let mut trace = Trace::new();
    trace
        .thread(1, "waiter")
        .thread(2, "other")
        .resource(1, ResourceKind::Condvar, "ready")
        // Notified once, before the wait began: that does not end it.
        .event(
            2,
            EventKind::Notify {
                resource: r(1),
                all: false,
            },
        )
        .event(
            1,
            EventKind::WaitBegin {
                resource: r(1),
                wait: WaitKind::Condvar,
                timed: false,
            },
        );
    let findings = trace.predict();
    assert_eq!(
        kinds(&findings),
        [FindingKind::OrphanedWait],
        "{findings:#?}"
    );
    assert_eq!(findings[0].cycle[0].thread, "waiter");
    // A recording that was not finished lost its threads' last events: no conclusion.
    assert_eq!(trace.predict_unfinished(), []);
    // Notified after: not orphaned (the notification may simply not have been seen yet).
    trace.event(
        2,
        EventKind::Notify {
            resource: r(1),
            all: false,
        },
    );
    assert_eq!(trace.predict(), []);
}

#[test]
fn a_wait_under_a_lock_is_a_warning_and_waits_without_locks_are_not() {
    let mut trace = Trace::new();
    trace
        .thread(1, "holder")
        .thread(2, "party")
        .resource(1, ResourceKind::Mutex, "state")
        .resource(2, ResourceKind::Barrier, "round")
        .event(
            1,
            EventKind::LockAcquired {
                resource: r(1),
                mode: X,
            },
        )
        .event(
            1,
            EventKind::BarrierArrive {
                resource: r(2),
                parties: 2,
            },
        )
        .event(
            1,
            EventKind::WaitBegin {
                resource: r(2),
                wait: WaitKind::Barrier,
                timed: false,
            },
        )
        .event(
            2,
            EventKind::BarrierArrive {
                resource: r(2),
                parties: 2,
            },
        )
        .event(
            1,
            EventKind::WaitEnd {
                resource: r(2),
                end: WaitEnd::Woken,
            },
        )
        .event(
            1,
            EventKind::LockReleased {
                resource: r(1),
                mode: X,
            },
        );
    let findings = trace.predict();
    assert_eq!(
        kinds(&findings),
        [FindingKind::BlockingUnderLock],
        "{findings:#?}"
    );
    assert_eq!(findings[0].severity, Severity::Warning);
    assert!(findings[0].summary.contains("`state`"));
}

#[test]
fn an_order_in_one_run_and_its_reverse_in_another_are_a_cycle() {
    let dir = std::env::temp_dir().join(format!("waitgraph-two-runs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (first, second) = (dir.join("first.std"), dir.join("second.std"));
    // The same thread name in both runs: two different threads all the same.
    std::fs::write(
        &first,
        "T0|acq(a)|1\nT0|acq(b)|2\nT0|rel(b)|3\nT0|rel(a)|4\n",
    )
    .unwrap();
    std::fs::write(
        &second,
        "T0|acq(b)|1\nT0|acq(a)|2\nT0|rel(a)|3\nT0|rel(b)|4\n",
    )
    .unwrap();
    let alone = waitgraph_analyzer::analyze::analyze(std::slice::from_ref(&first)).unwrap();
    assert_eq!(alone.report.findings, []);
    let together = waitgraph_analyzer::analyze::analyze(&[first, second]).unwrap();
    assert_eq!(
        kinds(&together.report.findings),
        [FindingKind::LockOrderInversion]
    );
    assert_eq!(together.inputs.len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn events_the_recorder_lost_leave_no_phantom_hold() {
    // `a` taken, then its release lost with the rest of a dropped batch: taking it again
    // after the gap is no double lock.
    let mut trace = Trace::new();
    trace
        .thread(1, "busy")
        .resource(1, ResourceKind::Mutex, "a")
        .event(
            1,
            EventKind::LockAcquired {
                resource: r(1),
                mode: X,
            },
        )
        .event(1, EventKind::Lost { events: 256 })
        .event(
            1,
            EventKind::LockAcquired {
                resource: r(1),
                mode: X,
            },
        )
        .event(
            1,
            EventKind::LockReleased {
                resource: r(1),
                mode: X,
            },
        );
    let mut predictor = Predictor::default();
    for line in trace.lines.clone() {
        predictor.feed(line);
    }
    let prediction = predictor.finish();
    assert_eq!(prediction.findings, []);
    assert!(
        prediction
            .notes
            .iter()
            .any(|n| n.starts_with("256 events are not in the trace")),
        "{:?}",
        prediction.notes
    );
}

/// The incident's end state: main holds the gil and spins on a barrier the pool's jobs
/// arrive at; `workers-0`, in a job, waits for the gil. With `idle` workers left idle.
fn incident_left_waiting(idle: u64) -> Vec<Finding> {
    let mut trace = Trace::new();
    trace
        .thread(1, "main")
        .thread(2, "workers-0")
        .resource(1, ResourceKind::Mutex, "gil")
        .resource(10, ResourceKind::Executor, "workers")
        .resource(11, ResourceKind::Job, "job on workers")
        .resource(20, ResourceKind::Barrier, "workers-exit")
        .event(
            2,
            EventKind::JobStarted {
                job: r(11),
                executor: r(10),
            },
        )
        .event(
            1,
            EventKind::LockAcquired {
                resource: r(1),
                mode: X,
            },
        )
        .event(
            1,
            EventKind::BarrierFedBy {
                barrier: r(20),
                executor: r(10),
            },
        )
        .event(
            1,
            EventKind::WaitBegin {
                resource: r(20),
                wait: WaitKind::Spin,
                timed: false,
            },
        )
        .event(
            2,
            EventKind::WaitBegin {
                resource: r(1),
                wait: WaitKind::Lock(X),
                timed: false,
            },
        );
    for worker in 0..idle {
        let key = 3 + worker;
        trace.thread(key, &format!("idle-{worker}")).event(
            key,
            EventKind::WaitBegin {
                resource: r(10),
                wait: WaitKind::Idle,
                timed: false,
            },
        );
    }
    trace.predict()
}

#[test]
fn a_cycle_is_confirmed_only_when_its_threads_could_not_go_on() {
    let hung = incident_left_waiting(0);
    assert_eq!(
        kinds(&hung),
        [FindingKind::QueuedWorkSelfStall],
        "{hung:#?}"
    );
    assert!(hung[0].confirmed, "every worker busy: it hung");
    // An idle worker could have taken an admin job and arrived: the run had not hung
    // yet, though the cycle is still a prediction.
    let not_yet = incident_left_waiting(1);
    assert_eq!(
        kinds(&not_yet),
        [FindingKind::QueuedWorkSelfStall],
        "{not_yet:#?}"
    );
    assert!(!not_yet[0].confirmed);
}

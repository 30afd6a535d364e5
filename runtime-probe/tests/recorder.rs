//! The recorder against real threads, files and processes: a streaming recording keeps
//! every event of a tight loop in each thread's time order, a flight recorder keeps the
//! newest events of each thread and says how many it let go, `WAITGRAPH_TRACE` records a
//! program that has no recording code, in-process prediction warns about a lock-order
//! inversion once (and about a consistent order never), and JSON lines still read back.
//!
//! One recording runs per process at a time: the tests that record in this process take
//! turns; those that need a watchdog or the environment run in child processes (this
//! test binary again, told what to do by [`SCENARIO`]), and take their turn too, so that
//! no test's child competes with a recording's writer for the two cores.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{mpsc, Arc, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use waitgraph::model::{Event, EventKind, ResourceKey, ThreadKey, TraceEnd, TraceLine};
use waitgraph::record::{TraceFile, TraceFormat};
use waitgraph::report::{Finding, FindingKind, Severity};
use waitgraph::sync::Mutex;
use waitgraph_child_process::Output;

/// Which scenario a child process runs.
const SCENARIO: &str = "WAITGRAPH_RECORDER_TEST_SCENARIO";
/// How long a child may run before it is killed (each takes well under a second).
const CHILD_DEADLINE: Duration = Duration::from_secs(20);
/// How long a child waits for the in-process prediction to report a cycle.
const PREDICTION_WAIT: Duration = Duration::from_secs(3);
/// Long enough for the trace writer to have swept every queue at least once.
const SWEEP_MARGIN: Duration = Duration::from_millis(400);

static ONE_RECORDING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// This process's turn to record.
fn turn() -> MutexGuard<'static, ()> {
    ONE_RECORDING.lock().unwrap_or_else(PoisonError::into_inner)
}

fn temp(name: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("waitgraph-recorder-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// A trace file read back, line by line, in file order.
struct Read {
    lines: Vec<TraceLine>,
    threads: HashMap<ThreadKey, Option<String>>,
    resources: HashMap<ResourceKey, String>,
}

impl Read {
    /// A binary trace, every record whole (none cut short, no error).
    fn binary(path: &Path) -> Read {
        let bytes = std::fs::read(path)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        assert!(
            waitgraph_core::binary::is_binary(&bytes),
            "{} is in the binary format",
            path.display()
        );
        let mut reader = waitgraph_core::binary::Reader::new(&bytes[..]);
        let lines = (&mut reader)
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_else(|error| panic!("{} reads back: {error:?}", path.display()));
        assert_eq!(reader.cut(), None, "nothing is cut short");
        Read::from_lines(lines)
    }

    /// A JSON-lines trace, every line one `TraceLine`.
    fn json_lines(path: &Path) -> Read {
        let text = std::fs::read_to_string(path).unwrap();
        let lines = text
            .lines()
            .enumerate()
            .map(|(at, line)| {
                serde_json::from_str(line).unwrap_or_else(|error| {
                    panic!("line {} is a trace line: {error}\n{line}", at + 1)
                })
            })
            .collect();
        Read::from_lines(lines)
    }

    fn from_lines(lines: Vec<TraceLine>) -> Read {
        let mut threads = HashMap::new();
        let mut resources = HashMap::new();
        for line in &lines {
            match line {
                TraceLine::Thread(info) => {
                    threads.insert(info.key, info.name.clone());
                }
                TraceLine::Resource(info) => {
                    resources.insert(info.key, info.label());
                }
                _ => {}
            }
        }
        Read {
            lines,
            threads,
            resources,
        }
    }

    /// The header first, the end record last, exactly one of each.
    fn end(&self) -> &TraceEnd {
        assert!(
            matches!(self.lines.first(), Some(TraceLine::Trace(_))),
            "the header comes first: {:?}",
            self.lines.first()
        );
        let headers = self
            .lines
            .iter()
            .filter(|l| matches!(l, TraceLine::Trace(_)))
            .count();
        assert_eq!(headers, 1, "one header");
        let ends = self
            .lines
            .iter()
            .filter(|l| matches!(l, TraceLine::End(_)))
            .count();
        assert_eq!(ends, 1, "one end record");
        match self.lines.last() {
            Some(TraceLine::End(end)) => end,
            other => panic!("the end record comes last: {other:?}"),
        }
    }

    fn events(&self) -> impl Iterator<Item = &Event> {
        self.lines.iter().filter_map(|line| match line {
            TraceLine::Event(event) => Some(event),
            _ => None,
        })
    }

    /// The events of the one thread named `name`, in file order.
    fn of_thread(&self, name: &str) -> Vec<&Event> {
        let keys: Vec<ThreadKey> = self
            .threads
            .iter()
            .filter(|(_, n)| n.as_deref() == Some(name))
            .map(|(key, _)| *key)
            .collect();
        assert_eq!(keys.len(), 1, "one thread named {name}: {:?}", self.threads);
        self.events().filter(|e| e.thread == keys[0]).collect()
    }

    /// The name of the lock an acquire or release names (`None` for other events).
    fn lock_of(&self, event: &Event) -> Option<(&str, bool)> {
        let (resource, acquired) = match &event.kind {
            EventKind::LockAcquired { resource, .. } => (resource, true),
            EventKind::LockReleased { resource, .. } => (resource, false),
            _ => return None,
        };
        let label = self
            .resources
            .get(resource)
            .unwrap_or_else(|| panic!("{resource:?} is described before its events"));
        Some((label.as_str(), acquired))
    }

    /// Every thread's events come in strictly increasing `seq` (their time), and each
    /// thread and resource is described before the first event that names it.
    fn assert_ordered(&self) {
        let mut last: HashMap<ThreadKey, u64> = HashMap::new();
        let mut threads_seen = std::collections::HashSet::new();
        let mut resources_seen = std::collections::HashSet::new();
        for line in &self.lines {
            match line {
                TraceLine::Thread(info) => {
                    threads_seen.insert(info.key);
                }
                TraceLine::Resource(info) => {
                    resources_seen.insert(info.key);
                }
                TraceLine::Event(event) => {
                    assert!(
                        threads_seen.contains(&event.thread),
                        "thread described first: {event:?}"
                    );
                    for key in event.kind.resources() {
                        assert!(
                            resources_seen.contains(&key),
                            "resource described first: {event:?}"
                        );
                    }
                    if let Some(previous) = last.insert(event.thread, event.seq) {
                        assert!(
                            previous < event.seq,
                            "{:?}: seq {} after {previous}",
                            event.thread,
                            event.seq
                        );
                    }
                }
                _ => {}
            }
        }
    }
}

/// A named thread of the standard library (no fork or join event: to the predictor the
/// threads of these tests could have run in any order).
fn spawn(name: &str, work: impl FnOnce() + Send + 'static) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(work)
        .expect("spawn")
}

/// A thread named `name` takes `first`, then `second` under it, and lets both go; waited
/// for, so two calls run one after the other and nothing can hang.
fn in_order(name: &str, first: &Arc<Mutex<()>>, second: &Arc<Mutex<()>>) {
    let (first, second) = (first.clone(), second.clone());
    spawn(name, move || {
        let _first = first.lock();
        let _second = second.lock();
    })
    .join()
    .unwrap();
}

fn named(name: &str) -> Arc<Mutex<()>> {
    Arc::new(Mutex::with_name(name.to_owned(), ()))
}

// ---- a streaming recording of a tight loop ---------------------------------------------

#[test]
fn a_tight_lock_loop_is_recorded_whole_in_each_threads_time_order() {
    const PAIRS: u64 = 300_000;
    let _turn = turn();
    let path = temp("tight.trace");
    let started = Instant::now();
    let trace = TraceFile::create(&path).unwrap();
    let counter = Arc::new(Mutex::named("tight", 0u64));
    let worker = {
        let counter = counter.clone();
        spawn("tight-loop", move || {
            for _ in 0..PAIRS {
                *counter.lock() += 1;
            }
        })
    };
    worker.join().unwrap();
    let summary = trace.finish().unwrap();
    let recorded_in = started.elapsed();
    assert_eq!(*counter.lock(), PAIRS);

    assert_eq!(
        summary.dropped, 0,
        "{summary:?}: the writer kept up with {PAIRS} lock pairs in {recorded_in:?}"
    );
    assert_eq!(summary.path, path);
    assert_eq!(
        summary.bytes,
        std::fs::metadata(&path).unwrap().len(),
        "the summary says the file's size"
    );
    let read = Read::binary(&path);
    let end = read.end().clone();
    let in_file = read.events().count() as u64;
    assert_eq!(
        summary.events, in_file,
        "the summary counts what the file holds"
    );
    assert_eq!(
        end.events, in_file,
        "the end record counts what the file holds"
    );
    assert_eq!(end.dropped, 0);
    read.assert_ordered();
    // Every one of the worker's acquires and releases, alternating, of `tight`.
    let worker = read.of_thread("tight-loop");
    assert_eq!(worker.len() as u64, 2 * PAIRS);
    for (at, event) in worker.iter().enumerate() {
        assert_eq!(
            read.lock_of(event),
            Some(("tight", at % 2 == 0)),
            "event {at} of the worker: {event:?}"
        );
    }
    // The predictor reads the same file: every event, nothing to say.
    let prediction = waitgraph::record::predict(&path).unwrap();
    assert_eq!(prediction.events, summary.events);
    assert!(prediction.findings.is_empty(), "{:#?}", prediction.findings);
    let _ = std::fs::remove_file(&path);
}

/// A thread's events in the file and the events its `Lost` markers say were dropped.
fn kept_and_said_lost(events: &[&Event]) -> (u64, u64) {
    let mut kept = 0;
    let mut lost = 0;
    for event in events {
        match event.kind {
            EventKind::Lost { events } => lost += events,
            _ => kept += 1,
        }
    }
    (kept, lost)
}

#[test]
fn every_event_a_full_queue_drops_is_counted_and_said_in_its_threads_trace() {
    // Twice a queue and then some (a pair is two events): more than the writer can
    // have taken before it stopped and the queue can hold after.
    const PAIRS: u64 = waitgraph::record::QUEUE as u64 + 50;
    const PHASE_TWO: u64 = 10;
    const PATIENCE: Duration = Duration::from_secs(20);
    let _turn = turn();
    let path = temp("held-up.trace");
    let lock = named("held-up");
    // Both threads and the lock are known to the registry before the recording starts:
    // from then on their events never need it.
    let (ready, threads_ready) = mpsc::channel();
    let (done, phase_done) = mpsc::channel();
    let (go_middle, middle_go) = mpsc::channel::<()>();
    let (go_end, end_go) = mpsc::channel::<()>();
    let middle = {
        let (lock, ready, done) = (lock.clone(), ready.clone(), done.clone());
        spawn("gap-in-the-middle", move || {
            drop(lock.lock());
            ready.send(()).unwrap();
            middle_go.recv().unwrap();
            // The writer stops at this event (the lock is not described yet)...
            drop(lock.lock());
            std::thread::sleep(SWEEP_MARGIN);
            // ...and the queue fills while it waits.
            for _ in 0..PAIRS {
                drop(lock.lock());
            }
            done.send(()).unwrap();
            middle_go.recv().unwrap();
            for _ in 0..PHASE_TWO {
                drop(lock.lock());
            }
        })
    };
    let end = {
        let lock = lock.clone();
        spawn("gap-at-the-end", move || {
            drop(lock.lock());
            ready.send(()).unwrap();
            end_go.recv().unwrap();
            for _ in 0..PAIRS {
                drop(lock.lock());
            }
            done.send(()).unwrap();
        })
    };
    for _ in 0..2 {
        threads_ready.recv_timeout(PATIENCE).unwrap();
    }
    let trace = TraceFile::create(&path).unwrap();
    {
        // The writer waits for the registry to describe the lock: the queues fill.
        let _held = waitgraph::__private::hold_for_test();
        go_middle.send(()).unwrap();
        phase_done
            .recv_timeout(PATIENCE)
            .expect("the first thread does not wait for the registry");
        go_end.send(()).unwrap();
        phase_done
            .recv_timeout(PATIENCE)
            .expect("the second thread does not wait for the registry");
    }
    // The writer catches up; the first thread goes on (its next events say its gap).
    std::thread::sleep(SWEEP_MARGIN);
    go_middle.send(()).unwrap();
    middle.join().unwrap();
    end.join().unwrap();
    let summary = trace.finish().unwrap();

    let read = Read::binary(&path);
    let end = read.end();
    assert_eq!(end.events, read.events().count() as u64);
    assert_eq!(summary.events, end.events);
    assert_eq!(summary.dropped, end.dropped);
    read.assert_ordered();
    let mut missing = 0;
    for (name, produced) in [
        ("gap-in-the-middle", 2 + 2 * PAIRS + 2 * PHASE_TWO),
        ("gap-at-the-end", 2 * PAIRS),
    ] {
        let events = read.of_thread(name);
        let (kept, said) = kept_and_said_lost(&events);
        assert!(
            kept < produced,
            "{name}: the queue was full and events were dropped ({kept} of {produced} kept)"
        );
        assert_eq!(
            kept + said,
            produced,
            "{name}: {kept} events kept and {said} said lost, of {produced}"
        );
        missing += produced - kept;
    }
    assert_eq!(summary.dropped, missing, "{summary:?}");
    // The first thread's gap is said before its next events, not at its end.
    let events = read.of_thread("gap-in-the-middle");
    let marker = events
        .iter()
        .rposition(|e| matches!(e.kind, EventKind::Lost { .. }))
        .expect("a Lost marker");
    assert!(marker + 1 < events.len(), "events after the gap: {marker}");
    assert!(events[marker + 1..]
        .iter()
        .all(|e| read.lock_of(e).is_some()));
    let _ = std::fs::remove_file(&path);
}

// ---- a flight recorder -----------------------------------------------------------------

#[test]
fn a_flight_recorder_keeps_each_threads_newest_events_and_each_dump_replaces_the_file() {
    const RING: usize = 50;
    let _turn = turn();
    let path = temp("flight.trace");
    let trace = TraceFile::flight_recorder(&path, RING).unwrap();
    assert_eq!(trace.path(), path);
    assert!(!path.exists(), "nothing is written before a dump");
    let old = named("flight-old");
    let first = named("flight-first");
    let second = named("flight-second");
    let (done, phase_done) = mpsc::channel();
    let (go, next_phase) = mpsc::channel::<()>();
    let worker = {
        let (old, first, second) = (old.clone(), first.clone(), second.clone());
        spawn("flight-worker", move || {
            // 10,000 events, then the 50 the ring keeps.
            for _ in 0..5_000 {
                drop(old.lock());
            }
            for _ in 0..RING / 2 {
                drop(first.lock());
            }
            done.send(()).unwrap();
            next_phase.recv().unwrap();
            // 6,000 more, then 20: the ring ends with 30 of `old` and these 20.
            for _ in 0..3_000 {
                drop(old.lock());
            }
            for _ in 0..10 {
                drop(second.lock());
            }
            done.send(()).unwrap();
            next_phase.recv().unwrap();
        })
    };
    phase_done.recv().unwrap();

    // The ring of the live worker: a `Lost` marker, then its newest 50, all of `first`.
    let dumped = trace.dump().unwrap();
    let read = Read::binary(&path);
    assert_eq!(read.end().events, dumped.events);
    assert_eq!(read.events().count() as u64, dumped.events);
    assert_eq!(dumped.dropped, 0);
    read.assert_ordered();
    let events = read.of_thread("flight-worker");
    assert_eq!(events.len(), RING + 1, "{events:#?}");
    assert_eq!(events[0].kind, EventKind::Lost { events: 10_000 });
    for (at, event) in events[1..].iter().enumerate() {
        assert_eq!(
            read.lock_of(event),
            Some(("flight-first", at % 2 == 0)),
            "kept event {at}: {event:?}"
        );
    }

    go.send(()).unwrap();
    phase_done.recv().unwrap();
    // The second dump replaces the first: `first`'s events are gone, everything lost so
    // far is counted, and the newest 50 are the last 30 of `old` and the 20 of `second`.
    let dumped = trace.dump().unwrap();
    let read = Read::binary(&path);
    assert_eq!(read.end().events, dumped.events);
    read.assert_ordered();
    let events = read.of_thread("flight-worker");
    assert_eq!(events.len(), RING + 1, "{events:#?}");
    assert_eq!(
        events[0].kind,
        EventKind::Lost {
            events: 10_050 + 6_020 - RING as u64
        }
    );
    let locks: Vec<(&str, bool)> = events[1..]
        .iter()
        .map(|e| read.lock_of(e).expect("a lock event"))
        .collect();
    let expected: Vec<(&str, bool)> = (0..RING)
        .map(|at| {
            let lock = if at < 30 {
                "flight-old"
            } else {
                "flight-second"
            };
            (lock, at % 2 == 0)
        })
        .collect();
    assert_eq!(locks, expected);

    // The worker ends: `finish` still writes its ring.
    go.send(()).unwrap();
    worker.join().unwrap();
    let finished = trace.finish().unwrap();
    assert_eq!(finished.path, path);
    assert_eq!(finished.dropped, 0);
    assert_eq!(finished.bytes, std::fs::metadata(&path).unwrap().len());
    let read = Read::binary(&path);
    assert_eq!(read.end().events, finished.events);
    assert_eq!(read.of_thread("flight-worker").len(), RING + 1);
    // And the predictor reads it whole.
    let prediction = waitgraph::record::predict(&path).unwrap();
    assert_eq!(prediction.events, finished.events);
    assert!(
        !prediction.notes.iter().any(|note| note.contains("cut")),
        "{:?}",
        prediction.notes
    );
    let _ = std::fs::remove_file(&path);
}

// ---- JSON lines ------------------------------------------------------------------------

/// Two threads, one after the other, take `a` and `b` in opposite orders.
fn inverted_pair(a: &str, b: &str) {
    let (a, b) = (named(a), named(b));
    in_order("forward", &a, &b);
    in_order("backward", &b, &a);
}

fn lock_order_inversions(findings: &[Finding]) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|f| f.kind == FindingKind::LockOrderInversion)
        .collect()
}

fn cycle_resources(finding: &Finding) -> Vec<&str> {
    let mut resources: Vec<&str> = finding
        .cycle
        .iter()
        .map(|s| s.waits_for.resource.as_str())
        .collect();
    resources.sort_unstable();
    resources
}

#[test]
fn json_lines_are_written_for_a_jsonl_name_or_when_asked_and_the_predictor_reads_them() {
    let _turn = turn();
    let by_name = temp("lines.jsonl");
    let asked = temp("lines-asked.trace");
    for (path, format) in [
        (&by_name, TraceFormat::for_path(&by_name)),
        (&asked, TraceFormat::JsonLines),
    ] {
        assert_eq!(format, TraceFormat::JsonLines);
        let trace = if path == &by_name {
            TraceFile::create(path).unwrap()
        } else {
            TraceFile::create_as(path, format).unwrap()
        };
        inverted_pair("json-a", "json-b");
        let summary = trace.finish().unwrap();
        assert_eq!(summary.dropped, 0);
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.starts_with("{"), "JSON, not binary: {text:.200}");
        let read = Read::json_lines(path);
        assert_eq!(read.end().events, summary.events);
        assert_eq!(read.events().count() as u64, summary.events);
        read.assert_ordered();
        assert_eq!(read.of_thread("forward").len(), 4);
        assert_eq!(read.of_thread("backward").len(), 4);

        let prediction = waitgraph::record::predict(path).unwrap();
        assert_eq!(prediction.events, summary.events);
        let inversions = lock_order_inversions(&prediction.findings);
        assert_eq!(inversions.len(), 1, "{:#?}", prediction.findings);
        assert_eq!(cycle_resources(inversions[0]), ["json-a", "json-b"]);
        assert!(!inversions[0].confirmed, "the run did not hang");
        let _ = std::fs::remove_file(path);
    }
}

// ---- child processes -------------------------------------------------------------------

/// Runs this test binary again on `scenario`, with `env` set (and the recorder's and the
/// prediction's own variables unset unless given), killed after the deadline.
fn run_child(scenario: &str, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    command
        .args([
            "child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SCENARIO, scenario)
        .env_remove("WAITGRAPH_TRACE")
        .env_remove("WAITGRAPH_TRACE_LAST")
        .env_remove("WAITGRAPH_PREDICT")
        .env_remove("WAITGRAPH");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = waitgraph_child_process::run(&mut command, CHILD_DEADLINE);
    assert_eq!(
        output.code(),
        Some(0),
        "the child completes: {scenario}: {output}"
    );
    output
}

/// The findings a child printed after `label`.
fn printed_findings(output: &Output, label: &str) -> Vec<Finding> {
    // After the test harness's `test child ... ` on the same line.
    let marker = format!("findings({label}): ");
    let line = output
        .stdout
        .lines()
        .find_map(|line| line.split_once(&marker).map(|(_, json)| json))
        .unwrap_or_else(|| panic!("the child printed {label}: {output}"));
    serde_json::from_str(line).unwrap_or_else(|error| panic!("{label}: {error}\n{output}"))
}

/// Entry point of the child processes; does nothing unless a test started it.
#[test]
#[ignore = "entry point of the child processes the other tests start"]
fn child() {
    let Ok(scenario) = std::env::var(SCENARIO) else {
        return;
    };
    match scenario.as_str() {
        "unrecorded_program" => unrecorded_program(),
        "predict_inversion" => predict_inversion(),
        "predict_consistent" => predict_consistent(),
        "predict_after_warm_up" => predict_after_warm_up(),
        "predict_again" => predict_again(),
        other => panic!("unknown scenario {other}"),
    }
}

/// A program with no recording code: a worker takes a lock 1,000 times.
fn unrecorded_program() {
    let counter = Arc::new(Mutex::named("env-traced", 0u32));
    let worker = {
        let counter = counter.clone();
        spawn("env-worker", move || {
            for _ in 0..1_000 {
                *counter.lock() += 1;
            }
        })
    };
    worker.join().unwrap();
    println!("counted: {}", *counter.lock());
}

#[test]
fn waitgraph_trace_records_a_program_with_no_recording_code_and_ends_the_file_at_exit() {
    let _turn = turn();
    let path = temp("env.trace");
    let output = run_child(
        "unrecorded_program",
        &[("WAITGRAPH_TRACE", path.to_str().unwrap())],
    );
    assert!(output.stdout.contains("counted: 1000"), "{output}");
    assert!(!output.stderr.contains("waitgraph:"), "{output}");
    let read = Read::binary(&path);
    let end = read.end();
    assert_eq!(end.events, read.events().count() as u64);
    assert_eq!(end.dropped, 0);
    read.assert_ordered();
    let worker = read.of_thread("env-worker");
    assert_eq!(
        worker.len(),
        2_000,
        "every acquire and release of the worker"
    );
    assert!(worker.iter().all(|e| read
        .lock_of(e)
        .is_some_and(|(lock, _)| lock == "env-traced")));
    let _ = std::fs::remove_file(&path);

    // A flight recorder from the environment: the worker's newest 100 and a `Lost`.
    let path = temp("env-last.trace");
    let output = run_child(
        "unrecorded_program",
        &[
            ("WAITGRAPH_TRACE", path.to_str().unwrap()),
            ("WAITGRAPH_TRACE_LAST", "100"),
        ],
    );
    assert!(output.stdout.contains("counted: 1000"), "{output}");
    let read = Read::binary(&path);
    assert_eq!(read.end().events, read.events().count() as u64);
    let worker = read.of_thread("env-worker");
    assert_eq!(worker.len(), 101, "{output}");
    assert_eq!(worker[0].kind, EventKind::Lost { events: 1_900 });
    let _ = std::fs::remove_file(&path);

    // `{pid}` in the path: the file is the child's own.
    let pattern = temp("env-{pid}.trace");
    let output = run_child(
        "unrecorded_program",
        &[("WAITGRAPH_TRACE", pattern.to_str().unwrap())],
    );
    assert!(output.stdout.contains("counted: 1000"), "{output}");
    assert!(!pattern.exists(), "the placeholder is replaced: {output}");
    let prefix = format!("waitgraph-recorder-{}-env-", std::process::id());
    let written: Vec<PathBuf> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with(&prefix)
                && name.ends_with(".trace")
                && name[prefix.len()..name.len() - ".trace".len()]
                    .parse::<u32>()
                    .is_ok()
        })
        .collect();
    assert_eq!(
        written.len(),
        1,
        "one file named by the child's pid: {written:?}"
    );
    assert_eq!(
        Read::binary(&written[0]).of_thread("env-worker").len(),
        2_000
    );
    let _ = std::fs::remove_file(&written[0]);

    // Only the number of events, no file: said, not recorded.
    let output = run_child("unrecorded_program", &[("WAITGRAPH_TRACE_LAST", "100")]);
    assert!(output.stdout.contains("counted: 1000"), "{output}");
    assert!(
        output
            .stderr
            .contains("WAITGRAPH_TRACE_LAST is set but WAITGRAPH_TRACE (the file) is not"),
        "{output}"
    );
}

#[test]
fn predict_reads_a_cut_trace_and_refuses_one_that_is_malformed_inside() {
    let _turn = turn();
    let path = temp("to-break.jsonl");
    {
        let trace = TraceFile::create(&path).unwrap();
        inverted_pair("break-a", "break-b");
        trace.finish().unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    // Cut in its last line: read, with a note.
    std::fs::write(&path, &text[..text.len() - 5]).unwrap();
    let prediction = waitgraph::record::predict(&path).unwrap();
    assert!(
        prediction.notes.iter().any(|n| n.contains("cut short")),
        "{:?}",
        prediction.notes
    );
    // Broken in the middle: an error naming the line.
    let mut lines: Vec<&str> = text.lines().collect();
    lines[3] = "{\"event\":";
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let error = waitgraph::record::predict(&path).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    assert!(error.to_string().contains("line 4"), "{error}");
    // Not a trace at all.
    std::fs::write(&path, "hello\nworld\n").unwrap();
    let error = waitgraph::record::predict(&path).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData, "{error}");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn an_invalid_waitgraph_trace_last_is_said_once_and_the_program_runs_unrecorded() {
    let _turn = turn();
    for last in ["0", "ten", "-5", "", "1000000000000"] {
        let path = temp("env-invalid.trace");
        let output = run_child(
            "unrecorded_program",
            &[
                ("WAITGRAPH_TRACE", path.to_str().unwrap()),
                ("WAITGRAPH_TRACE_LAST", last),
            ],
        );
        assert!(
            output.stdout.contains("counted: 1000"),
            "{last:?}: {output}"
        );
        let said: Vec<&str> = output
            .stderr
            .lines()
            .filter(|line| line.contains("WAITGRAPH_TRACE_LAST"))
            .collect();
        assert_eq!(said.len(), 1, "said once: {last:?}: {output}");
        assert!(
            said[0].starts_with("waitgraph: ") && said[0].contains("not recording"),
            "{last:?}: {output}"
        );
        assert!(
            said[0].contains(&format!("{last:?}")),
            "the value is quoted: {output}"
        );
        assert!(!path.exists(), "{last:?}: no trace written: {output}");
    }
}

/// Starts the in-process prediction (and a watchdog that prints nothing).
fn predicting_watchdog() -> waitgraph::WatchdogHandle {
    waitgraph::Watchdog::builder()
        .predict(true)
        .print(false)
        .interval(Duration::from_millis(20))
        .start()
}

/// Polls the watchdog's findings until a lock-order inversion is among them, or the
/// time is up.
fn until_an_inversion(watchdog: &waitgraph::WatchdogHandle) -> Vec<Finding> {
    let started = Instant::now();
    loop {
        let findings = watchdog.findings();
        if !lock_order_inversions(&findings).is_empty() || started.elapsed() > PREDICTION_WAIT {
            return findings;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn print_findings(label: &str, findings: &[Finding]) {
    println!(
        "findings({label}): {}",
        serde_json::to_string(findings).unwrap()
    );
}

fn predict_inversion() {
    let watchdog = predicting_watchdog();
    inverted_pair("first-lock", "second-lock");
    print_findings("first", &until_an_inversion(&watchdog));
    // The same cycle again, through other threads, many times: not reported again.
    let (a, b) = (named("first-lock"), named("second-lock"));
    for _ in 0..20 {
        in_order("forward", &a, &b);
        in_order("backward", &b, &a);
    }
    // Long enough for the engine to look again and the watchdog to report.
    std::thread::sleep(
        waitgraph::record::live::CHECK_EVERY * 2
            + waitgraph::record::SWEEP * 2
            + Duration::from_millis(100),
    );
    print_findings("later", &watchdog.findings());
}

fn predict_consistent() {
    let watchdog = predicting_watchdog();
    // The same program with one order: nothing to predict.
    let (a, b) = (named("consistent-a"), named("consistent-b"));
    in_order("forward", &a, &b);
    in_order("backward", &a, &b);
    for _ in 0..20 {
        in_order("forward", &a, &b);
        in_order("backward", &a, &b);
    }
    // Then an inversion on two other locks: once it is reported, the engine has seen
    // everything before it, and anything it found about the first two is reported too.
    inverted_pair("control-x", "control-y");
    print_findings("findings", &until_an_inversion(&watchdog));
}

/// A thread takes `warm-a` alone a thousand times (a chain the recorder then keeps back),
/// then `warm-b` under it; another takes them in the other order.
fn predict_after_warm_up() {
    let watchdog = predicting_watchdog();
    let (a, b) = (named("warm-a"), named("warm-b"));
    let (a2, b2) = (a.clone(), b.clone());
    spawn("forward", move || {
        for _ in 0..1_000 {
            drop(a2.lock());
        }
        let _a = a2.lock();
        let _b = b2.lock();
    })
    .join()
    .unwrap();
    in_order("backward", &b, &a);
    print_findings("findings", &until_an_inversion(&watchdog));
}

/// The main thread takes `again-a` alone and then `again-b` under it while a first
/// prediction runs; a second prediction, started after the first stopped, must hear of
/// both chains again (the first one's knowledge is not the second's) and warn when
/// another thread takes them the other way.
fn predict_again() {
    let (a, b) = (named("again-a"), named("again-b"));
    let first = predicting_watchdog();
    for _ in 0..100 {
        drop(a.lock());
        let _a = a.lock();
        drop(b.lock());
    }
    first.stop();
    let second = predicting_watchdog();
    drop(a.lock());
    {
        let _a = a.lock();
        drop(b.lock());
    }
    in_order("backward", &b, &a);
    print_findings("findings", &until_an_inversion(&second));
}

/// Runs `scenario` in a child and checks that its printed findings hold exactly one
/// lock-order inversion, over `resources`; returns the findings and the child's output.
fn one_inversion(scenario: &str, resources: [&str; 2]) -> (Vec<Finding>, Output) {
    let output = run_child(scenario, &[]);
    let findings = printed_findings(&output, "findings");
    let inversions = lock_order_inversions(&findings);
    assert_eq!(inversions.len(), 1, "{findings:#?}\n{output}");
    assert_eq!(cycle_resources(inversions[0]), resources);
    (findings, output)
}

#[test]
fn a_second_prediction_in_the_same_process_hears_of_chains_the_first_had() {
    let _turn = turn();
    one_inversion("predict_again", ["again-a", "again-b"]);
}

#[test]
fn in_process_prediction_sees_an_inversion_under_a_hold_it_kept_back() {
    let _turn = turn();
    one_inversion("predict_after_warm_up", ["warm-a", "warm-b"]);
}

#[test]
fn in_process_prediction_warns_about_a_lock_order_inversion_once() {
    let _turn = turn();
    let output = run_child("predict_inversion", &[]);
    let first = printed_findings(&output, "first");
    let inversions = lock_order_inversions(&first);
    assert_eq!(
        inversions.len(),
        1,
        "reported within {PREDICTION_WAIT:?}: {first:#?}\n{output}"
    );
    let inversion = inversions[0];
    assert_eq!(inversion.severity, Severity::Warning);
    assert!(!inversion.confirmed, "a prediction: the run did not hang");
    assert_eq!(cycle_resources(inversion), ["first-lock", "second-lock"]);
    let threads: Vec<&str> = inversion.cycle.iter().map(|s| s.thread.as_str()).collect();
    assert!(
        threads.contains(&"forward") && threads.contains(&"backward"),
        "{inversion:#?}"
    );
    assert_eq!(first.len(), 1, "nothing else: {first:#?}");
    // Twenty more rounds through new threads: still the one warning.
    let later = printed_findings(&output, "later");
    assert_eq!(later, first, "not repeated: {later:#?}");
    // Reported by the watchdog (which prints nothing here), so not said again at exit.
    assert!(!output.stderr.contains("lock-order"), "{output}");
}

#[test]
fn in_process_prediction_says_nothing_about_a_consistent_lock_order() {
    let _turn = turn();
    // The control inversion shows the engine ran, and had seen the consistent rounds.
    let (findings, output) = one_inversion("predict_consistent", ["control-x", "control-y"]);
    assert_eq!(
        findings.len(),
        1,
        "nothing about the consistent order: {findings:#?}"
    );
    assert!(!output.stderr.contains("consistent-"), "{output}");
}

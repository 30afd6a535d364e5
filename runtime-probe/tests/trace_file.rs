//! `record::TraceFile`: every thread's events in a JSON-lines file, complete and in a
//! form the analyzer can read back.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use waitgraph::model::{EventKind, ResourceKey, ThreadKey, TraceLine, TRACE_SCHEMA};
use waitgraph::record::TraceFile;

/// One recording per process at a time: the tests take turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn trace_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "waitgraph-trace-{name}-{}.jsonl",
        std::process::id()
    ))
}

fn read(path: &PathBuf) -> Vec<TraceLine> {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    file.lines()
        .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
        .collect()
}

#[waitgraph::instrument]
fn transfer(
    accounts: &std::sync::Mutex<u64>,
    ledger: &waitgraph::sync::Mutex<Vec<u64>>,
    rounds: u64,
) {
    for _ in 0..rounds {
        let mut accounts = accounts.lock().unwrap();
        *accounts += 1;
        ledger.lock().push(*accounts);
    }
}

#[test]
fn every_threads_events_are_written_with_their_threads_and_resources() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let path = trace_path("threads");
    let trace = TraceFile::create(&path).unwrap();
    let accounts = Arc::new(std::sync::Mutex::new(0));
    let ledger = Arc::new(waitgraph::sync::Mutex::named("ledger", Vec::new()));
    let workers: Vec<_> = (0..2)
        .map(|i| {
            let (accounts, ledger) = (accounts.clone(), ledger.clone());
            std::thread::Builder::new()
                .name(format!("transfer-{i}"))
                .spawn(move || transfer(&accounts, &ledger, 2_000))
                .unwrap()
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let summary = trace.finish().unwrap();
    assert_eq!(summary.dropped, 0);

    let lines = read(&path);
    let _ = std::fs::remove_file(&path);
    let TraceLine::Trace(header) = &lines[0] else {
        panic!("the header comes first: {:?}", lines[0]);
    };
    assert_eq!(header.schema, TRACE_SCHEMA);
    let TraceLine::End(end) = lines.last().unwrap() else {
        panic!("the end line comes last");
    };
    let mut threads: HashMap<ThreadKey, Option<String>> = HashMap::new();
    let mut resources: HashMap<ResourceKey, String> = HashMap::new();
    let mut last_seq: HashMap<ThreadKey, u64> = HashMap::new();
    let mut events = 0u64;
    let mut acquired: HashMap<String, u64> = HashMap::new();
    for line in &lines[1..lines.len() - 1] {
        match line {
            TraceLine::Thread(info) => {
                threads.insert(info.key, info.name.clone());
            }
            TraceLine::Resource(info) => {
                resources.insert(info.key, info.label());
            }
            TraceLine::Event(event) => {
                events += 1;
                assert!(
                    threads.contains_key(&event.thread),
                    "thread described first"
                );
                let previous = last_seq.insert(event.thread, event.seq);
                assert!(
                    previous.is_none_or(|p| p < event.seq),
                    "per thread, in order"
                );
                if let EventKind::LockAcquired { resource, .. } = &event.kind {
                    let label = resources.get(resource).expect("resource described first");
                    *acquired.entry(label.clone()).or_default() += 1;
                }
            }
            other => panic!("unexpected line {other:?}"),
        }
    }
    assert_eq!(end.events, events);
    assert_eq!(summary.events, events);
    let names: HashSet<Option<String>> = threads.values().cloned().collect();
    assert!(names.contains(&Some("transfer-0".into())), "{names:?}");
    assert!(names.contains(&Some("transfer-1".into())), "{names:?}");
    // Two threads, 2,000 rounds each: every acquire of both locks is in the file.
    assert_eq!(acquired.get("ledger"), Some(&4_000), "{acquired:?}");
    assert_eq!(
        acquired.get("trace_file::transfer::accounts"),
        Some(&4_000),
        "{acquired:?}"
    );
}

#[test]
fn one_recording_at_a_time_and_a_dropped_one_is_finished_all_the_same() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let path = trace_path("dropped");
    let trace = TraceFile::create(&path).unwrap();
    let again = TraceFile::create(trace_path("second"));
    assert_eq!(
        again.err().map(|e| e.kind()),
        Some(std::io::ErrorKind::AlreadyExists)
    );
    let m = waitgraph::sync::Mutex::named("dropped", 0);
    for _ in 0..1_000 {
        *m.lock() += 1;
    }
    drop(trace);
    // Dropped, it is finished all the same: every event, then the end line.
    let lines = read(&path);
    let _ = std::fs::remove_file(&path);
    assert!(matches!(lines[0], TraceLine::Trace(_)));
    let events = lines
        .iter()
        .filter(|line| matches!(line, TraceLine::Event(_)))
        .count();
    assert_eq!(events, 2_000);
    assert!(matches!(lines.last(), Some(TraceLine::End(end)) if end.events == 2_000));
    // A new recording can start.
    let path = trace_path("after");
    let trace = TraceFile::create(&path).unwrap();
    assert_eq!(trace.finish().unwrap().events, 0);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn waitgraphs_own_primitives_record_jobs_sends_arrivals_and_thread_lifetimes() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let path = trace_path("natives");
    let trace = TraceFile::create(&path).unwrap();
    let pool = waitgraph::sync::Executor::new("trace-pool");
    let (send, receive) = waitgraph::sync::channel::bounded::<waitgraph::sync::Job>(4);
    let barrier = Arc::new(waitgraph::sync::Barrier::named("trace-barrier", 2));
    let worker_pool = pool.clone();
    let worker_barrier = barrier.clone();
    let worker = waitgraph::thread::Builder::new()
        .name("trace-worker".into())
        .spawn(move || {
            let _serving = worker_pool.enroll();
            let job = receive.recv().unwrap();
            job.run(|| worker_barrier.wait());
        })
        .unwrap();
    let job = pool.queue();
    send.send(job.clone()).unwrap();
    barrier.wait();
    job.wait();
    worker.join().unwrap();
    trace.finish().unwrap();

    let lines = read(&path);
    let _ = std::fs::remove_file(&path);
    let names: HashMap<ThreadKey, String> = lines
        .iter()
        .filter_map(|line| match line {
            TraceLine::Thread(info) => Some((info.key, info.name.clone().unwrap_or_default())),
            _ => None,
        })
        .collect();
    let kinds: Vec<(String, &EventKind)> = lines
        .iter()
        .filter_map(|line| match line {
            TraceLine::Event(event) => Some((names[&event.thread].clone(), &event.kind)),
            _ => None,
        })
        .collect();
    let has = |thread: &str, wanted: fn(&EventKind) -> bool| {
        kinds
            .iter()
            .any(|(name, kind)| name == thread && wanted(kind))
    };
    let main = std::thread::current()
        .name()
        .unwrap_or_default()
        .to_string();
    assert!(
        has(&main, |k| matches!(k, EventKind::JobQueued { .. })),
        "{kinds:?}"
    );
    assert!(has(&main, |k| matches!(k, EventKind::Send { .. })));
    assert!(has(
        "trace-worker",
        |k| matches!(k, EventKind::ThreadStart { name: Some(n) } if n == "trace-worker")
    ));
    assert!(has("trace-worker", |k| matches!(
        k,
        EventKind::JobStarted { .. }
    )));
    assert!(has("trace-worker", |k| matches!(
        k,
        EventKind::BarrierArrive { .. }
    )));
    assert!(has(&main, |k| matches!(k, EventKind::BarrierArrive { .. })));
    assert!(has("trace-worker", |k| matches!(
        k,
        EventKind::JobFinished { .. }
    )));
    assert!(has("trace-worker", |k| matches!(k, EventKind::ThreadExit)));
    // One job: queued, started and finished under the same keys.
    let jobs: HashSet<(ResourceKey, ResourceKey)> = kinds
        .iter()
        .filter_map(|(_, kind)| match kind {
            EventKind::JobQueued { job, executor }
            | EventKind::JobStarted { job, executor }
            | EventKind::JobFinished { job, executor } => Some((*job, *executor)),
            _ => None,
        })
        .collect();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
}

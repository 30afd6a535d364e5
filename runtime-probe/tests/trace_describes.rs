//! A trace describes every resource its events name, even one dropped before the writer
//! got to it, and says which thread started and joined which (fork / join order is what
//! the analyzer uses to rule out cycles that cannot interleave).

use std::collections::HashSet;
use std::io::BufRead;
use waitgraph::model::{Class, EventKind, ResourceKind, TraceLine};
use waitgraph::record::TraceFile;
use waitgraph::sync::Barrier;

fn read(path: &std::path::Path) -> Vec<TraceLine> {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    file.lines()
        .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
        .collect()
}

#[test]
fn short_lived_resources_are_described_and_forks_and_joins_recorded() {
    let path =
        std::env::temp_dir().join(format!("waitgraph-describes-{}.jsonl", std::process::id()));
    let trace = TraceFile::create(&path).unwrap();
    // Many barriers made, used once and dropped at once: long gone when written.
    for _ in 0..2_000 {
        let barrier = Barrier::named("short-lived", 1);
        barrier.wait();
    }
    let child = waitgraph::thread::Builder::new()
        .name("forked".into())
        .spawn(|| Barrier::named("in-child", 1).wait().is_leader())
        .unwrap();
    assert!(child.join().unwrap());
    trace.finish().unwrap();
    let lines = read(&path);
    let _ = std::fs::remove_file(&path);

    let described: HashSet<_> = lines
        .iter()
        .filter_map(|line| match line {
            TraceLine::Resource(info) => Some(info.key),
            _ => None,
        })
        .collect();
    let events: Vec<_> = lines
        .iter()
        .filter_map(|line| match line {
            TraceLine::Event(event) => Some(event),
            _ => None,
        })
        .collect();
    let arrivals: Vec<_> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::BarrierArrive { resource, parties } => {
                assert_eq!(*parties, 1, "the barrier's parties are recorded");
                Some(*resource)
            }
            _ => None,
        })
        .collect();
    assert_eq!(arrivals.len(), 2_001);
    let undescribed = arrivals
        .iter()
        .filter(|key| !described.contains(key))
        .count();
    assert_eq!(undescribed, 0, "arrivals at undescribed barriers");
    assert!(lines.iter().any(|line| matches!(line,
        TraceLine::Resource(info) if info.kind == ResourceKind::Barrier
            && info.class == Class::Named("short-lived".into()))));

    let forked = events
        .iter()
        .find_map(|event| match event.kind {
            EventKind::Fork { child } => Some((event.seq, child)),
            _ => None,
        })
        .expect("a fork event");
    let started = events
        .iter()
        .find(|event| {
            matches!(event.kind, EventKind::ThreadStart { .. }) && event.thread == forked.1
        })
        .expect("the child's start, under the key its parent chose");
    assert!(started.seq > forked.0);
    let joined = events
        .iter()
        .find_map(|event| match event.kind {
            EventKind::Join { child } if child == forked.1 => Some(event.seq),
            _ => None,
        })
        .expect("a join event naming the child");
    let exited = events
        .iter()
        .find(|event| matches!(event.kind, EventKind::ThreadExit) && event.thread == forked.1)
        .expect("the child's exit");
    assert!(joined > exited.seq);
}

//! demo -> probe -> trace -> analyzer: the incident recorded as a real process hangs,
//! the watchdog finishes the trace before it exits, and the analyzer reads the cycle's
//! last waits back from the file.

use std::time::Duration;
use waitgraph::model::{Event, EventKind, ThreadKey};
use waitgraph_analyzer::trace::{self, Trace};
use waitgraph_e2e::run_demo;

/// The wait each thread was last seen starting (and not ending).
fn last_open_wait(trace: &Trace, thread: ThreadKey) -> Option<&Event> {
    let mut open = None;
    for event in trace.events.iter().filter(|e| e.thread == thread) {
        match &event.kind {
            EventKind::WaitBegin { .. } => open = Some(event),
            EventKind::WaitEnd { .. } => open = None,
            _ => {}
        }
    }
    open
}

fn thread_named(trace: &Trace, name: &str) -> Vec<ThreadKey> {
    trace
        .threads
        .values()
        .filter(|t| t.name.as_deref().is_some_and(|n| n.starts_with(name)))
        .map(|t| t.key)
        .collect()
}

#[test]
fn a_deadlocked_run_leaves_a_whole_trace_that_ends_in_the_cycles_waits() {
    let path =
        std::env::temp_dir().join(format!("waitgraph-e2e-trace-{}.trace", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let path_text = path.to_str().unwrap();
    let run = run_demo(
        &[
            "run",
            "--variant",
            "buggy",
            "--gate",
            "1",
            "--trace",
            path_text,
        ],
        true,
        Duration::from_secs(30),
    );
    assert_eq!(run.status, Some(3), "{}", run.output);
    let trace = trace::load(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let end = trace.end.as_ref().expect("finished before the exit");
    assert_eq!(end.events, trace.events.len() as u64);
    assert!(!trace.truncated);

    let label = |event: &Event| match &event.kind {
        EventKind::WaitBegin { resource, wait, .. } => {
            let name = trace
                .resources
                .get(resource)
                .map(|r| r.label())
                .unwrap_or_default();
            format!("{} {name}", wait.as_str())
        }
        _ => String::new(),
    };
    let main = thread_named(&trace, "main");
    assert_eq!(main.len(), 1, "{:?}", trace.threads);
    let main_wait = last_open_wait(&trace, main[0]).expect("main was waiting");
    assert_eq!(label(main_wait), "spin-wait workers-exit");
    let blocked_on_gil = thread_named(&trace, "workers-")
        .into_iter()
        .filter_map(|worker| last_open_wait(&trace, worker))
        .filter(|wait| label(wait) == "lock gil")
        .count();
    assert!(blocked_on_gil >= 1, "a worker's last wait is the gil");
}

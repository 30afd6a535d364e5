//! The demo binary with the prediction inside the running program and with a flight
//! recorder: a run that misses the race still warns about the incident's cycle while it
//! goes on, the shipped fix warns about nothing, and the last events of a run that hung
//! are enough for `waitgraph analyze` to name the cycle.

use std::path::PathBuf;
use std::time::Duration;
use waitgraph::model::{EventKind, ThreadKey};
use waitgraph::report::{Finding, FindingKind, Severity};
use waitgraph_e2e::{run_demo, run_waitgraph, Run};

const DEADLINE: Duration = Duration::from_secs(60);

fn temp(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "waitgraph-live-prediction-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

/// The line the demo prints after a run with `--predict`.
fn predicted_line(run: &Run) -> &str {
    run.stdout()
        .lines()
        .find(|line| line.starts_with("prediction: "))
        .unwrap_or_else(|| panic!("a prediction line: {}", run.output))
}

/// The findings the report file holds (none when the run wrote no report).
fn reported(run: &Run) -> Vec<&Finding> {
    run.report
        .as_ref()
        .map(|report| report.findings.iter().collect())
        .unwrap_or_default()
}

#[test]
fn a_run_that_misses_the_race_warns_about_the_incidents_cycle_while_it_goes_on() {
    let run = run_demo(
        &[
            "run",
            "--variant",
            "buggy",
            "--shrink-at",
            "idle",
            "--predict",
        ],
        true,
        DEADLINE,
    );
    assert_eq!(run.status, Some(0), "the run completes: {}", run.output);
    assert!(
        run.stdout().contains("workers left 0"),
        "the shrink completed: {}",
        run.output
    );
    assert_eq!(
        predicted_line(&run),
        "prediction: 1 potential cycle reported while the run went on",
        "{}",
        run.output
    );
    // Said on standard error once, naming the lock, the barrier and the pool.
    let said: Vec<&str> = run
        .stderr()
        .lines()
        .filter(|line| line.starts_with("waitgraph: queued-work-self-stall: "))
        .collect();
    assert_eq!(said.len(), 1, "{}", run.output);
    for name in ["`gil`", "`workers-exit`", "`workers`"] {
        assert!(said[0].contains(name), "{name} in {}", said[0]);
    }
    assert!(said[0].contains("did not hang"), "{}", said[0]);
    // The report file has it as a warning, not a deadlock.
    let findings = reported(&run);
    assert_eq!(findings.len(), 1, "{findings:#?}\n{}", run.output);
    let finding = findings[0];
    assert_eq!(finding.kind, FindingKind::QueuedWorkSelfStall);
    assert_eq!(finding.severity, Severity::Warning);
    assert!(!finding.confirmed, "a prediction: {finding:#?}");
    let main = finding
        .cycle
        .iter()
        .find(|s| s.thread == "main")
        .unwrap_or_else(|| panic!("main is on the cycle: {finding:#?}"));
    assert_eq!(main.waits_for.resource, "workers-exit");
    assert!(main.holds.iter().any(|h| h.resource == "gil"), "{main:#?}");
    assert!(
        finding
            .cycle
            .iter()
            .any(|s| s.thread.starts_with("workers-") && s.waits_for.resource == "gil"),
        "a worker waits for the gil: {finding:#?}"
    );
}

#[test]
fn the_shipped_fix_predicts_nothing() {
    let run = run_demo(
        &["run", "--variant", "async-shrink", "--predict"],
        true,
        DEADLINE,
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert!(run.stdout().contains("workers left 0"), "{}", run.output);
    assert_eq!(
        predicted_line(&run),
        "prediction: 0 potential cycles reported while the run went on",
        "{}",
        run.output
    );
    assert!(
        !run.stderr().contains("queued-work-self-stall"),
        "{}",
        run.output
    );
    assert!(run.report.is_none(), "no finding at all: {:#?}", run.report);
}

#[test]
fn the_flight_recorder_of_a_run_that_hung_holds_what_analyze_needs_to_name_the_cycle() {
    const LAST: usize = 200;
    let trace = temp("flight.trace");
    let last = LAST.to_string();
    let run = run_demo(
        &[
            "run",
            "--variant",
            "buggy",
            "--gate",
            "1",
            "--trace",
            trace.to_str().unwrap(),
            "--trace-last",
            &last,
        ],
        true,
        DEADLINE,
    );
    assert_eq!(run.status, Some(3), "the watchdog exits: {}", run.output);
    let report = run
        .report
        .as_ref()
        .unwrap_or_else(|| panic!("the watchdog's report: {}", run.output));
    let deadlock = report
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::Deadlock)
        .unwrap_or_else(|| panic!("a deadlock: {report:#?}"));
    assert!(deadlock.confirmed);
    assert!(
        deadlock
            .cycle
            .iter()
            .any(|s| s.holds.iter().any(|h| h.resource == "gil")),
        "{deadlock:#?}"
    );

    // The file holds each thread's last events, no more (a `Lost` marker aside).
    let loaded = waitgraph_analyzer::trace::load(&trace)
        .unwrap_or_else(|error| panic!("the flight recorder reads back: {error}"));
    let end = loaded.end.as_ref().expect("written whole, with its end");
    assert_eq!(end.events, loaded.events.len() as u64);
    assert!(!loaded.truncated);
    let mut per_thread: std::collections::HashMap<ThreadKey, (usize, usize)> =
        std::collections::HashMap::new();
    for event in &loaded.events {
        let (kept, markers) = per_thread.entry(event.thread).or_default();
        match event.kind {
            EventKind::Lost { .. } => *markers += 1,
            _ => *kept += 1,
        }
    }
    assert!(per_thread.len() > 2, "{:?}", loaded.threads);
    for (thread, (kept, markers)) in &per_thread {
        assert!(
            *kept <= LAST && *markers <= 1,
            "{thread:?}: {kept} events and {markers} markers"
        );
    }
    assert!(
        per_thread.values().any(|(_, markers)| *markers == 1),
        "some thread did more than {LAST} things: {per_thread:?}"
    );

    // And that is enough to name the cycle offline.
    let analyzed = run_waitgraph(&["analyze", trace.to_str().unwrap()]);
    assert_eq!(analyzed.code(), Some(1), "{analyzed}");
    let error = analyzed
        .stdout
        .lines()
        .find(|line| line.starts_with("error[queued-work-self-stall]"))
        .unwrap_or_else(|| panic!("the cycle: {analyzed}"));
    assert!(error.contains("`gil`"), "{error}");
    assert!(error.contains("`workers-exit`"), "{error}");
    assert!(error.contains("this run hung in it"), "{error}");
    let _ = std::fs::remove_file(&trace);
}

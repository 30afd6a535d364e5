//! The deadlocking examples end to end: a real process that deadlocks, a watchdog that
//! writes the report and exits with status 3.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use waitgraph::report::{Finding, FindingKind, Report};

/// Builds the example with the cargo that runs this test (a filtered `cargo test` does
/// not build examples, and a stale binary would test old code), and returns its path.
fn example(name: &str) -> PathBuf {
    waitgraph_child_process::cargo(&["build", "--quiet", "-p", "waitgraph", "--example", name]);
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let path = deps.parent().unwrap().join("examples").join(name);
    assert!(path.exists(), "{} was built", path.display());
    path
}

/// Runs an example that should deadlock: its watchdog must stop it with status 3 (it is
/// killed at a 10 s deadline otherwise), and leave its report.
fn deadlocked_report(name: &str) -> Report {
    let report_path =
        std::env::temp_dir().join(format!("waitgraph-{name}-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&report_path);
    let program = example(name);
    let child = waitgraph_child_process::run(
        Command::new(program).arg("--report").arg(&report_path),
        Duration::from_secs(10),
    );
    assert!(
        !child.killed(),
        "the example was not stopped by its watchdog: {child}"
    );
    assert_eq!(child.code(), Some(3), "{child}");

    let text = std::fs::read_to_string(&report_path)
        .unwrap_or_else(|error| panic!("the report {}: {error}\n{child}", report_path.display()));
    let report: Report = serde_json::from_str(&text).unwrap();
    let _ = std::fs::remove_file(&report_path);
    assert_eq!(report.schema, 1);
    report
}

/// The confirmed deadlock of `transfer` and `audit`, each waiting for one of `locks`.
fn transfer_audit_cycle<'r>(report: &'r Report, locks: [&str; 2]) -> &'r Finding {
    let finding = report
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::Deadlock)
        .unwrap();
    assert!(finding.confirmed);
    let mut threads: Vec<&str> = finding.cycle.iter().map(|s| s.thread.as_str()).collect();
    threads.sort_unstable();
    assert_eq!(threads, ["audit", "transfer"]);
    let mut waited: Vec<&str> = finding
        .cycle
        .iter()
        .map(|s| s.waits_for.resource.as_str())
        .collect();
    waited.sort_unstable();
    assert_eq!(waited, locks);
    finding
}

#[test]
fn ab_ba_exits_3_with_a_report_naming_both_threads_locks_and_functions() {
    let report = deadlocked_report("ab_ba");
    let finding = transfer_audit_cycle(&report, ["accounts", "ledger"]);
    for step in &finding.cycle {
        let site = step.site.as_ref().unwrap();
        assert!(site.file.ends_with("ab_ba.rs"), "{site}");
        assert!(step.holds[0]
            .site
            .as_ref()
            .unwrap()
            .file
            .ends_with("ab_ba.rs"));
        let backtrace = step
            .backtrace
            .as_deref()
            .expect("a backtrace of the blocked thread");
        let function = if step.thread == "audit" {
            "ab_ba::audit"
        } else {
            "ab_ba::transfer"
        };
        assert!(
            backtrace.contains(function),
            "{function} not in\n{backtrace}"
        );
        assert!(
            !backtrace.contains("serve_requests"),
            "the probe's own frames are trimmed:\n{backtrace}"
        );
    }
}

#[test]
fn attribute_std_exits_3_with_a_cycle_of_std_mutexes_named_by_the_attribute() {
    let report = deadlocked_report("attribute_std");
    let finding = transfer_audit_cycle(
        &report,
        [
            "attribute_std::Bank::accounts",
            "attribute_std::Bank::ledger",
        ],
    );
    for step in &finding.cycle {
        let site = step.site.as_ref().unwrap();
        assert!(site.file.ends_with("attribute_std.rs"), "{site}");
        let function = format!("attribute_std::{}", step.thread);
        assert_eq!(site.function.as_deref(), Some(function.as_str()));
        assert_eq!(step.context, vec![function.clone()]);
        let held = &step.holds[0];
        assert!(held
            .site
            .as_ref()
            .unwrap()
            .file
            .ends_with("attribute_std.rs"));
    }
}

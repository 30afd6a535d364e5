//! The incident end to end: the demo binary under load, the watchdog's report read back.

use std::time::Duration;
use waitgraph::report::{Finding, FindingKind};
use waitgraph_e2e::run_demo;

const DEADLINE: Duration = Duration::from_secs(30);

fn deadlock(run: &waitgraph_e2e::Run) -> &Finding {
    assert_eq!(run.status, Some(3), "{}", run.output);
    let report = run
        .report
        .as_ref()
        .unwrap_or_else(|| panic!("a report: {}", run.output));
    report
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::Deadlock)
        .unwrap_or_else(|| panic!("a deadlock finding: {report:#?}\n{}", run.output))
}

/// The real cycle: the main thread holding the gil at the spin-wait, the shrink barrier,
/// a worker at the gil acquisition.
fn assert_the_real_cycle(finding: &Finding) {
    assert!(finding.confirmed);
    let main = finding
        .cycle
        .iter()
        .find(|s| s.thread.starts_with("main"))
        .expect("the main thread is on the cycle");
    assert_eq!(main.waits_for.wait, "spin-wait");
    assert_eq!(
        main.waits_for.resource, "workers-exit",
        "the shrink barrier"
    );
    assert!(
        main.site.as_ref().unwrap().file.ends_with("shrink/mod.rs"),
        "{:?}",
        main.site
    );
    assert!(
        main.holds.iter().any(|h| h.resource.starts_with("gil")),
        "{:?}",
        main.holds
    );
    let worker = finding
        .cycle
        .iter()
        .find(|s| s.thread.starts_with("workers"))
        .expect("a worker is on the cycle");
    assert!(worker.waits_for.resource.starts_with("gil"));
    assert_eq!(worker.waits_for.wait, "lock");
    assert!(
        worker.site.as_ref().unwrap().file.ends_with("pool.rs"),
        "{:?}",
        worker.site
    );
    assert_eq!(finding.cycle.len(), 2);
}

#[test]
fn buggy_under_load_deadlocks_and_the_watchdog_names_the_real_cycle() {
    let run = run_demo(
        &["run", "--variant", "buggy", "--gate", "1"],
        true,
        DEADLINE,
    );
    let finding = deadlock(&run);
    assert_the_real_cycle(finding);
    // Clients waiting for the frozen shard are victims, not part of the cycle.
    assert!(finding
        .victims
        .iter()
        .any(|v| v.thread.starts_with("client-")));
    assert!(!finding
        .cycle
        .iter()
        .any(|s| s.thread.starts_with("client-")));
}

#[test]
fn the_write_ups_reordering_still_deadlocks() {
    let run = run_demo(
        &["run", "--variant", "reordered", "--gate", "1"],
        true,
        DEADLINE,
    );
    let finding = deadlock(&run);
    assert_the_real_cycle(finding);
}

#[test]
fn with_two_shards_the_coordinator_threads_are_victims_not_the_cycle() {
    let run = run_demo(
        &["run", "--variant", "buggy", "--shards", "2", "--gate", "1"],
        true,
        DEADLINE,
    );
    let finding = deadlock(&run);
    assert_the_real_cycle(finding);
    assert!(!finding.cycle.iter().any(|s| s.thread.starts_with("coord")));
    let coordinators = finding
        .victims
        .iter()
        .filter(|v| v.thread.starts_with("coord"))
        .count();
    assert!(coordinators > 0, "{:#?}", finding.victims);
}

#[test]
fn timeout_fails_the_command_and_answers_every_query() {
    let run = run_demo(
        &["run", "--variant", "timeout", "--gate", "1"],
        true,
        DEADLINE,
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert!(
        run.stdout()
            .contains("command failed: CONFIG SET WORKERS 0 timed out"),
        "{}",
        run.output
    );
    assert!(
        run.stdout().contains("errors 0, wrong 0; workers left 8"),
        "{}",
        run.output
    );
    // A bounded stall, warned about; never a deadlock.
    let report = run.report.expect("the stall warnings");
    assert!(report.findings.iter().all(|f| f.kind == FindingKind::Stall));
    assert!(report
        .findings
        .iter()
        .any(|f| f.cycle[0].thread.starts_with("main")));
}

/// The number after `key` in `stdout`.
fn number(stdout: &str, key: &str) -> u64 {
    let at = stdout
        .find(key)
        .unwrap_or_else(|| panic!("`{key}` in {stdout}"))
        + key.len();
    stdout[at..]
        .trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn answered_line(stdout: &str) -> (u64, u64) {
    (number(stdout, "queries sent"), number(stdout, "answered"))
}

#[test]
fn async_shrink_completes_with_every_query_answered_and_no_finding() {
    let run = run_demo(&["run", "--variant", "async-shrink"], true, DEADLINE);
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert!(run.report.is_none(), "no finding: {:?}", run.report);
    let (sent, answered) = answered_line(run.stdout());
    assert!(sent > 100 && sent == answered, "{}", run.output);
    assert!(run.stdout().contains("workers left 0"), "{}", run.output);
    // Every thread the run started has exited by the end (the process's own threads,
    // the watchdog's among them, are there before and after).
    assert_eq!(
        number(run.stdout(), "threads before"),
        number(run.stdout(), "after shutting down"),
        "{}",
        run.output
    );
}

#[test]
fn async_shrink_stepwise_8_4_2_1_0_under_load() {
    let run = run_demo(
        &["run", "--variant", "async-shrink", "--shrink-to", "4,2,1,0"],
        true,
        DEADLINE,
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert!(run.report.is_none(), "no finding: {:?}", run.report);
    let (sent, answered) = answered_line(run.stdout());
    assert_eq!(sent, answered);
    assert!(run.stdout().contains("workers left 0"), "{}", run.output);
    assert!(run.stdout().contains("thread list): 8\n"), "{}", run.output);
}

#[test]
fn buggy_shrink_while_idle_completes() {
    let run = run_demo(
        &["run", "--variant", "buggy", "--shrink-at", "idle"],
        true,
        DEADLINE,
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert!(run.report.is_none(), "{:?}\n{}", run.report, run.output);
    assert!(run.stdout().contains("workers left 0"), "{}", run.output);
}

#[test]
fn buggy_shrink_with_only_no_content_queries_completes() {
    let run = run_demo(
        &["run", "--variant", "buggy", "--no-content"],
        true,
        DEADLINE,
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert!(run.report.is_none(), "{:?}\n{}", run.report, run.output);
}

#[test]
fn every_catalogue_scenario_gives_its_expected_outcome() {
    let listing = run_demo(&["scenarios"], false, DEADLINE);
    assert_eq!(listing.status, Some(0), "{}", listing.output);
    let mut checked = 0;
    for line in listing.stdout().lines() {
        let mut words = line.split_whitespace();
        let (Some(name), Some("expect"), Some(expected)) =
            (words.next(), words.next(), words.next())
        else {
            continue;
        };
        let run = run_demo(&["scenario", name], true, DEADLINE);
        match expected {
            "deadlock" => {
                deadlock(&run);
            }
            "completes" => {
                assert_eq!(run.status, Some(0), "{name}: {}", run.output);
                assert!(run.report.is_none(), "{name}: {:?}", run.report);
            }
            other => panic!("unknown expectation {other}"),
        }
        checked += 1;
    }
    assert!(checked >= 10, "{}", listing.output);
}

#[test]
fn the_incident_command_runs_every_variant_as_the_incident_says() {
    let dir = std::env::temp_dir().join(format!("waitgraph-incident-{}", std::process::id()));
    let run = run_demo(
        &[
            "incident",
            "--report-dir",
            dir.to_str().unwrap(),
            "--gate",
            "1",
        ],
        false,
        Duration::from_secs(120),
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert!(
        run.stdout()
            .contains("buggy         DEADLOCK caught live by the watchdog"),
        "{}",
        run.output
    );
    assert!(
        run.stdout()
            .contains("reordered     DEADLOCK caught live by the watchdog"),
        "{}",
        run.output
    );
    assert!(
        run.stdout().contains("timed out after 5.0 s"),
        "{}",
        run.output
    );
    assert!(
        run.stdout().contains("async-shrink  completed"),
        "{}",
        run.output
    );
    assert!(dir.join("incident-buggy.json").exists(), "{}", run.output);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn runs_that_miss_the_race_show_the_deadlock_predicted_from_their_traces() {
    let dir = std::env::temp_dir().join(format!("waitgraph-predicted-{}", std::process::id()));
    let run = run_demo(
        &[
            "incident",
            "--report-dir",
            dir.to_str().unwrap(),
            "--shrink-at",
            "idle",
        ],
        false,
        Duration::from_secs(120),
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    let out = run.stdout();
    // No run hangs; the two deadlocking variants are still shown, predicted.
    assert!(!out.contains("DEADLOCK caught live"), "{}", run.output);
    assert_eq!(
        out.matches("PREDICTED from its trace").count(),
        2,
        "{}",
        run.output
    );
    assert!(out.contains("queued-work-self-stall"), "{}", run.output);
    assert!(
        out.contains("How each variant was seen: buggy: predicted from a run that did not hang; reordered: predicted from a run that did not hang; timeout: race missed; predicted as a bounded stall; async-shrink: completed, nothing predicted."),
        "{}",
        run.output
    );
    assert!(dir.join("incident-buggy.trace").exists(), "{}", run.output);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn usage_errors_exit_2() {
    let run = run_demo(&["run", "--variant", "nonsense"], false, DEADLINE);
    assert_eq!(run.status, Some(2), "{}", run.output);
    assert!(
        run.stderr().contains("unknown variant `nonsense`"),
        "{}",
        run.output
    );
    let run = run_demo(
        &["run", "--variant", "buggy", "--workers", "99"],
        false,
        DEADLINE,
    );
    assert_eq!(run.status, Some(2), "{}", run.output);
    assert!(
        run.stderr()
            .contains("invalid value '99' for '--workers <N>': takes a whole number from 0 to 16"),
        "{}",
        run.output
    );
    // Every subcommand explains itself.
    let run = run_demo(&["run", "--help"], false, DEADLINE);
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert!(
        run.stdout().contains("--variant <VARIANT>"),
        "{}",
        run.output
    );
    assert!(run.stdout().contains("--trace-last <N>"), "{}", run.output);
    let run = run_demo(&["run", "--version"], false, DEADLINE);
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert!(run.stdout().starts_with("demo-pool-run "), "{}", run.output);
    let run = run_demo(&["incident", "--shrink-at", "sideways"], false, DEADLINE);
    assert_eq!(run.status, Some(2), "{}", run.output);
    assert!(run.stderr().contains("under-load, idle"), "{}", run.output);
    // A report path that cannot be written is said before anything runs, naming it.
    let dir = std::env::temp_dir();
    let run = run_demo(
        &[
            "run",
            "--variant",
            "buggy",
            "--report",
            dir.to_str().unwrap(),
        ],
        false,
        DEADLINE,
    );
    assert_eq!(run.status, Some(2), "{}", run.output);
    assert!(
        run.stderr()
            .contains(&format!("cannot write the report to {}", dir.display())),
        "{}",
        run.output
    );
}

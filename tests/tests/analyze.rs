//! `waitgraph analyze` as a real process on real traces of the demo: the incident is
//! predicted from runs that did not hang, the fixes are not flagged, every deadlock the
//! watchdog catches live is found in its trace too, bad input is an error that says
//! where, and binary traces read as JSON lines do.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Duration;
use waitgraph::model::{
    Class, Event, EventKind, LockMode, ResourceInfo, ResourceKey, ResourceKind, Site, ThreadInfo,
    ThreadKey, TraceEnd, TraceHeader, TraceLine,
};
use waitgraph::report::{Finding, FindingKind, Mode, Report, Severity};
use waitgraph_core::binary::{Encoder, MAGIC, VERSION};
use waitgraph_e2e::{analyzer_bin_dir, run_demo, run_waitgraph};

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("waitgraph-analyze-{}-{name}", std::process::id()))
}

/// Records `demo-pool ARGS --trace FILE` and returns the trace's path.
fn record(name: &str, args: &[&str], expect_status: i32) -> PathBuf {
    let trace = temp(&format!("{name}.trace"));
    let _ = std::fs::remove_file(&trace);
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--trace", trace.to_str().unwrap()]);
    let run = run_demo(&all, false, Duration::from_secs(60));
    assert_eq!(run.status, Some(expect_status), "{}", run.output);
    trace
}

/// `waitgraph analyze --format json TRACE`: the exit status and the report.
fn analyze(trace: &Path) -> (Option<i32>, Report) {
    let output = run_waitgraph(&["analyze", "--format", "json", trace.to_str().unwrap()]);
    let report: Report = serde_json::from_str(&output.stdout)
        .unwrap_or_else(|e| panic!("a JSON report: {e}\n{output}"));
    assert_eq!(report.mode, Mode::Trace);
    (output.code(), report)
}

fn names(finding: &Finding) -> String {
    let steps = finding.cycle.iter().map(|s| {
        format!(
            "{} {} {} {}",
            s.thread,
            s.waits_for.resource,
            s.holds
                .iter()
                .map(|h| h.resource.as_str())
                .collect::<Vec<_>>()
                .join(","),
            s.site
                .as_ref()
                .map(|x| x.file.to_string())
                .unwrap_or_default()
        )
    });
    format!(
        "{} | {}",
        finding.summary,
        steps.collect::<Vec<_>>().join(" | ")
    )
}

fn assert_incident_predicted(report: &Report, expect: Severity) {
    let findings: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::QueuedWorkSelfStall)
        .collect();
    assert_eq!(findings.len(), 1, "{report:#?}");
    let finding = findings[0];
    assert_eq!(finding.severity, expect);
    assert!(!finding.confirmed, "the run did not hang");
    let text = names(finding);
    for name in ["gil", "workers-exit", "`workers`"] {
        assert!(text.contains(name), "{name} in {text}");
    }
    let files: Vec<String> = finding
        .cycle
        .iter()
        .filter_map(|s| s.site.as_ref().map(|x| x.file.to_string()))
        .collect();
    assert!(
        files.iter().any(|f| f.starts_with("demo-pool/src/shrink/")),
        "{files:?}"
    );
    assert!(
        files.iter().any(|f| f == "demo-pool/src/pool.rs"),
        "{files:?}"
    );
    assert!(finding.scenario.len() >= 4, "{:?}", finding.scenario);
}

#[test]
fn the_incident_is_predicted_from_runs_that_did_not_hang_and_the_fix_is_clean() {
    let idle = ["run", "--shrink-at", "idle", "--variant"];
    let trace = |variant: &str| {
        let mut args = idle.to_vec();
        args.push(variant);
        record(variant, &args, 0)
    };
    for variant in ["buggy", "reordered"] {
        let (status, report) = analyze(&trace(variant));
        assert_eq!(status, Some(1), "{variant}");
        assert_incident_predicted(&report, Severity::Error);
    }
    // A bound on the spin: a stall at most, said as a warning.
    let (_, report) = analyze(&trace("timeout"));
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.severity == Severity::Warning),
        "{report:#?}"
    );
    assert_incident_predicted(&report, Severity::Warning);
    // The shipped fix: nothing.
    let (status, report) = analyze(&trace("async-shrink"));
    assert_eq!((status, report.findings.len()), (Some(0), 0), "{report:#?}");
}

#[test]
fn a_hung_run_stays_confirmed_when_analysed_with_a_run_that_did_not_hang() {
    let hung = record("hung", &["run", "--variant", "buggy", "--gate", "1"], 3);
    let completed = record(
        "completed",
        &["run", "--variant", "buggy", "--shrink-at", "idle"],
        0,
    );
    // The completed run's idle workers belong to another process: they could not have
    // freed the hung run's pool.
    for traces in [[&hung, &completed], [&completed, &hung]] {
        let paths: Vec<&str> = traces.iter().map(|t| t.to_str().unwrap()).collect();
        let mut args = vec!["analyze", "--format", "json"];
        args.extend(&paths);
        let output = run_waitgraph(&args);
        let report: Report = serde_json::from_str(&output.stdout)
            .unwrap_or_else(|e| panic!("a JSON report: {e}\n{output}"));
        let finding = report
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::QueuedWorkSelfStall)
            .unwrap_or_else(|| panic!("{report:#?}"));
        assert!(finding.confirmed, "{paths:?}: {finding:#?}");
    }
}

#[test]
fn scenarios_that_hang_are_found_in_their_traces_as_the_watchdog_saw_them() {
    for scenario in [
        "partial-shrink",
        "revive-while-draining",
        "self-queued-pool",
        "drain-under-gil",
        "spec-across-gil",
        "coordinator-queue-full",
    ] {
        let trace = temp(&format!("{scenario}.trace"));
        let _ = std::fs::remove_file(&trace);
        let run = run_demo(
            &["scenario", scenario, "--trace", trace.to_str().unwrap()],
            true,
            Duration::from_secs(60),
        );
        assert_eq!(run.status, Some(3), "{scenario}: {}", run.output);
        let live = run.report.as_ref().expect("the watchdog's report");
        let live = live
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::Deadlock)
            .expect("a live deadlock");
        // Every wait of the predicted cycle is one the watchdog saw a thread stuck in
        // (of a pool's workers blocked alike, or of two cycles through the same knot,
        // the two may pick different ones).
        let stuck: Vec<(&str, &str)> = live
            .cycle
            .iter()
            .chain(&live.also_deadlocked)
            .chain(&live.victims)
            .map(|s| (s.thread.as_str(), s.waits_for.resource.as_str()))
            .collect();
        let (status, report) = analyze(&trace);
        assert_eq!(status, Some(1), "{scenario}");
        let agreed = report.findings.iter().any(|f| {
            f.confirmed
                && f.severity == Severity::Error
                && f.cycle
                    .iter()
                    .all(|s| stuck.contains(&(s.thread.as_str(), s.waits_for.resource.as_str())))
        });
        assert!(agreed, "{scenario}: live {live:#?}, offline {report:#?}");
    }
}

#[test]
fn healthy_scenarios_leave_nothing_to_report() {
    for scenario in ["healthy-async-shrink", "healthy-no-shrink"] {
        let trace = temp(&format!("{scenario}.trace"));
        let run = run_demo(
            &["scenario", scenario, "--trace", trace.to_str().unwrap()],
            false,
            Duration::from_secs(60),
        );
        assert_eq!(run.status, Some(0), "{scenario}: {}", run.output);
        let (status, report) = analyze(&trace);
        assert_eq!(
            (status, report.findings.len()),
            (Some(0), 0),
            "{scenario}: {report:#?}"
        );
    }
}

#[test]
fn bad_input_is_an_error_that_says_where_and_a_cut_trace_is_analysed_whole() {
    let dir = temp("bad");
    std::fs::create_dir_all(&dir).unwrap();
    // A malformed line: file, line and what was expected; exit 2.
    let malformed = dir.join("malformed.std");
    std::fs::write(&malformed, "T0|acq(a)|1\nT0|acq(b)|2\nT0|grab(c)|3\n").unwrap();
    let output = run_waitgraph(&["analyze", malformed.to_str().unwrap()]);
    assert_eq!(output.code(), Some(2), "{output}");
    let expected = format!("{}:3:", malformed.display());
    assert!(output.stderr.contains(&expected), "{output}");
    assert!(output.stderr.contains("grab"), "{output}");
    // A report given by mistake.
    let report = dir.join("report.json");
    let empty = Report::new(Mode::Live, Vec::new());
    std::fs::write(&report, serde_json::to_string(&empty).unwrap()).unwrap();
    let output = run_waitgraph(&["analyze", report.to_str().unwrap()]);
    assert_eq!(output.code(), Some(2), "{output}");
    assert!(output.stderr.contains("report"), "{output}");
    // A missing file.
    let output = run_waitgraph(&["analyze", dir.join("missing").to_str().unwrap()]);
    assert_eq!(output.code(), Some(2), "{output}");
    // A trace whose last line was cut: the complete events are analysed, and it says so.
    let cut = dir.join("cut.std");
    std::fs::write(
        &cut,
        "T0|acq(a)|1\nT0|acq(b)|2\nT0|rel(b)|3\nT0|rel(a)|4\nT1|acq(b)|5\nT1|acq(a)|6\nT1|rel(",
    )
    .unwrap();
    let output = run_waitgraph(&["analyze", cut.to_str().unwrap()]);
    assert_eq!(output.code(), Some(1), "{output}");
    assert!(
        output.stdout.contains("error[lock-order-inversion]"),
        "{output}"
    );
    assert!(output.stderr.contains("cut short"), "{output}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_command_line_explains_itself_and_works_under_cargo() {
    let output = run_waitgraph(&["analyze", "--help"]);
    assert_eq!(output.code(), Some(0), "{output}");
    assert!(output.stdout.contains("TRACE"), "{output}");
    let output = run_waitgraph(&[]);
    assert_eq!(output.code(), Some(2), "{output}");
    // `cargo waitgraph analyze ...` runs `cargo-waitgraph waitgraph analyze ...`.
    let dir = temp("cargo");
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("t.std");
    std::fs::write(&trace, "T0|acq(a)|1\nT0|rel(a)|2\n").unwrap();
    let out = dir.join("report.json");
    let mut command = std::process::Command::new(analyzer_bin_dir().join("cargo-waitgraph"));
    command.args(["waitgraph", "analyze", "--format", "json", "--out"]);
    command.arg(&out).arg(&trace);
    let output = waitgraph_child_process::run(&mut command, Duration::from_secs(60));
    assert_eq!(output.code(), Some(0), "{output}");
    let report: Report = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(report.findings.is_empty());
    assert!(
        output
            .stderr
            .contains("0 errors, 0 warnings; report written to"),
        "{output}"
    );
    let mut help = std::process::Command::new(analyzer_bin_dir().join("cargo-waitgraph"));
    help.args(["waitgraph", "--help"]);
    let output = waitgraph_child_process::run(&mut help, Duration::from_secs(60));
    assert!(output.stdout.contains("Usage: cargo waitgraph"), "{output}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A binary trace of two threads taking locks `a` and `b` in opposite orders (one after
/// the other: the run did not hang), built record by record as the recorder writes them.
fn binary_inversion() -> Vec<u8> {
    let site = |line: u32| Site {
        file: Cow::Borrowed("src/bank.rs"),
        line,
        column: 5,
        function: Some(Cow::Borrowed("transfer")),
    };
    let mut bytes = Vec::new();
    let mut encoder = Encoder::start(&TraceHeader::current(), &mut bytes);
    for (key, name) in [(1, "teller-1"), (2, "teller-2")] {
        let thread = ThreadInfo {
            key: ThreadKey(key),
            name: Some(name.into()),
        };
        encoder.line(&TraceLine::Thread(thread), &mut bytes);
    }
    for (key, name) in [(10, "a"), (11, "b")] {
        let resource = ResourceInfo {
            key: ResourceKey(key),
            kind: ResourceKind::Mutex,
            class: Class::Named(Cow::Borrowed(name)),
            created: site(key as u32),
        };
        encoder.line(&TraceLine::Resource(resource), &mut bytes);
    }
    let x = LockMode::Exclusive;
    let mut seq = 0;
    for (thread, first, second) in [(1, 10, 11), (2, 11, 10)] {
        let (first, second) = (ResourceKey(first), ResourceKey(second));
        for kind in [
            EventKind::LockAcquired {
                resource: first,
                mode: x,
            },
            EventKind::LockAcquired {
                resource: second,
                mode: x,
            },
            EventKind::LockReleased {
                resource: second,
                mode: x,
            },
            EventKind::LockReleased {
                resource: first,
                mode: x,
            },
        ] {
            seq += 1;
            let event = Event {
                seq,
                thread: ThreadKey(thread),
                kind,
                site: Some(site(20 + seq as u32)),
            };
            encoder.line(&TraceLine::Event(event), &mut bytes);
        }
    }
    encoder.end(
        &TraceEnd {
            events: seq,
            dropped: 0,
        },
        &mut bytes,
    );
    bytes
}

#[test]
fn binary_traces_are_analysed_cut_short_too_and_a_newer_version_is_refused() {
    let dir = temp("binary");
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = binary_inversion();
    // Whole: the inversion, exit 1; the name says nothing, the content does.
    let whole = dir.join("bank.trace");
    std::fs::write(&whole, &bytes).unwrap();
    let (status, report) = analyze(&whole);
    assert_eq!(status, Some(1), "{report:#?}");
    let finding = report
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::LockOrderInversion)
        .unwrap_or_else(|| panic!("{report:#?}"));
    let text = names(finding);
    for name in ["teller-1", "teller-2", "src/bank.rs"] {
        assert!(text.contains(name), "{name} in {text}");
    }
    let output = run_waitgraph(&["analyze", whole.to_str().unwrap()]);
    assert_eq!(output.code(), Some(1), "{output}");
    assert!(
        output.stdout.contains("error[lock-order-inversion]"),
        "{output}"
    );
    assert!(output.stderr.is_empty(), "{output}");
    // Cut inside its `end` record: every event is there, and it says what was left out.
    let cut = dir.join("cut.trace");
    std::fs::write(&cut, &bytes[..bytes.len() - 2]).unwrap();
    let output = run_waitgraph(&["analyze", cut.to_str().unwrap()]);
    assert_eq!(output.code(), Some(1), "{output}");
    assert!(
        output.stdout.contains("error[lock-order-inversion]"),
        "{output}"
    );
    let note = format!(
        "{} was cut short: its last record (2 bytes) was left out; 8 complete events were analysed",
        cut.display()
    );
    assert!(output.stderr.contains(&note), "{output}");
    // Written by a newer waitgraph: exit 2, the file and both versions named.
    let newer = dir.join("newer.trace");
    let mut bumped = bytes.clone();
    bumped[MAGIC.len()..MAGIC.len() + 2].copy_from_slice(&(VERSION + 1).to_le_bytes());
    std::fs::write(&newer, &bumped).unwrap();
    let output = run_waitgraph(&["analyze", newer.to_str().unwrap()]);
    assert_eq!(output.code(), Some(2), "{output}");
    let said = format!(
        "waitgraph: error: {}: byte 0: format version {}, but this reader knows versions 1 to {VERSION} (a newer waitgraph wrote it: upgrade to read it)",
        newer.display(),
        VERSION + 1
    );
    assert!(output.stderr.contains(&said), "{output}");
    assert!(output.stdout.is_empty(), "{output}");
    let _ = std::fs::remove_dir_all(&dir);
}

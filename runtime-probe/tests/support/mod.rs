//! Runs a scenario in a child process (this test binary again, told which scenario by an
//! environment variable) with a deadline, so deadlocked threads never outlive their test
//! and a missed deadlock fails fast instead of hanging the suite. The child's output is
//! kept, never printed: assertion messages about a child show it.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use waitgraph::report::{Finding, FindingKind, Report};
pub use waitgraph_child_process::Output;

pub const SCENARIO_VAR: &str = "WAITGRAPH_TEST_SCENARIO";
pub const REPORT_VAR: &str = "WAITGRAPH_TEST_REPORT";
/// Where the child records its trace, if anywhere.
pub const TRACE_VAR: &str = "WAITGRAPH_TEST_TRACE";
/// Exit status of a child whose watchdog found a deadlock.
pub const DETECTED: i32 = 3;
/// Exit status of a child that completed with no finding.
pub const CLEAN: i32 = 0;
/// Exit status of a child that completed but whose watchdog reported something.
pub const FOUND_SOMETHING: i32 = 1;

pub struct Outcome {
    /// The exit code; `None` when the child had to be killed at the deadline.
    pub status: Option<i32>,
    pub report: Option<Report>,
    /// How the child ended and all it wrote (`{}` shows it, for assertion messages).
    pub child: Output,
}

impl Outcome {
    pub fn deadlock(&self) -> &Finding {
        assert_eq!(
            self.status,
            Some(DETECTED),
            "child did not report a deadlock: {}",
            self.child
        );
        let report = self
            .report
            .as_ref()
            .unwrap_or_else(|| panic!("a report file: {}", self.child));
        report
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::Deadlock)
            .unwrap_or_else(|| panic!("a deadlock finding: {report:#?}\n{}", self.child))
    }

    /// The first stall warning of a child that completed with findings (the line
    /// `finish_clean` printed).
    pub fn stall_warning(&self) -> &str {
        assert_eq!(self.status, Some(FOUND_SOMETHING), "{}", self.child);
        self.child
            .stderr
            .lines()
            .find(|line| line.contains("unexpected finding: stall"))
            .unwrap_or_else(|| panic!("a stall warning: {}", self.child))
    }

    pub fn assert_clean(&self) {
        assert_eq!(
            self.status,
            Some(CLEAN),
            "child was not clean: {}",
            self.child
        );
        assert!(
            self.report.is_none(),
            "no report file may be written: {:?}\n{}",
            self.report,
            self.child
        );
    }
}

/// Runs `scenario` through the test named `entry` (an ignored test that dispatches on the
/// environment variable), killing it after `deadline`.
pub fn run_child(entry: &str, scenario: &str, deadline: Duration) -> Outcome {
    run_child_recording(entry, scenario, deadline, None)
}

/// The same, the child recording its trace to `trace` (finished by the watchdog before
/// it exits on a deadlock).
pub fn run_child_recording(
    entry: &str,
    scenario: &str,
    deadline: Duration,
    trace: Option<&std::path::Path>,
) -> Outcome {
    let report = std::env::temp_dir().join(format!(
        "waitgraph-test-{}-{scenario}.json",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&report);
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args([
            entry,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SCENARIO_VAR, scenario)
        .env(REPORT_VAR, &report);
    if let Some(trace) = trace {
        command.env(TRACE_VAR, trace);
    }
    let child = waitgraph_child_process::run(&mut command, deadline);
    let report = read_report(&report, &child);
    Outcome {
        status: child.code(),
        report,
        child,
    }
}

fn read_report(path: &PathBuf, child: &Output) -> Option<Report> {
    let text = std::fs::read_to_string(path).ok()?;
    let _ = std::fs::remove_file(path);
    Some(
        serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("the report parses: {error}\n{text}\n{child}")),
    )
}

/// In the child: starts the watchdog (fast interval, exit 3 on a deadlock, report to the
/// file the parent named) and returns the scenario's name.
pub fn child_scenario() -> Option<(String, waitgraph::WatchdogHandle)> {
    let scenario = std::env::var(SCENARIO_VAR).ok()?;
    let report = std::env::var(REPORT_VAR).expect("report path");
    let watchdog = waitgraph::Watchdog::builder()
        .interval(Duration::from_millis(20))
        .report_file(report)
        .exit_on_deadlock(DETECTED)
        .start();
    if let Some(trace) = std::env::var_os(TRACE_VAR) {
        // Runs until the process ends (the watchdog finishes it before an exit); kept in
        // a static, not leaked, so LeakSanitizer has nothing to say in CI.
        static RECORDING: std::sync::Mutex<Option<waitgraph::record::TraceFile>> =
            std::sync::Mutex::new(None);
        let recording = waitgraph::record::TraceFile::create(trace).expect("a trace file");
        *RECORDING.lock().unwrap() = Some(recording);
    }
    Some((scenario, watchdog))
}

/// What the prediction engine finds in a trace the recorder wrote.
pub fn predict_from(trace: &std::path::Path) -> waitgraph::predict::Prediction {
    waitgraph::record::predict(trace).expect("the trace")
}

/// In the child, after a scenario that must complete: exit 0 if the watchdog found
/// nothing, 1 otherwise.
pub fn finish_clean(watchdog: waitgraph::WatchdogHandle) -> ! {
    // Let one more scan see the final state.
    std::thread::sleep(Duration::from_millis(60));
    let findings = watchdog.stop();
    if findings.is_empty() {
        std::process::exit(CLEAN);
    }
    for finding in &findings {
        eprintln!("unexpected finding: {}", finding.describe());
    }
    std::process::exit(FOUND_SOMETHING);
}

/// The body of a test binary's child entry: runs the scenario `dispatch` names (it
/// returns whether the scenario completes), then exits clean, or, for a deadlock, parks
/// until the watchdog exits the process (or the parent kills it at its deadline).
pub fn serve_child(dispatch: impl FnOnce(&str) -> bool) {
    let Some((scenario, watchdog)) = child_scenario() else {
        return;
    };
    if dispatch(&scenario) {
        finish_clean(watchdog);
    }
    loop {
        std::thread::park();
    }
}

/// A named thread (reports name threads).
pub fn spawn(name: &str, work: impl FnOnce() + Send + 'static) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(work)
        .expect("spawn")
}

/// The step of the cycle whose thread is named `name` (or starts with it, for a pool's
/// `workers-` threads).
pub fn step<'f>(finding: &'f Finding, name: &str) -> &'f waitgraph::report::Step {
    finding
        .cycle
        .iter()
        .find(|s| s.thread == name || (name.ends_with('-') && s.thread.starts_with(name)))
        .unwrap_or_else(|| panic!("{name} is on the cycle: {finding:#?}"))
}

/// Thread names of a finding's cycle, in order.
pub fn cycle_threads(finding: &Finding) -> Vec<&str> {
    finding.cycle.iter().map(|s| s.thread.as_str()).collect()
}

/// What each step of the cycle waits for, in order.
pub fn cycle_resources(finding: &Finding) -> Vec<&str> {
    finding
        .cycle
        .iter()
        .map(|s| s.waits_for.resource.as_str())
        .collect()
}

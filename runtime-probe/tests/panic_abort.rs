//! Under `panic = "abort"` the probe behaves the same for deadlocks, and a panic while a
//! lock is held ends the process without leaving a partial report behind.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use waitgraph_child_process::Output;

fn example() -> PathBuf {
    waitgraph_child_process::cargo(&[
        "build",
        "--quiet",
        "-p",
        "waitgraph",
        "--profile",
        "abort",
        "--example",
        "panic_abort",
    ]);
    // target/<profile>/deps/this-test -> target/abort/examples/panic_abort
    let target = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    target.join("abort").join("examples").join("panic_abort")
}

/// Runs the example in `mode`; it must end by itself (it is killed at a 20 s deadline).
fn run(mode: &str, report: &PathBuf) -> Output {
    let child = waitgraph_child_process::run(
        Command::new(example()).arg(mode).arg(report),
        Duration::from_secs(20),
    );
    assert!(!child.killed(), "{mode} did not end: {child}");
    child
}

#[test]
fn deadlocks_are_reported_and_a_panic_holding_a_lock_aborts_cleanly() {
    let report = std::env::temp_dir().join(format!("waitgraph-abort-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&report);
    let child = run("deadlock", &report);
    assert_eq!(child.code(), Some(3), "{child}");
    let text = std::fs::read_to_string(&report)
        .unwrap_or_else(|error| panic!("the report: {error}\n{child}"));
    let parsed: waitgraph::report::Report = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed.findings[0].cycle.len(), 2);
    std::fs::remove_file(&report).unwrap();

    let child = run("panic-holding", &report);
    let status = child.status.expect("not killed");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(6), "aborted: {child}");
    }
    assert!(!status.success(), "{child}");
    // No finding was due: no report, and certainly no partial one.
    assert!(!report.exists(), "{child}");
    // Nor a temp file of one, whatever its name.
    let name = format!("waitgraph-abort-{}.json", std::process::id());
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|file| file.contains(&name))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn under_abort_a_panicking_callback_or_scan_does_not_end_the_program_or_detection() {
    for mode in ["callback-panics", "scan-panics"] {
        let report = std::env::temp_dir().join(format!(
            "waitgraph-abort-{mode}-{}.json",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&report);
        let child = run(mode, &report);
        // Not aborted (status 134): the deadlock after the fault is reported, exit 3.
        assert_eq!(child.code(), Some(3), "{mode}: {child}");
        assert!(
            child
                .stderr
                .contains("it is replaced and the watchdog goes on"),
            "{mode}: {child}"
        );
        let text = std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("{e}\n{child}"));
        let parsed: waitgraph::report::Report = serde_json::from_str(&text).unwrap();
        assert!(
            parsed
                .findings
                .iter()
                .any(|f| f.kind == waitgraph::report::FindingKind::Deadlock),
            "{mode}: {parsed:#?}"
        );
        let _ = std::fs::remove_file(&report);
    }
}

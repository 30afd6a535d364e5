//! Under `panic = "abort"` the probe behaves the same for deadlocks, and a panic while a
//! lock is held ends the process without leaving a partial report behind.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn example() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            "waitgraph",
            "--profile",
            "abort",
            "--example",
            "panic_abort",
        ])
        .status()
        .expect("run cargo");
    assert!(status.success(), "building the example with panic = abort");
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

fn run(mode: &str, report: &PathBuf) -> std::process::ExitStatus {
    let mut child = Command::new(example())
        .arg(mode)
        .arg(report)
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("{mode} did not end within 20 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn deadlocks_are_reported_and_a_panic_holding_a_lock_aborts_cleanly() {
    let report = std::env::temp_dir().join(format!("waitgraph-abort-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&report);
    let status = run("deadlock", &report);
    assert_eq!(status.code(), Some(3));
    let text = std::fs::read_to_string(&report).unwrap();
    let parsed: waitgraph::report::Report = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed.findings[0].cycle.len(), 2);
    std::fs::remove_file(&report).unwrap();

    let status = run("panic-holding", &report);
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(6), "aborted: {status:?}");
    }
    assert!(!status.success());
    // No finding was due: no report, and certainly no partial one.
    assert!(!report.exists());
    let leftovers = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("waitgraph-abort-{}.json.tmp", std::process::id()))
        });
    assert!(!leftovers);
}

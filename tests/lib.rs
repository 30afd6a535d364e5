//! End-to-end tests across crates live in `tests/tests/`: the demo binary as a real
//! process, its reports read back with the probe's report types. This library holds
//! what they share.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use waitgraph::report::Report;

/// The demo runs use both cores: one at a time keeps their timings meaningful.
pub static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Builds `demo-pool` with the cargo running the tests and returns its path.
pub fn demo_pool() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", "demo-pool"])
        .status()
        .expect("run cargo");
    assert!(status.success(), "building demo-pool");
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    deps.parent().unwrap().join("demo-pool")
}

pub struct Run {
    /// `None`: killed at the deadline.
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    pub report: Option<Report>,
}

/// Runs `demo-pool ARGS --report <temp>` (when `with_report`), killed after `deadline`.
pub fn run_demo(args: &[&str], with_report: bool, deadline: Duration) -> Run {
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let exe = demo_pool();
    let report = std::env::temp_dir().join(format!(
        "waitgraph-e2e-{}-{}.json",
        std::process::id(),
        args.join("-").replace(['/', ','], "_")
    ));
    let _ = std::fs::remove_file(&report);
    let mut command = Command::new(exe);
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if with_report {
        command.arg("--report").arg(&report);
    }
    let started = Instant::now();
    let mut child = command.spawn().expect("spawn demo-pool");
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut out, &mut text).ok();
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut err, &mut text).ok();
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = started.elapsed();
    let report = std::fs::read_to_string(&report).ok().map(|text| {
        let _ = std::fs::remove_file(&report);
        serde_json::from_str(&text).expect("the report parses")
    });
    Run {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        elapsed,
        report,
    }
}

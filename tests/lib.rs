//! End-to-end tests across crates live in `tests/tests/`: the demo binary as a real
//! process, its reports read back with the probe's report types. This library holds
//! what they share.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;
use waitgraph::report::Report;
pub use waitgraph_child_process::Output;

/// The demo runs use both cores: one at a time keeps their timings meaningful.
pub static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Builds `demo-pool` with the cargo running the tests and returns its path.
pub fn demo_pool() -> PathBuf {
    waitgraph_child_process::cargo(&["build", "--quiet", "-p", "demo-pool"]);
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    deps.parent().unwrap().join("demo-pool")
}

/// Builds the `waitgraph` and `cargo-waitgraph` binaries and returns the directory
/// they are in.
pub fn analyzer_bin_dir() -> PathBuf {
    waitgraph_child_process::cargo(&["build", "--quiet", "-p", "waitgraph-analyzer", "--bins"]);
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    deps.parent().unwrap().to_path_buf()
}

/// Runs `waitgraph ARGS` as a process (killed after a minute).
pub fn run_waitgraph(args: &[&str]) -> Output {
    let mut command = Command::new(analyzer_bin_dir().join("waitgraph"));
    command.args(args);
    waitgraph_child_process::run(&mut command, Duration::from_secs(60))
}

pub struct Run {
    /// The exit code; `None`: killed at the deadline.
    pub status: Option<i32>,
    pub report: Option<Report>,
    /// How the demo ended and all it wrote (`{}` shows it, for assertion messages).
    pub output: Output,
}

impl Run {
    pub fn stdout(&self) -> &str {
        &self.output.stdout
    }

    pub fn stderr(&self) -> &str {
        &self.output.stderr
    }
}

/// Runs `demo-pool ARGS --report <temp>` (when `with_report`), killed after `deadline`.
/// Its output is kept, not printed: assertion messages show it.
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
    command.args(args);
    if with_report {
        command.arg("--report").arg(&report);
    }
    let output = waitgraph_child_process::run(&mut command, deadline);
    let report = std::fs::read_to_string(&report).ok().map(|text| {
        let _ = std::fs::remove_file(&report);
        serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("the report parses: {error}\n{text}\n{output}"))
    });
    Run {
        status: output.code(),
        report,
        output,
    }
}

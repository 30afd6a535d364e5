//! `waitgraph report` as a real process on the report the demo's watchdog writes when the
//! incident hangs (`demo-pool run --variant buggy --gate 1 --report r.json`): text with
//! the demo's own source marked, DOT that Graphviz draws, SARIF, JSON unchanged; and the
//! errors a user meets (not a report, a newer schema, a bad format), each with exit 2.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use waitgraph::report::{FindingKind, Report};
use waitgraph_e2e::{analyzer_bin_dir, run_demo, run_waitgraph};

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("waitgraph-report-{}-{name}", std::process::id()))
}

/// The workspace root: the demo's sites (`demo-pool/src/...`) are relative to it.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The watchdog's report of a run of the incident that hung.
fn hung_report() -> (PathBuf, Report) {
    let path = temp("buggy.json");
    let _ = std::fs::remove_file(&path);
    let run = run_demo(
        &[
            "run",
            "--variant",
            "buggy",
            "--gate",
            "1",
            "--report",
            path.to_str().unwrap(),
        ],
        false,
        Duration::from_secs(60),
    );
    assert_eq!(
        run.status,
        Some(3),
        "the watchdog caught it: {}",
        run.output
    );
    let report: Report = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(report
        .findings
        .iter()
        .any(|f| f.kind == FindingKind::Deadlock));
    (path, report)
}

#[test]
fn the_incidents_report_renders_in_every_format() {
    let (path, report) = hung_report();
    let path = path.to_str().unwrap();
    let root = workspace();
    let root = root.to_str().unwrap();

    // Text: the demo's own lines, marked where the cycle's threads wait and hold.
    let text = run_waitgraph(&["report", path, "--source-root", root]);
    assert_eq!(text.code(), Some(1), "findings: exit 1: {text}");
    let out = &text.stdout;
    assert!(out.starts_with("error[deadlock]: "), "{text}");
    assert!(out.contains("--> demo-pool/src/shrink/mod.rs:"), "{text}");
    assert!(out.contains("let spin = SpinWait::on(barrier);"), "{text}");
    assert!(
        out.contains("let mut gil = self.state.gil.lock();"),
        "{text}"
    );
    assert!(
        out.contains("`main` holds `gil` (exclusive), taken here"),
        "{text}"
    );
    assert!(
        out.contains("waits (lock") && out.contains("for `gil`"),
        "{text}"
    );
    assert!(out.contains("^^^^^^"), "{text}");
    assert!(out.contains("= note: victims: "), "{text}");
    assert!(!out.contains('\u{1b}'), "no colour off a terminal: {text}");
    let colored = run_waitgraph(&["report", path, "--source-root", root, "--color", "always"]);
    assert!(colored.stdout.contains("\u{1b}["), "{colored}");

    // Without the source: every step still said, with its site.
    let bare = run_waitgraph(&["report", path, "--source-root", "/nonexistent"]);
    assert_eq!(bare.code(), Some(1), "{bare}");
    assert!(!bare.stdout.contains("SpinWait::on"), "{bare}");
    assert!(
        bare.stdout
            .contains("= note: `main` holds `gil` (exclusive), taken at demo-pool/src/shard.rs:"),
        "{bare}"
    );

    // JSON: the same report.
    let json = run_waitgraph(&["report", path, "--format", "json"]);
    let back: Report = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(back, report);

    // SARIF: one result per finding, located in the demo's source.
    let sarif = run_waitgraph(&["report", path, "--format", "sarif"]);
    let log: serde_json::Value = serde_json::from_str(&sarif.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), report.findings.len());
    assert_eq!(results[0]["ruleId"], "deadlock");
    let uri = &results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
    assert!(uri.as_str().unwrap().starts_with("demo-pool/src/"), "{uri}");

    // DOT, written to a file, drawn by Graphviz.
    let dot = temp("buggy.dot");
    let written = run_waitgraph(&[
        "report",
        path,
        "--format",
        "dot",
        "--out",
        dot.to_str().unwrap(),
    ]);
    assert_eq!(written.code(), Some(1), "{written}");
    assert!(written.stdout.is_empty(), "{written}");
    assert!(
        written
            .stderr
            .contains("1 error, 0 warnings; report written to"),
        "{written}"
    );
    draw(&dot);
    let _ = std::fs::remove_file(&dot);
    let _ = std::fs::remove_file(path);
}

/// `dot -Tsvg FILE` succeeds and draws the cycle's threads (CI requires Graphviz).
fn draw(dot: &Path) {
    let mut command = Command::new("dot");
    command.arg("-Tsvg").arg(dot);
    if Command::new("dot").arg("-V").output().is_err() {
        assert!(
            std::env::var_os("WAITGRAPH_REQUIRE_TOOLS").is_none(),
            "Graphviz's `dot` is required here"
        );
        eprintln!("skipped drawing: no Graphviz `dot` on this machine");
        return;
    }
    let drawn = waitgraph_child_process::run(&mut command, Duration::from_secs(60));
    assert_eq!(drawn.code(), Some(0), "{drawn}");
    assert!(drawn.stderr.is_empty(), "{drawn}");
    assert!(drawn.stdout.contains("<svg"), "{drawn}");
    assert!(drawn.stdout.contains(">main</text>"), "{drawn}");
    assert!(drawn.stdout.contains(">gil"), "{drawn}");
}

#[test]
fn what_is_not_a_report_is_refused_with_exit_2() {
    let dir = temp("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("t.std");
    std::fs::write(&trace, "T0|acq(a)|1\nT0|rel(a)|2\n").unwrap();
    let output = run_waitgraph(&["report", trace.to_str().unwrap()]);
    assert_eq!(output.code(), Some(2), "{output}");
    assert!(output.stderr.contains("not JSON"), "{output}");

    let newer = dir.join("newer.json");
    std::fs::write(&newer, r#"{"schema": 7, "findings": []}"#).unwrap();
    let output = run_waitgraph(&["report", newer.to_str().unwrap()]);
    assert_eq!(output.code(), Some(2), "{output}");
    assert!(
        output.stderr.contains("report schema 7 is not known"),
        "{output}"
    );

    let clean = dir.join("clean.json");
    let report = Report::new(waitgraph::report::Mode::Live, Vec::new());
    std::fs::write(&clean, serde_json::to_string(&report).unwrap()).unwrap();
    let output = run_waitgraph(&["report", clean.to_str().unwrap()]);
    assert_eq!(output.code(), Some(0), "no finding: exit 0: {output}");
    assert_eq!(output.stdout, "waitgraph: 0 errors, 0 warnings\n");

    let output = run_waitgraph(&["report", clean.to_str().unwrap(), "--format", "pdf"]);
    assert_eq!(output.code(), Some(2), "{output}");
    assert!(
        output.stderr.contains("'pdf'") && output.stderr.contains("text, json, dot, sarif"),
        "{output}"
    );
    let output = run_waitgraph(&["report", "--help"]);
    assert_eq!(output.code(), Some(0), "{output}");
    assert!(output.stdout.contains("--source-root"), "{output}");
    assert!(analyzer_bin_dir().join("waitgraph").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

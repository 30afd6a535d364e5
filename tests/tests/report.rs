//! `waitgraph report` as a real process on the report the demo's watchdog writes when the
//! incident hangs (`demo-pool run --variant buggy --gate 1 --report r.json`): text with
//! the demo's own source marked, DOT that Graphviz draws, SARIF, JSON unchanged, HTML
//! that headless Chromium draws; the errors a user meets (not a report, a newer
//! schema, a bad format), each with exit 2; `convert`; the completion scripts. Graphviz
//! and Chromium are used when installed, and required under `WAITGRAPH_REQUIRE_TOOLS=1`
//! (CI installs both).

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
    // Where the first thread of the cycle waits (the cycle starts at the thread
    // registered first: main or a worker), then the other files.
    assert!(out.contains("--> demo-pool/src/"), "{text}");
    assert!(out.contains("demo-pool/src/shrink/mod.rs:139:16"), "{text}");
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

    // HTML, opened in a browser: the cycle drawn, nothing logged.
    let page = temp("buggy.html");
    let written = run_waitgraph(&[
        "report",
        path,
        "--format",
        "html",
        "--out",
        page.to_str().unwrap(),
    ]);
    assert_eq!(written.code(), Some(1), "{written}");
    match chromium() {
        Some(browser) => {
            let screenshot = temp("buggy.png");
            let (dom, console) = browse(browser, &page, &screenshot);
            assert!(console.is_empty(), "the page logged: {console:#?}");
            assert!(dom.contains("<svg class=\"cycle\""), "{dom}");
            assert!(dom.contains(">gil</text>"), "{dom}");
            let (red, _) = drawn_pixels(&screenshot);
            assert!(red > 300, "the waits drawn in red: {red} pixels");
            let _ = std::fs::remove_file(&screenshot);
        }
        None => assert!(
            std::env::var_os("WAITGRAPH_REQUIRE_TOOLS").is_none(),
            "Chromium is required here"
        ),
    }
    let _ = std::fs::remove_file(&page);
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
    for sub in ["report", "analyze", "convert", "completions"] {
        let output = run_waitgraph(&[sub, "--version"]);
        assert_eq!(output.code(), Some(0), "{output}");
        assert!(
            output.stdout.starts_with(&format!("waitgraph-{sub} ")),
            "{output}"
        );
    }
    let output = run_waitgraph(&["report", "--help"]);
    assert_eq!(output.code(), Some(0), "{output}");
    assert!(output.stdout.contains("--source-root"), "{output}");
    assert!(analyzer_bin_dir().join("waitgraph").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn completion_scripts_load_in_their_shells() {
    let bash = run_waitgraph(&["completions", "bash"]);
    assert_eq!(bash.code(), Some(0), "{bash}");
    let script = temp("completion.bash");
    std::fs::write(&script, &bash.stdout).unwrap();
    // Sourced by bash, it registers a completion for `waitgraph` that knows the
    // subcommands and the formats.
    let mut check = Command::new("bash");
    check.arg("-c").arg(format!(
        "source {} && complete -p waitgraph",
        script.display()
    ));
    let loaded = waitgraph_child_process::run(&mut check, Duration::from_secs(60));
    assert_eq!(loaded.code(), Some(0), "{loaded}");
    assert!(
        loaded.stdout.contains("-F _waitgraph waitgraph"),
        "{loaded}"
    );
    for word in ["analyze", "report", "completions", "sarif", "--source-root"] {
        assert!(bash.stdout.contains(word), "{word}");
    }
    let zsh = run_waitgraph(&["completions", "zsh"]);
    assert!(zsh.stdout.starts_with("#compdef waitgraph"), "{zsh}");
    let fish = run_waitgraph(&["completions", "fish"]);
    assert!(fish.stdout.contains("complete -c waitgraph"), "{fish}");
    let tcsh = run_waitgraph(&["completions", "tcsh"]);
    assert_eq!(tcsh.code(), Some(2), "{tcsh}");
    assert!(
        tcsh.stderr.contains("bash, elvish, fish, powershell, zsh"),
        "{tcsh}"
    );
    let _ = std::fs::remove_file(&script);
}

/// `waitgraph convert` on the trace of a run of the incident that did not hang: the
/// Perfetto timeline is well formed (every begin ended, in order, on a named track; every
/// flow finished where it started) and shows the predicted cycle; JSON lines analyse as
/// the binary trace does.
#[test]
fn a_trace_converts_to_a_timeline_and_to_json_lines() {
    let trace = temp("idle.trace");
    let run = run_demo(
        &[
            "run",
            "--variant",
            "buggy",
            "--shrink-at",
            "idle",
            "--trace",
            trace.to_str().unwrap(),
        ],
        false,
        Duration::from_secs(60),
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    let trace = trace.to_str().unwrap();

    let timeline = temp("idle.perfetto.json");
    let converted = run_waitgraph(&[
        "convert",
        trace,
        "--to",
        "perfetto",
        "--out",
        timeline.to_str().unwrap(),
    ]);
    assert_eq!(converted.code(), Some(0), "{converted}");
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&timeline).unwrap()).unwrap();
    let events = document["traceEvents"].as_array().unwrap();
    let mut named = std::collections::HashSet::new();
    let mut open: std::collections::HashMap<u64, Vec<String>> = Default::default();
    let mut last: std::collections::HashMap<u64, f64> = Default::default();
    let mut flows = std::collections::HashSet::new();
    let (mut begins, mut findings, mut finished_flows) = (0, Vec::new(), 0);
    for event in events {
        let phase = event["ph"].as_str().unwrap();
        let tid = event["tid"].as_u64();
        let name = event["name"].as_str().unwrap_or_default().to_owned();
        if phase == "M" && name == "thread_name" {
            assert!(!event["args"]["name"].as_str().unwrap().is_empty());
            named.insert(tid.unwrap());
            continue;
        }
        let Some(tid) = tid else { continue };
        assert!(named.contains(&tid), "track {tid} is named first: {event}");
        let ts = event["ts"].as_f64().unwrap();
        match phase {
            "B" | "E" => {
                let before = last.insert(tid, ts).unwrap_or(0.0);
                assert!(ts >= before, "time runs forward on track {tid}: {event}");
                let stack = open.entry(tid).or_default();
                if phase == "B" {
                    begins += 1;
                    assert!(!name.contains("resource "), "resources named: {name}");
                    stack.push(name);
                } else {
                    assert_eq!(stack.pop().as_deref(), Some(name.as_str()), "{event}");
                }
            }
            "s" => {
                assert!(flows.insert(event["id"].as_u64().unwrap()), "{event}");
            }
            "f" => {
                assert!(flows.contains(&event["id"].as_u64().unwrap()), "{event}");
                finished_flows += 1;
            }
            "i" if event["cat"] == "finding" => findings.push(name),
            _ => {}
        }
    }
    assert!(
        open.values().all(Vec::is_empty),
        "every begin ended: {open:?}"
    );
    assert!(begins > 1000, "{begins} slices");
    assert!(
        finished_flows > 100,
        "jobs flow to their workers: {finished_flows}"
    );
    assert!(
        findings
            .iter()
            .any(|f| f.contains("waits (lock) for `gil`")),
        "the predicted cycle on the timeline: {findings:?}"
    );

    // JSON lines: the same prediction as from the binary trace.
    let lines = temp("idle.jsonl");
    let converted = run_waitgraph(&[
        "convert",
        trace,
        "--to",
        "jsonl",
        "--out",
        lines.to_str().unwrap(),
    ]);
    assert_eq!(converted.code(), Some(0), "{converted}");
    let report = |path: &str| -> Report {
        let output = run_waitgraph(&["analyze", "--format", "json", path]);
        serde_json::from_str(&output.stdout).unwrap()
    };
    // The same cycles: kinds, what each step waits for and where. (Which of the pool's
    // workers stands for it follows the order the lines come in: per thread batches
    // in the binary, time order in the lines.)
    let cycles = |report: &Report| -> Vec<String> {
        report
            .findings
            .iter()
            .map(|f| {
                let steps: Vec<String> = f
                    .cycle
                    .iter()
                    .map(|s| {
                        let site = s.site.as_ref().map(|x| format!("{}:{}", x.file, x.line));
                        format!("{} {} {site:?}", s.waits_for.wait, s.waits_for.resource)
                    })
                    .collect();
                format!(
                    "{:?} {:?} {} | {}",
                    f.kind,
                    f.severity,
                    f.confirmed,
                    steps.join(" -> ")
                )
            })
            .collect()
    };
    let from_binary = report(trace);
    let from_lines = report(lines.to_str().unwrap());
    assert!(!from_binary.findings.is_empty());
    assert_eq!(cycles(&from_binary), cycles(&from_lines));
    for path in [Path::new(trace), &timeline, &lines] {
        let _ = std::fs::remove_file(path);
    }
}

/// A browser for the HTML test: Debian's `chromium` (CI installs it), or another name
/// for the same program.
fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            Command::new(name)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// Loads `page` in headless Chromium: its DOM after loading, the console messages it
/// logged (Content-Security-Policy violations, script errors, failed loads), and a
/// screenshot.
fn browse(browser: &str, page: &Path, screenshot: &Path) -> (String, Vec<String>) {
    let profile = temp("chromium-profile");
    let url = format!("file://{}", page.display());
    let headless = |extra: &[&str]| {
        let mut command = Command::new(browser);
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--enable-logging=stderr",
                "--v=0",
                "--window-size=1280,2400",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(&url);
        let output = waitgraph_child_process::run(&mut command, Duration::from_secs(120));
        assert_eq!(output.code(), Some(0), "{output}");
        output
    };
    let dom = headless(&["--dump-dom"]);
    let shot = headless(&[&format!("--screenshot={}", screenshot.display())]);
    let console = [dom.stderr.as_str(), shot.stderr.as_str()]
        .iter()
        .flat_map(|err| err.lines())
        .filter(|line| line.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    let _ = std::fs::remove_dir_all(&profile);
    (dom.stdout.clone(), console)
}

/// Pixels of the screenshot in the colour of the drawing's waits (#c0392b), and how
/// many pixels are not white.
fn drawn_pixels(screenshot: &Path) -> (usize, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(screenshot).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buffer).unwrap();
    let channels = info.color_type.samples();
    let (mut red, mut inked) = (0, 0);
    for pixel in buffer[..info.buffer_size()].chunks(channels) {
        let (r, g, b) = (pixel[0], pixel[1], pixel[2]);
        if (r, g, b) != (255, 255, 255) {
            inked += 1;
        }
        if r.abs_diff(0xc0) < 12 && g.abs_diff(0x39) < 12 && b.abs_diff(0x2b) < 12 {
            red += 1;
        }
    }
    (red, inked)
}

/// The HTML report of a report with hostile names, opened in a real browser: the cycles
/// are drawn (the screenshot has the waits' red in it), the names are text (no element
/// made from them), and the page logs nothing. A page that does inject the name logs
/// errors here: the check can fail.
#[test]
fn the_html_report_draws_in_a_browser_and_hostile_names_stay_text() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("WAITGRAPH_REQUIRE_TOOLS").is_none(),
            "Chromium is required here"
        );
        eprintln!("skipped: no Chromium on this machine");
        return;
    };
    let fixture = workspace().join("analyzer/tests/fixtures/report.json");
    let page = temp("report.html");
    let written = run_waitgraph(&[
        "report",
        fixture.to_str().unwrap(),
        "--format",
        "html",
        "--out",
        page.to_str().unwrap(),
    ]);
    assert_eq!(written.code(), Some(1), "{written}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("<img") && !html.contains("<script"),
        "{html}"
    );

    let screenshot = temp("report.png");
    let (dom, console) = browse(browser, &page, &screenshot);
    assert!(console.is_empty(), "the page logged: {console:#?}");
    assert_eq!(dom.matches("<svg class=\"cycle\"").count(), 3, "{dom}");
    assert!(dom.contains("class=\"node thread\""), "{dom}");
    assert!(!dom.contains("<img"), "no element from a name: {dom}");
    assert!(
        dom.contains("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"),
        "{dom}"
    );
    let (red, inked) = drawn_pixels(&screenshot);
    assert!(red > 500, "the waits drawn in red: {red} pixels");
    assert!(inked > 20_000, "{inked} pixels drawn");

    // The same name pasted into a page unescaped: the browser says so.
    let injected = temp("injected.html");
    std::fs::write(
        &injected,
        html.replacen(
            "</h1>",
            "</h1><p></script><img src=x onerror=alert(1)></p>",
            1,
        ),
    )
    .unwrap();
    let (_, console) = browse(browser, &injected, &temp("injected.png"));
    assert!(!console.is_empty(), "an injected element is caught");
    for path in [&page, &screenshot, &injected, &temp("injected.png")] {
        let _ = std::fs::remove_file(path);
    }
}

/// `analyze`'s progress bar: on a terminal (a pseudo-terminal made by `script`), not
/// when standard error is a pipe, not under `--quiet`.
#[test]
fn the_progress_bar_shows_on_a_terminal_only() {
    if Command::new("script").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("WAITGRAPH_REQUIRE_TOOLS").is_none(),
            "util-linux's `script` is required here"
        );
        eprintln!("skipped: no `script` on this machine");
        return;
    }
    // 400,000 lines: several progress updates (one every 65,536 lines).
    let trace = temp("progress.std");
    let mut text = String::with_capacity(400_000 * 16);
    for n in 0..100_000u64 {
        let thread = n % 4;
        text.push_str(&format!(
            "T{thread}|acq(a)|{}\nT{thread}|acq(b)|{}\nT{thread}|rel(b)|{}\nT{thread}|rel(a)|{}\n",
            4 * n,
            4 * n + 1,
            4 * n + 2,
            4 * n + 3
        ));
    }
    std::fs::write(&trace, text).unwrap();
    let bin = analyzer_bin_dir().join("waitgraph");
    let in_terminal = |extra: &str| {
        let mut command = Command::new("script");
        command
            .args(["-qec"])
            .arg(format!(
                "{} analyze {extra} {} > /dev/null",
                bin.display(),
                trace.display()
            ))
            .arg("/dev/null")
            .env("WAITGRAPH_PROGRESS_AFTER_MS", "0");
        let output = waitgraph_child_process::run(&mut command, Duration::from_secs(120));
        assert_eq!(output.code(), Some(0), "{output}");
        output.stdout
    };
    let shown = in_terminal("");
    assert!(
        shown.contains("analysing") && shown.contains("lines"),
        "{shown:?}"
    );
    let quiet = in_terminal("--quiet");
    assert!(!quiet.contains("analysing"), "{quiet:?}");
    let mut piped = Command::new(&bin);
    piped
        .args(["analyze", trace.to_str().unwrap()])
        .env("WAITGRAPH_PROGRESS_AFTER_MS", "0");
    let piped = waitgraph_child_process::run(&mut piped, Duration::from_secs(120));
    assert_eq!(piped.code(), Some(0), "{piped}");
    assert!(piped.stderr.is_empty(), "{piped}");
    let _ = std::fs::remove_file(&trace);
}

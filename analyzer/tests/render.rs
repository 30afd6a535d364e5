//! Every printer over one fixed report (`fixtures/report.json`: a live deadlock with
//! victims, an inversion whose source file is missing and whose lock names are hostile,
//! a stall): snapshots of text, DOT and SARIF; SARIF read back through its typed model;
//! DOT drawn by Graphviz when it is installed (CI installs it and sets
//! `WAITGRAPH_REQUIRE_TOOLS=1`, which makes a missing `dot` a failure).

use std::path::{Path, PathBuf};
use waitgraph_analyzer::render::{render, Format, Options};
use waitgraph_analyzer::report::read_report;
use waitgraph_core::report::Report;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn fixture() -> Report {
    read_report(&fixtures().join("report.json")).expect("the fixture reads")
}

fn rendered(report: &Report, format: Format, color: bool) -> String {
    let options = Options {
        color,
        source_root: fixtures(),
        trace: None,
    };
    let mut out = Vec::new();
    render(report, format, &options, &mut out).unwrap();
    String::from_utf8(out).expect("UTF-8")
}

#[test]
fn text_marks_the_source_of_each_step_and_notes_what_it_cannot_show() {
    let text = rendered(&fixture(), Format::Text, false);
    insta::assert_snapshot!("text", text);
    // The source lines of the cycle, each marked.
    assert!(text.contains("let guard = state.lock();"), "{text}");
    assert!(text.contains("let spin = SpinWait::on(barrier);"), "{text}");
    assert!(text.contains("^^^^^^^^^^^^^^^^^^^^^ `main` waits (spin-wait, 181 ms)"));
    assert!(text.contains("------ `main` holds `state` (exclusive), taken here"));
    // The missing file: its steps in notes, with their sites.
    assert!(
        text.contains("at src/missing.rs:41:9, which needs `reader`"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no colour unless asked: {text}");
    assert!(text.ends_with("waitgraph: 2 errors, 1 warning\n"), "{text}");
}

#[test]
fn colour_only_when_asked_and_control_characters_are_shown_not_sent() {
    let colored = rendered(&fixture(), Format::Text, true);
    assert!(colored.contains("\u{1b}["), "{colored}");
    // A thread named with a terminal escape sequence: printed as visible symbols.
    let mut report = fixture();
    report.findings[2].cycle[0].thread = "evil\u{1b}[2J\u{202e}".to_owned();
    let text = rendered(&report, Format::Text, false);
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{202e}'),
        "{text}"
    );
    assert!(text.contains("`evil␛[2J"), "{text}");
}

#[test]
fn a_report_with_no_source_root_prints_every_step_without_snippets() {
    let options = Options {
        color: false,
        source_root: PathBuf::from("/nonexistent/waitgraph"),
        trace: None,
    };
    let mut out = Vec::new();
    render(&fixture(), Format::Text, &options, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("--> src/pool.rs:5:16"), "{text}");
    assert!(
        text.contains("= note: `main` waits (spin-wait, 181 ms) for `workers-exit` in `pool::shrink` at src/pool.rs:5:16, which needs `workers-3`"),
        "{text}"
    );
    assert!(!text.contains("SpinWait"), "{text}");
}

#[test]
fn json_is_the_contract_unchanged() {
    let report = fixture();
    let json = rendered(&report, Format::Json, false);
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
}

#[test]
fn sarif_reads_back_through_its_typed_model() {
    let report = fixture();
    let text = rendered(&report, Format::Sarif, false);
    insta::assert_snapshot!("sarif", text);
    let log: serde_sarif::sarif::Sarif = serde_json::from_str(&text).expect("SARIF");
    assert_eq!(log.version, serde_json::json!("2.1.0"));
    let run = &log.runs[0];
    let rules = run.tool.driver.rules.as_ref().expect("rules");
    let results = run.results.as_ref().expect("results");
    assert_eq!(results.len(), report.findings.len());
    for (result, finding) in results.iter().zip(&report.findings) {
        let id = result.rule_id.as_deref().unwrap();
        assert_eq!(id, finding.kind.as_str());
        let index = result.rule_index.unwrap() as usize;
        assert_eq!(rules[index].id, id, "ruleIndex points at the rule");
        assert!(rules[index].help.as_ref().unwrap().text.len() > 40);
        // A related location per wait and per hold that has a site.
        let sited = finding
            .cycle
            .iter()
            .map(|s| {
                usize::from(s.site.is_some()) + s.holds.iter().filter(|h| h.site.is_some()).count()
            })
            .sum::<usize>();
        let related = result.related_locations.as_ref().map_or(0, Vec::len);
        assert_eq!(related, sited, "{id}");
    }
    // The deadlock's primary location is where `main` waits.
    let primary = &results[0].locations.as_ref().unwrap()[0];
    let physical = primary.physical_location.as_ref().unwrap();
    let artifact = physical.artifact_location.as_ref().unwrap();
    assert_eq!(artifact.uri.as_deref(), Some("src/pool.rs"));
    assert_eq!(artifact.uri_base_id.as_deref(), Some("%SRCROOT%"));
    let region = physical.region.as_ref().unwrap();
    assert_eq!(
        (region.start_line, region.start_column),
        (Some(5), Some(16))
    );
}

#[test]
fn dot_draws_each_finding_and_graphviz_accepts_it() {
    let dot = rendered(&fixture(), Format::Dot, false);
    insta::assert_snapshot!("dot", dot);
    // Hostile names stay inside their quoted labels.
    assert!(
        dot.contains(r#"label = "\"quoted\" \\ name\l(mutex)""#),
        "{dot}"
    );
    let graphviz = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut graphviz = match graphviz {
        Ok(child) => child,
        Err(error) => {
            assert!(
                std::env::var_os("WAITGRAPH_REQUIRE_TOOLS").is_none(),
                "Graphviz's `dot` is required here: {error}"
            );
            eprintln!("skipped drawing: no Graphviz `dot` on this machine ({error})");
            return;
        }
    };
    use std::io::Write;
    graphviz
        .stdin
        .take()
        .unwrap()
        .write_all(dot.as_bytes())
        .unwrap();
    let drawn = graphviz.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&drawn.stderr);
    assert!(
        drawn.status.success() && stderr.is_empty(),
        "{stderr}\n{dot}"
    );
    let svg = String::from_utf8(drawn.stdout).unwrap();
    assert!(svg.contains("<svg"), "{svg}");
    // Every thread of every cycle is drawn, the hostile name as text.
    for name in ["main", "workers-3", "writer", "reader", "workers-1"] {
        let drawn = format!(">{}</text>", name.replace('-', "&#45;"));
        assert!(svg.contains(&drawn), "{name}");
    }
    assert!(svg.contains("&lt;/script&gt;&lt;img"), "{svg}");
}

#[test]
fn unknown_schemas_and_other_files_are_refused_with_what_is_wrong() {
    let dir = std::env::temp_dir().join(format!("waitgraph-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let newer = write("newer.json", r#"{"schema": 2, "findings": []}"#);
    let error = read_report(&newer).unwrap_err();
    assert!(
        error.contains("report schema 2 is not known") && error.contains("reads schema 1"),
        "{error}"
    );
    let trace = write("trace.jsonl", "{\"header\":{\"version\":1}}\n");
    let error = read_report(&trace).unwrap_err();
    assert!(error.contains("no `schema` field"), "{error}");
    let broken = write("broken.json", "{\n  \"schema\": 1,\n  \"findings\": [\n");
    let error = read_report(&broken).unwrap_err();
    assert!(error.contains("broken.json:4:"), "{error}");
    let wrong = write("wrong.json", "{\"schema\": 1,\n\"mode\": \"sideways\"}");
    let error = read_report(&wrong).unwrap_err();
    assert!(
        error.contains("wrong.json:2:") && error.contains("sideways"),
        "{error}"
    );
    let error = read_report(&dir.join("absent.json")).unwrap_err();
    assert!(
        error.contains("cannot read") && error.contains("absent.json"),
        "{error}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

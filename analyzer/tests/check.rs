//! `waitgraph check` against programs written for it (`tests/check/*.rs`), annotated the
//! way rustc's UI tests are: `//~ ERROR double-lock` on a line says a finding of that
//! kind and severity has a step there. Every annotation must be met, every finding must
//! land on an annotated line of its kind, and a file with no annotation (correct code)
//! must give no finding at all.

use std::path::{Path, PathBuf};
use std::process::Command;
use waitgraph_analyzer::check::check;
use waitgraph_core::report::{Finding, Severity};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/check");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    files
}

/// `(line, severity, kind)` of every `//~` annotation.
fn annotations(text: &str) -> Vec<(u32, Severity, String)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let (_, note) = line.split_once("//~ ")?;
            let (level, kind) = note.trim().split_once(' ')?;
            let severity = match level {
                "ERROR" => Severity::Error,
                "WARN" => Severity::Warning,
                other => panic!("line {}: unknown level {other}", i + 1),
            };
            Some((i as u32 + 1, severity, kind.trim().to_string()))
        })
        .collect()
}

fn lines_of(finding: &Finding) -> Vec<u32> {
    finding
        .cycle
        .iter()
        .filter_map(|s| s.site.as_ref().map(|s| s.line))
        .collect()
}

/// What is wrong with the findings for one file, if anything.
fn mismatches(
    file: &Path,
    findings: &[Finding],
    expected: &[(u32, Severity, String)],
) -> Vec<String> {
    let mut wrong = Vec::new();
    let name = file.file_name().unwrap().to_string_lossy();
    for (line, severity, kind) in expected {
        let met = findings.iter().any(|f| {
            f.kind.as_str() == kind && f.severity == *severity && lines_of(f).contains(line)
        });
        if !met {
            wrong.push(format!(
                "{name}:{line}: expected {severity:?} {kind}, not found"
            ));
        }
    }
    for finding in findings {
        let lines = lines_of(finding);
        let annotated = expected.iter().any(|(line, severity, kind)| {
            finding.kind.as_str() == kind && finding.severity == *severity && lines.contains(line)
        });
        if !annotated {
            wrong.push(format!(
                "{name}: unexpected {:?} {} at lines {lines:?}: {}",
                finding.severity,
                finding.kind.as_str(),
                finding.summary
            ));
        }
    }
    wrong
}

#[test]
fn every_program_gets_exactly_its_annotated_findings() {
    let mut wrong = Vec::new();
    for file in fixtures() {
        let text = std::fs::read_to_string(&file).unwrap();
        let checked = check(std::slice::from_ref(&file)).unwrap();
        assert!(
            checked.errors.is_empty(),
            "{}: {:?}",
            file.display(),
            checked.errors
        );
        wrong.extend(mismatches(
            &file,
            &checked.report.findings,
            &annotations(&text),
        ));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_programs_cover_every_rule_and_correct_code_is_at_least_half() {
    let files = fixtures();
    let mut kinds = std::collections::BTreeSet::new();
    let mut correct = 0;
    for file in &files {
        let expected = annotations(&std::fs::read_to_string(file).unwrap());
        if expected.is_empty() {
            correct += 1;
        }
        kinds.extend(expected.into_iter().map(|(_, _, kind)| kind));
    }
    assert!(files.len() >= 40, "{} programs", files.len());
    assert!(
        correct * 2 >= files.len() - 4,
        "{correct} correct of {}",
        files.len()
    );
    let kinds: Vec<&str> = kinds.iter().map(String::as_str).collect();
    assert_eq!(
        kinds,
        [
            "blocking-under-lock",
            "condvar-misuse",
            "double-lock",
            "lock-order-inversion",
            "orphaned-wait",
            "queued-work-self-stall"
        ]
    );
}

/// A crate of one file in a temporary directory, with the given edition.
fn crate_with(edition: &str, source: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "waitgraph-check-{}-{edition}-{}",
        std::process::id(),
        source.len()
    ));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!("[package]\nname = \"probe\"\nversion = \"0.1.0\"\nedition = \"{edition}\"\n"),
    )
    .unwrap();
    std::fs::write(dir.join("src/lib.rs"), source).unwrap();
    dir
}

const IF_LET_ELSE: &str = r#"
use std::sync::Mutex;
pub struct Registry { names: Mutex<Vec<String>> }
impl Registry {
    pub fn first_or_add(&self, name: &str) -> String {
        if let Some(first) = self.names.lock().unwrap().first() {
            first.clone()
        } else {
            self.names.lock().unwrap().push(name.to_string());
            name.to_string()
        }
    }
}
"#;

#[test]
fn an_if_let_scrutinee_is_dropped_before_else_from_edition_2024() {
    let old = crate_with("2021", IF_LET_ELSE);
    let new = crate_with("2024", IF_LET_ELSE);
    let found = |dir: &Path| check(&[dir.to_path_buf()]).unwrap().report.findings;
    let in_2021 = found(&old);
    assert_eq!(in_2021.len(), 1);
    assert_eq!(in_2021[0].kind.as_str(), "double-lock");
    assert!(found(&new).is_empty());
    std::fs::remove_dir_all(old).unwrap();
    std::fs::remove_dir_all(new).unwrap();
}

#[test]
fn a_crate_is_its_module_tree() {
    let dir = crate_with(
        "2021",
        "mod bank;\n#[path = \"elsewhere/audit.rs\"]\nmod audit;\n",
    );
    std::fs::create_dir_all(dir.join("src/elsewhere")).unwrap();
    std::fs::write(
        dir.join("src/bank.rs"),
        "use std::sync::Mutex;\npub struct Bank { pub a: Mutex<u8>, pub b: Mutex<u8> }\nimpl Bank {\n    pub fn ab(&self) { let _a = self.a.lock().unwrap(); let _b = self.b.lock().unwrap(); }\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("src/elsewhere/audit.rs"),
        "impl crate::bank::Bank {\n    pub fn ba(&self) { let _b = self.b.lock().unwrap(); let _a = self.a.lock().unwrap(); }\n}\n",
    )
    .unwrap();
    // Not in the module tree: not compiled, not checked.
    std::fs::write(dir.join("src/stray.rs"), "fn broken( {").unwrap();
    let checked = check(std::slice::from_ref(&dir)).unwrap();
    assert!(checked.errors.is_empty(), "{:?}", checked.errors);
    assert_eq!(checked.files, 3);
    assert_eq!(checked.report.findings.len(), 1);
    let finding = &checked.report.findings[0];
    assert_eq!(finding.kind.as_str(), "lock-order-inversion");
    let files: Vec<String> = finding
        .cycle
        .iter()
        .map(|s| s.site.as_ref().unwrap().file.to_string())
        .collect();
    assert!(
        files.iter().any(|f| f.ends_with("src/bank.rs")),
        "{files:?}"
    );
    assert!(
        files.iter().any(|f| f.ends_with("src/elsewhere/audit.rs")),
        "{files:?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_file_that_does_not_parse_is_named_and_the_rest_is_checked() {
    let dir = crate_with("2021", "mod broken;\nmod fine;\n");
    std::fs::write(dir.join("src/broken.rs"), "pub fn oops( {\n").unwrap();
    std::fs::write(
        dir.join("src/fine.rs"),
        "use std::sync::Mutex;\nstatic M: Mutex<u8> = Mutex::new(0);\npub fn twice() { let _a = M.lock().unwrap(); let _b = M.lock().unwrap(); }\n",
    )
    .unwrap();
    let checked = check(std::slice::from_ref(&dir)).unwrap();
    assert_eq!(checked.errors.len(), 1, "{:?}", checked.errors);
    assert!(
        checked.errors[0].contains("src/broken.rs:1:"),
        "{}",
        checked.errors[0]
    );
    assert_eq!(checked.report.findings.len(), 1);
    assert_eq!(checked.report.findings[0].kind.as_str(), "double-lock");

    let output = Command::new(env!("CARGO_BIN_EXE_waitgraph"))
        .arg("check")
        .arg(&dir)
        .args(["--color", "never"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("broken.rs:1:") && stderr.contains("cannot parse"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("double-lock"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_exit_status_says_what_was_found() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/check");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_waitgraph"))
            .arg("check")
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    assert_eq!(run(&["ok_consistent_order.rs"]).status.code(), Some(0));
    let found = run(&["inversion_two_methods.rs", "--format", "json"]);
    assert_eq!(found.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&found.stdout).unwrap();
    assert_eq!(report["mode"], "static");
    assert_eq!(report["findings"][0]["kind"], "lock-order-inversion");
    let site = &report["findings"][0]["cycle"][0]["site"];
    assert_eq!(site["file"], "inversion_two_methods.rs");
    assert!(site["line"].as_u64().unwrap() > 0 && site["column"].as_u64().unwrap() > 0);
    let missing = run(&["no-such-crate"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such-crate"));
}

#[test]
fn allow_comments_leave_findings_out_and_verbose_lists_them() {
    let dir = crate_with(
        "2021",
        r#"use std::sync::Mutex;
static M: Mutex<u8> = Mutex::new(0);
static N: Mutex<u8> = Mutex::new(0);
pub fn twice() {
    let _a = M.lock().unwrap();
    let _b = M.lock().unwrap(); // waitgraph: allow(double-lock) a test of the hang
}
/// Documented.
// waitgraph: allow(lock-order-inversion) ordered by the caller
#[inline]
pub fn mn() {
    let _m = M.lock().unwrap();
    let _n = N.lock().unwrap();
}
pub fn nm() {
    let _n = N.lock().unwrap();
    // waitgraph: allow(double-lock) the wrong kind: this stays reported
    let _m = M.lock().unwrap();
}
pub fn misspelt() {
    let _a = N.lock().unwrap(); // waitgraph: allow(double-locks) a typo
}
"#,
    );
    let checked = check(std::slice::from_ref(&dir)).unwrap();
    assert!(
        checked.report.findings.is_empty(),
        "{:#?}",
        checked.report.findings
    );
    // A kind the checker does not report is said, with where.
    assert_eq!(checked.warnings.len(), 1, "{:?}", checked.warnings);
    assert!(
        checked.warnings[0].contains("lib.rs:21: `allow(double-locks)` names no kind"),
        "{}",
        checked.warnings[0]
    );
    let allowed: Vec<(&str, u32, &str)> = checked
        .allowed
        .iter()
        .map(|(f, _, a)| (f.kind.as_str(), a.line, a.reason.as_str()))
        .collect();
    assert_eq!(
        allowed,
        [
            ("double-lock", 6, "a test of the hang"),
            ("lock-order-inversion", 9, "ordered by the caller")
        ]
    );
    // Without the function's comment, the inversion is reported.
    let source = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    std::fs::write(
        dir.join("src/lib.rs"),
        source.replace("allow(lock-order-inversion)", "allow(blocking-under-lock)"),
    )
    .unwrap();
    let checked = check(std::slice::from_ref(&dir)).unwrap();
    assert_eq!(checked.report.findings.len(), 1);
    assert_eq!(
        checked.report.findings[0].kind.as_str(),
        "lock-order-inversion"
    );

    let output = Command::new(env!("CARGO_BIN_EXE_waitgraph"))
        .args(["check", "--verbose", "--color", "never"])
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("checked 1 file,"), "{stderr}");
    assert!(
        stderr.contains("allowed by") && stderr.contains("a test of the hang"),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// The demo's functions that reproduce a deadlock on purpose: the incident's variants
/// before the fix, and the catalogue's deadlocking scenarios.
const DELIBERATE: &[&str] = &[
    "shrink::buggy::shrink",
    "shrink::reordered::shrink",
    "shrink::revive_blocking",
    "scenarios::drain_under_gil",
    "scenarios::spec_across_gil",
];

fn deliberate(finding: &Finding) -> bool {
    finding.cycle.iter().any(|step| {
        step.context
            .iter()
            .any(|f| DELIBERATE.iter().any(|d| f.starts_with(d)))
    })
}

/// The workspace itself: the deliberate hangs of its tests and examples carry `allow`
/// comments, the demo's are its point; nothing else may be an error.
#[test]
fn this_workspace_has_no_error_level_finding_but_the_demos_deadlocks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let checked = check(&[root.to_path_buf()]).unwrap();
    assert!(checked.errors.is_empty(), "{:?}", checked.errors);
    let errors: Vec<String> = checked
        .report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error && !deliberate(f))
        .map(|f| f.summary.clone())
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // The deliberate ones of the tests and examples are found, and allowed.
    assert!(checked.allowed.len() >= 13, "{}", checked.allowed.len());
}

/// `waitgraph check demo-pool`, as the README runs it: the incident is found statically,
/// in the variants that hang and only there.
#[test]
fn the_incident_is_found_in_the_demos_source() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_waitgraph"))
        .args(["check", "demo-pool", "--format", "json"])
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report: waitgraph_core::report::Report = serde_json::from_slice(&output.stdout).unwrap();
    let stalls: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.kind.as_str() == "queued-work-self-stall")
        .collect();
    let through = |variant: &str| -> Vec<&Finding> {
        stalls
            .iter()
            .copied()
            .filter(|f| f.cycle[0].context.iter().any(|c| c == variant))
            .collect()
    };
    for variant in ["shrink::buggy::shrink", "shrink::reordered::shrink"] {
        let found = through(variant);
        assert_eq!(found.len(), 1, "{variant}: {found:#?}");
        let finding = found[0];
        assert_eq!(finding.severity, Severity::Error);
        // The main thread holds the gil and spins; a worker of the pool needs the gil.
        let (main, worker) = (&finding.cycle[0], &finding.cycle[1]);
        assert_eq!(main.holds[0].resource, "ShardState::gil");
        assert_eq!(main.waits_for.wait, "spin-wait");
        assert_eq!(main.waits_for.resource, "work queued to Pool::executor");
        assert_eq!(worker.waits_for.resource, "ShardState::gil");
        assert!(
            worker.thread.contains("pool::Worker::run"),
            "{}",
            worker.thread
        );
        let file = variant.split("::").nth(1).unwrap();
        let in_variant = format!("demo-pool/src/shrink/{file}.rs:");
        assert!(
            finding
                .scenario
                .iter()
                .any(|line| line.contains(&in_variant)),
            "{:#?}",
            finding.scenario
        );
        for step in &finding.cycle {
            let site = step.site.as_ref().unwrap();
            assert!(site.file.starts_with("demo-pool/src/"), "{site}");
        }
    }
    let timeout = through("shrink::timeout::shrink");
    assert_eq!(timeout.len(), 1);
    assert_eq!(timeout[0].severity, Severity::Warning);
    let shipped = report
        .findings
        .iter()
        .filter(|f| {
            f.cycle.iter().any(|s| {
                s.context
                    .iter()
                    .any(|c| c == "shrink::async_shrink::shrink")
            })
        })
        .count();
    assert_eq!(shipped, 0);
}

/// Every crate in the local cargo registry's source cache, checked: no panic, no crash,
/// whatever the code. Long: `cargo test --release -p waitgraph-analyzer --test check --
/// --ignored every_crate` (`WAITGRAPH_REGISTRY` names another directory of crates).
/// Prints a line per crate and the totals (kept in `docs/check-registry.md`).
#[test]
#[ignore]
fn every_crate_in_the_registry_is_checked_without_a_panic() {
    let registry = std::env::var_os("WAITGRAPH_REGISTRY")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("CARGO_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
            home.join("registry/src")
        });
    let mut crates: Vec<PathBuf> = std::fs::read_dir(&registry)
        .unwrap()
        .flat_map(|index| std::fs::read_dir(index.unwrap().path()).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("Cargo.toml").is_file())
        .collect();
    crates.sort();
    assert!(!crates.is_empty(), "no crate under {}", registry.display());
    let started = std::time::Instant::now();
    let (mut files, mut lines, mut unreadable) = (0, 0, 0);
    let mut kinds = std::collections::BTreeMap::<(String, String), usize>::new();
    let mut panicked = Vec::new();
    for path in &crates {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let one = std::time::Instant::now();
        match std::panic::catch_unwind(|| check(std::slice::from_ref(path))) {
            Ok(Ok(checked)) => {
                files += checked.files;
                lines += checked.lines;
                unreadable += checked.errors.len();
                for finding in &checked.report.findings {
                    let key = (
                        finding.kind.as_str().to_string(),
                        format!("{:?}", finding.severity),
                    );
                    *kinds.entry(key).or_default() += 1;
                }
                println!(
                    "{name}: {} files, {} lines, {} findings, {} not read, {:.0} ms",
                    checked.files,
                    checked.lines,
                    checked.report.findings.len(),
                    checked.errors.len(),
                    one.elapsed().as_secs_f64() * 1e3
                );
            }
            Ok(Err(error)) => println!("{name}: error: {error}"),
            Err(_) => panicked.push(name),
        }
    }
    println!(
        "{} crates, {files} files, {lines} lines, {unreadable} files not read or parsed, {:.1} s",
        crates.len(),
        started.elapsed().as_secs_f64()
    );
    for ((kind, severity), count) in &kinds {
        println!("{count} {severity} {kind}");
    }
    assert!(panicked.is_empty(), "panicked on {panicked:?}");
}

/// `cargo waitgraph check` in a crate's directory checks that crate (cargo runs
/// `cargo-waitgraph waitgraph check`).
#[test]
fn cargo_waitgraph_check_checks_the_crate_it_is_run_in() {
    let dir = crate_with(
        "2021",
        "use std::sync::Mutex;\nstatic M: Mutex<u8> = Mutex::new(0);\npub fn twice() {\n    let _a = M.lock().unwrap();\n    let _b = M.lock().unwrap();\n}\n",
    );
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-waitgraph"))
        .args(["waitgraph", "check", "--format", "json"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["findings"][0]["kind"], "double-lock");
    assert_eq!(
        report["findings"][0]["cycle"][0]["site"]["file"],
        "src/lib.rs"
    );
    assert_eq!(report["findings"][0]["cycle"][0]["site"]["line"], 5);
    // Run from inside the crate, `waitgraph check` finds it as cargo would.
    let inside = Command::new(env!("CARGO_BIN_EXE_waitgraph"))
        .args(["check", "--format", "json"])
        .current_dir(dir.join("src"))
        .output()
        .unwrap();
    assert_eq!(
        inside.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&inside.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&inside.stdout).unwrap();
    assert_eq!(
        report["findings"][0]["cycle"][0]["site"]["file"],
        "../src/lib.rs"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

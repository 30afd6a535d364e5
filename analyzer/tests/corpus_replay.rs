//! The fuzzers' seed corpus (`analyzer/fuzz/corpus/<target>/`), replayed on stable in
//! every test run: no input panics, every error about a line says which, and reading
//! through detection yields exactly what the detected format's reader yields alone.

use std::path::{Path, PathBuf};
use waitgraph_analyzer::read::{
    self, Format, JsonLinesReader, ReadError, ReadSummary, StdReader, TraceReader,
};

fn corpus_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut files = Vec::new();
    for target in std::fs::read_dir(&root).unwrap() {
        let target = target.unwrap().path();
        for file in std::fs::read_dir(&target).unwrap() {
            files.push(file.unwrap().path());
        }
    }
    files.sort();
    files
}

/// Errors about the whole file (it is empty) have no line; every other one has.
fn check(file: &Path, error: &ReadError) {
    if !error.message.starts_with("empty") {
        assert!(error.line.is_some(), "{}: {error}", file.display());
    }
    assert!(!error.message.is_empty(), "{}", file.display());
}

/// What a reader yielded, to the end (lines as their debug text), and its summary.
struct Outcome {
    lines: Vec<String>,
    failed: bool,
    summary: ReadSummary,
}

fn drain(file: &Path, reader: &mut dyn TraceReader) -> Outcome {
    let mut lines = Vec::new();
    let mut failed = false;
    while let Some(line) = reader.next() {
        match line {
            Ok(line) => lines.push(format!("{line:?}")),
            Err(error) => {
                check(file, &error);
                let more = reader.next();
                assert!(more.is_none(), "{}: went on after an error", file.display());
                lines.push(error.to_string());
                failed = true;
                break;
            }
        }
    }
    let summary = reader.summary();
    assert!(summary.events as usize <= lines.len(), "{}", file.display());
    Outcome {
        lines,
        failed,
        summary,
    }
}

#[test]
fn every_corpus_file_reads_to_the_end_without_a_panic() {
    let files = corpus_files();
    assert!(files.len() >= 30, "{} corpus files", files.len());
    let (mut read, mut refused) = (0, 0);
    for file in &files {
        let data = std::fs::read(file).unwrap();
        let outcome = std::panic::catch_unwind(|| {
            let path = Path::new("corpus");
            let json_lines = drain(file, &mut JsonLinesReader::new(path, &data[..]));
            let std = drain(file, &mut StdReader::new(path, &data[..]));
            match read::from_reader(path, &data[..]) {
                Ok(mut reader) => {
                    let detected = drain(file, &mut reader);
                    let direct = match reader.format() {
                        Format::JsonLines => json_lines,
                        Format::Std => std,
                        other => panic!("no reader here for {other:?}"),
                    };
                    assert_eq!(detected.lines, direct.lines, "{}", file.display());
                    assert_eq!(detected.summary, direct.summary, "{}", file.display());
                    detected.failed
                }
                Err(error) => {
                    check(file, &error);
                    true
                }
            }
        });
        match outcome {
            Ok(true) => refused += 1,
            Ok(false) => read += 1,
            Err(_) => panic!("{}: a reader panicked", file.display()),
        }
    }
    // The corpus holds both: traces that read, and inputs that are refused.
    assert!(read > 0 && refused > 0, "{read} read, {refused} refused");
}

#[test]
fn the_corpus_stays_small() {
    let total: u64 = corpus_files()
        .iter()
        .map(|file| std::fs::metadata(file).unwrap().len())
        .sum();
    assert!(total < 200 << 10, "{total} bytes of corpus");
}

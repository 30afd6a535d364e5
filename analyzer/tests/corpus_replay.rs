//! The fuzzers' seed corpus (`analyzer/fuzz/corpus/<target>/`), replayed on stable in
//! every test run: no input panics, every error about a line (or a binary record) says
//! which, and reading through detection yields exactly what the detected format's reader
//! yields alone. Every file goes through every reader, detected or not.

use std::path::{Path, PathBuf};
use waitgraph_analyzer::read::{
    self, BinaryReader, Format, JsonLinesReader, ReadError, ReadSummary, StdReader, TraceReader,
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

/// Errors about the whole file (it is empty) have no line; every other one has, or in
/// a binary trace a byte.
fn check(file: &Path, error: &ReadError) {
    if !error.message.starts_with("empty") {
        assert!(
            error.line.is_some() || error.byte.is_some(),
            "{}: {error}",
            file.display()
        );
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
            let binary = drain(file, &mut BinaryReader::new(path, &data[..]));
            match read::from_reader(path, &data[..]) {
                Ok(mut reader) => {
                    let detected = drain(file, &mut reader);
                    let direct = match reader.format() {
                        Format::JsonLines => json_lines,
                        Format::Std => std,
                        Format::Binary => binary,
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

#[test]
fn the_binary_seeds_read_or_fail_as_named() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/read_binary");
    let outcome = |name: &str| {
        let data = std::fs::read(dir.join(name)).unwrap();
        let mut reader = read::from_reader(Path::new(name), &data[..]).unwrap();
        assert_eq!(reader.format(), Format::Binary, "{name}");
        drain(Path::new(name), &mut reader)
    };
    let whole = outcome("inversion_whole");
    assert!(!whole.failed && whole.summary.truncated.is_none());
    assert_eq!(whole.summary.events, 8);
    for name in ["inversion_cut_in_event", "inversion_cut_in_end"] {
        let cut = outcome(name);
        assert!(!cut.failed, "{name}");
        assert!(cut.summary.truncated.is_some(), "{name}");
        assert_eq!(cut.lines[..], whole.lines[..cut.lines.len()], "{name}");
    }
    let every = outcome("every_event_kind");
    assert!(!every.failed, "{:?}", every.lines);
    assert_eq!(every.summary.events, 25);
    for (name, said) in [
        (
            "newer_version",
            "format version 2, but this reader knows versions 1 to 1",
        ),
        (
            "undefined_string",
            "thread record: string 40 is not defined",
        ),
        ("undefined_site", "event record: site 9 is not defined"),
        (
            "oversized_record",
            "more than the 1048576 a record may have",
        ),
        ("newer_schema", "trace schema 2 is newer"),
        ("after_end", "a record after the end record"),
        ("no_header", "the first record must be the header"),
        ("magic_cut", "cut short in its magic and version"),
        ("magic_only", "cut short in its magic and version"),
        (
            "prefix_only",
            "expected the header record, found the end of the file",
        ),
    ] {
        let outcome = outcome(name);
        assert!(outcome.failed, "{name}");
        let error = outcome.lines.last().unwrap();
        assert!(error.contains(said), "{name}: {error}");
    }
}

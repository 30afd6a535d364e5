//! `waitgraph analyze`: traces in, findings out. Each trace is read as a stream (its
//! format detected from its content) and fed to the prediction engine
//! (`waitgraph_core::predict`); several traces are analysed together, their classes
//! merged by name, so an order seen in one run and its reverse in another make a cycle.

use crate::read::{self, ReadError};
use std::path::PathBuf;
use waitgraph_core::model::{ResourceInfo, ResourceKey, ThreadInfo, ThreadKey, TraceLine};
use waitgraph_core::predict::Predictor;
use waitgraph_core::report::{Mode, Report};

/// What an analysis found, with what it noticed about its input.
pub struct Analysis {
    pub report: Report,
    /// Per trace: events read, and a note if it was cut short.
    pub inputs: Vec<Input>,
}

pub struct Input {
    pub path: PathBuf,
    pub format: read::Format,
    pub events: u64,
    /// How many bytes of a last line (record, in a binary trace) cut short were left out.
    pub truncated: Option<u64>,
}

/// Keys are numbers within one process; the traces of several runs are kept apart by
/// putting the trace's index above them.
fn apart(index: usize, key: u64) -> u64 {
    if index == 0 {
        key
    } else {
        ((index as u64) << 48) | (key & ((1 << 48) - 1))
    }
}

fn rekey(index: usize, line: TraceLine) -> TraceLine {
    if index == 0 {
        return line;
    }
    let t = |key: ThreadKey| ThreadKey(apart(index, key.0));
    let r = |key: ResourceKey| ResourceKey(apart(index, key.0));
    match line {
        TraceLine::Thread(info) => TraceLine::Thread(ThreadInfo {
            key: t(info.key),
            ..info
        }),
        TraceLine::Resource(info) => TraceLine::Resource(ResourceInfo {
            key: r(info.key),
            ..info
        }),
        TraceLine::Event(mut event) => {
            event.thread = t(event.thread);
            event.kind.rekey(t, r);
            TraceLine::Event(event)
        }
        other => other,
    }
}

/// Reads every trace and predicts. A malformed trace is an error (nothing is reported
/// from a half-read input); a trace cut short in its last line is analysed whole and
/// noted.
pub fn analyze(paths: &[PathBuf]) -> Result<Analysis, ReadError> {
    analyze_with_progress(paths, &mut |_, _| {})
}

/// How many lines are read between two calls of the progress callback.
pub const PROGRESS_EVERY: u64 = 1 << 16;

/// [`analyze`], calling `progress(trace, lines read from it)` every [`PROGRESS_EVERY`]
/// lines (what a progress bar shows).
pub fn analyze_with_progress(
    paths: &[PathBuf],
    progress: &mut dyn FnMut(&std::path::Path, u64),
) -> Result<Analysis, ReadError> {
    let mut predictor = Predictor::default();
    let mut inputs = Vec::new();
    for (index, path) in paths.iter().enumerate() {
        let mut reader = read::open(path)?;
        let mut lines = 0u64;
        for line in reader.by_ref() {
            predictor.feed(rekey(index, line?));
            lines += 1;
            if lines.is_multiple_of(PROGRESS_EVERY) {
                progress(path, lines);
            }
        }
        let summary = reader.summary();
        if summary.truncated.is_some() {
            predictor.mark_truncated();
        }
        inputs.push(Input {
            path: path.clone(),
            format: summary.format,
            events: summary.events,
            truncated: summary.truncated.map(|t| t.bytes),
        });
    }
    let prediction = predictor.finish();
    let mut report = Report::new(Mode::Trace, prediction.findings);
    report.probe_errors = prediction.notes;
    Ok(Analysis { report, inputs })
}

//! Loading a whole trace into memory, events ordered by `seq`: [`crate::read`]'s readers
//! (any format, told from the content), collected.
//!
//! | input | result |
//! |---|---|
//! | a well-formed trace | every line, events ordered by `seq` |
//! | the last line cut short (no newline, not readable) | the complete lines, `truncated` set |
//! | a malformed line anywhere else | an error naming the file, the line, the column and what was expected |
//! | a line longer than [`MAX_LINE`] | an error, without reading the rest of it into memory |
//! | a newer schema than this analyzer knows | an error saying so |
//! | no `end` line (the program died) | the events written, `end` absent |
//! | not a trace (empty, binary, a report...) | an error saying what it looks like |

use crate::read::{self, TraceReader};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use waitgraph_core::model::{
    Event, ResourceInfo, ResourceKey, ThreadInfo, ThreadKey, TraceEnd, TraceHeader, TraceLine,
};

pub use crate::read::MAX_LINE;

/// A loaded trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    pub header: TraceHeader,
    pub threads: BTreeMap<ThreadKey, ThreadInfo>,
    pub resources: BTreeMap<ResourceKey, ResourceInfo>,
    /// Every event, ordered by `seq`.
    pub events: Vec<Event>,
    /// The recording's last line, if it was finished.
    pub end: Option<TraceEnd>,
    /// The last line was cut short (and left out).
    pub truncated: bool,
}

/// Why a trace could not be loaded: where, and what was expected.
pub type LoadError = read::ReadError;

/// Loads the trace at `path`.
pub fn load(path: &Path) -> Result<Trace, LoadError> {
    collect(path, read::open(path)?)
}

/// Parses a trace from `input`; `path` names it in errors.
pub fn parse(input: impl BufRead, path: &Path) -> Result<Trace, LoadError> {
    collect(path, read::from_reader(path, input)?)
}

fn collect(path: &Path, mut reader: Box<dyn TraceReader + '_>) -> Result<Trace, LoadError> {
    let mut header = None;
    let mut threads = BTreeMap::new();
    let mut resources = BTreeMap::new();
    let mut events = Vec::new();
    let mut end = None;
    for line in &mut reader {
        match line? {
            TraceLine::Trace(found) => header = Some(found),
            TraceLine::Thread(thread) => {
                threads.insert(thread.key, thread);
            }
            TraceLine::Resource(resource) => {
                resources.insert(resource.key, resource);
            }
            TraceLine::Event(event) => events.push(event),
            TraceLine::End(found) => end = Some(found),
        }
    }
    // Every reader yields a header first, or an error.
    let header = header.ok_or_else(|| {
        read::ReadError::file(path, "empty: expected the trace header {\"trace\":{..}}")
    })?;
    events.sort_by_key(|event| event.seq);
    Ok(Trace {
        header,
        threads,
        resources,
        events,
        end,
        truncated: reader.summary().truncated.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = r#"{"trace":{"schema":1,"tool":"waitgraph","version":"0.1.0"}}"#;
    const THREAD: &str = r#"{"thread":{"key":1,"name":"main"}}"#;
    const EVENT_2: &str =
        r#"{"event":{"seq":2,"thread":1,"event":"lock-released","resource":7,"mode":"exclusive"}}"#;
    const EVENT_1: &str =
        r#"{"event":{"seq":1,"thread":1,"event":"lock-acquired","resource":7,"mode":"exclusive"}}"#;

    fn parse_text(text: &str) -> Result<Trace, LoadError> {
        parse(text.as_bytes(), Path::new("run.trace.jsonl"))
    }

    #[test]
    fn events_are_ordered_by_sequence() {
        let text = format!("{HEADER}\n{THREAD}\n{EVENT_2}\n{EVENT_1}\n{{\"end\":{{\"events\":2,\"dropped\":0}}}}\n");
        let trace = parse_text(&text).unwrap();
        assert_eq!(
            trace.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(trace.threads[&ThreadKey(1)].name.as_deref(), Some("main"));
        assert_eq!(trace.end.unwrap().events, 2);
        assert!(!trace.truncated);
    }

    #[test]
    fn a_malformed_line_names_the_file_the_line_and_what_was_expected() {
        let text = format!("{HEADER}\n{THREAD}\n{{\"event\":{{\"seq\":\"one\"}}}}\n{EVENT_1}\n");
        let error = parse_text(&text).unwrap_err().to_string();
        assert!(
            error.starts_with("run.trace.jsonl:3:21: expected a trace line"),
            "{error}"
        );
        assert!(
            error.contains(r#"found `{"event":{"seq":"one"}}`"#),
            "{error}"
        );
    }

    #[test]
    fn a_cut_last_line_keeps_every_complete_event() {
        let cut = &EVENT_2[..EVENT_2.len() / 2];
        let trace = parse_text(&format!("{HEADER}\n{THREAD}\n{EVENT_1}\n{cut}")).unwrap();
        assert!(trace.truncated);
        assert_eq!(trace.events.len(), 1);
        assert!(trace.end.is_none());
    }

    #[test]
    fn the_header_must_come_first_and_be_readable() {
        let error = parse_text(&format!("{EVENT_1}\n")).unwrap_err().to_string();
        assert!(
            error.starts_with("run.trace.jsonl:1:1: expected the trace header"),
            "{error}"
        );
        let newer = HEADER.replace("\"schema\":1", "\"schema\":9");
        let error = parse_text(&format!("{newer}\n")).unwrap_err().to_string();
        assert!(error.contains("schema 9 is newer"), "{error}");
        let error = parse_text("").unwrap_err().to_string();
        assert!(
            error.starts_with("run.trace.jsonl: empty: expected a trace"),
            "{error}"
        );
    }

    #[test]
    fn an_overlong_line_is_refused_without_reading_it_whole() {
        let long = "x".repeat(MAX_LINE + 10);
        let error = parse_text(&format!("{HEADER}\n{long}"))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("run.trace.jsonl:2: line longer than"),
            "{error}"
        );
    }

    #[test]
    fn nothing_may_follow_the_end_line() {
        let text = format!("{HEADER}\n{{\"end\":{{\"events\":0,\"dropped\":0}}}}\n{EVENT_1}\n");
        let error = parse_text(&text).unwrap_err().to_string();
        assert_eq!(
            error,
            "run.trace.jsonl:3:1: expected nothing after the `end` line"
        );
    }
}

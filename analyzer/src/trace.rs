//! Loading a trace written by `waitgraph::record::TraceFile` (JSON lines, see
//! [`TraceLine`]).
//!
//! | input | result |
//! |---|---|
//! | a well-formed trace | every line, events ordered by `seq` |
//! | the last line cut short (no newline, not JSON) | the complete lines, `truncated` set |
//! | a malformed line anywhere else | an error naming the file, the line and what was expected |
//! | a line longer than [`MAX_LINE`] | an error, without reading the rest of it into memory |
//! | a newer schema than this analyzer knows | an error saying so |
//! | no `end` line (the program died) | the events written, `end` absent |

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use waitgraph_core::model::{
    Event, ResourceInfo, ResourceKey, ThreadInfo, ThreadKey, TraceEnd, TraceHeader, TraceLine,
    TRACE_SCHEMA,
};

/// The longest line read: far more than any line the recorder writes.
pub const MAX_LINE: usize = 1 << 20;

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
#[derive(Debug)]
pub struct LoadError {
    pub path: PathBuf,
    /// 1-based; `None` for errors about the file as a whole.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for LoadError {}

/// Loads the trace at `path`.
pub fn load(path: &Path) -> Result<Trace, LoadError> {
    let file = std::fs::File::open(path).map_err(|error| LoadError {
        path: path.to_path_buf(),
        line: None,
        message: format!("cannot open: {error}"),
    })?;
    parse(std::io::BufReader::new(file), path)
}

/// Parses a trace from `input`; `path` names it in errors.
pub fn parse(mut input: impl BufRead, path: &Path) -> Result<Trace, LoadError> {
    let error = |line: usize, message: String| LoadError {
        path: path.to_path_buf(),
        line: Some(line),
        message,
    };
    let mut header = None;
    let mut threads = BTreeMap::new();
    let mut resources = BTreeMap::new();
    let mut events = Vec::new();
    let mut end = None;
    let mut truncated = false;
    let mut buffer = Vec::new();
    let mut number = 0;
    loop {
        buffer.clear();
        number += 1;
        let read = (&mut input)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buffer)
            .map_err(|e| error(number, format!("cannot read: {e}")))?;
        if read == 0 {
            break;
        }
        let complete = buffer.last() == Some(&b'\n');
        if !complete && buffer.len() > MAX_LINE {
            return Err(error(number, format!("line longer than {MAX_LINE} bytes")));
        }
        let text = String::from_utf8_lossy(&buffer);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let line: TraceLine = match serde_json::from_str(text) {
            Ok(line) => line,
            // The recording stopped mid-line: keep what came before.
            Err(_) if !complete => {
                truncated = true;
                break;
            }
            Err(e) => {
                return Err(error(
                    number,
                    format!(
                        "expected a trace line ({{\"trace\"|\"thread\"|\"resource\"|\"event\"|\"end\": {{..}}}}), found `{}`: {e}",
                        excerpt(text)
                    ),
                ))
            }
        };
        if header.is_none() && !matches!(line, TraceLine::Trace(_)) {
            return Err(error(
                number,
                format!(
                    "expected the trace header {{\"trace\":{{..}}}} first, found `{}`",
                    excerpt(text)
                ),
            ));
        }
        if end.is_some() {
            return Err(error(
                number,
                "expected nothing after the `end` line".into(),
            ));
        }
        match line {
            TraceLine::Trace(found) => {
                if header.is_some() {
                    return Err(error(
                        number,
                        "expected one trace header, found a second".into(),
                    ));
                }
                if found.schema > TRACE_SCHEMA {
                    return Err(error(
                        number,
                        format!(
                            "trace schema {} is newer than this analyzer reads ({TRACE_SCHEMA}); update waitgraph",
                            found.schema
                        ),
                    ));
                }
                header = Some(found);
            }
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
    let Some(header) = header else {
        return Err(LoadError {
            path: path.to_path_buf(),
            line: None,
            message: "empty: expected the trace header {\"trace\":{..}}".into(),
        });
    };
    events.sort_by_key(|event| event.seq);
    Ok(Trace {
        header,
        threads,
        resources,
        events,
        end,
        truncated,
    })
}

/// The start of a line, for error messages.
fn excerpt(text: &str) -> String {
    const SHOWN: usize = 60;
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
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
            error.starts_with("run.trace.jsonl:3: expected a trace line"),
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
            error.starts_with("run.trace.jsonl:1: expected the trace header"),
            "{error}"
        );
        let newer = HEADER.replace("\"schema\":1", "\"schema\":9");
        let error = parse_text(&format!("{newer}\n")).unwrap_err().to_string();
        assert!(error.contains("schema 9 is newer"), "{error}");
        let error = parse_text("").unwrap_err().to_string();
        assert_eq!(
            error,
            "run.trace.jsonl: empty: expected the trace header {\"trace\":{..}}"
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
            "run.trace.jsonl:3: expected nothing after the `end` line"
        );
    }
}

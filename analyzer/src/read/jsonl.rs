//! waitgraph's JSON lines: one [`TraceLine`] per line, passed on as written.

use super::detect::excerpt;
use super::lines::{LineError, Lines};
use super::{Format, ReadError, ReadSummary, TraceReader, Truncated, MAX_LINE};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use waitgraph_core::model::{TraceLine, TRACE_SCHEMA};

const HEADER: &str = "the trace header {\"trace\":{..}}";

/// Reads waitgraph's JSON-lines traces, one line at a time.
pub struct JsonLinesReader<R> {
    lines: Lines<R>,
    path: PathBuf,
    header: bool,
    end: bool,
    events: u64,
    truncated: Option<Truncated>,
    done: bool,
}

impl<R: BufRead> JsonLinesReader<R> {
    /// A reader of `input` as JSON lines, whatever it holds; `path` names it in errors.
    pub fn new(path: &Path, input: R) -> JsonLinesReader<R> {
        JsonLinesReader::from_lines(path, Lines::new(input))
    }

    pub(crate) fn from_lines(path: &Path, lines: Lines<R>) -> JsonLinesReader<R> {
        JsonLinesReader {
            lines,
            path: path.to_path_buf(),
            header: false,
            end: false,
            events: 0,
            truncated: None,
            done: false,
        }
    }

    fn fail(&mut self, error: ReadError) -> Option<Result<TraceLine, ReadError>> {
        self.done = true;
        Some(Err(error))
    }

    fn at(&self, line: u64, column: Option<u64>, message: impl Into<String>) -> ReadError {
        ReadError::at(&self.path, line, column, message)
    }

    /// At the end of the input: only a missing header is an error.
    fn finish(&mut self) -> Option<Result<TraceLine, ReadError>> {
        self.done = true;
        if self.header {
            return None;
        }
        let error = match self.truncated {
            Some(cut) => self.at(
                cut.line,
                None,
                format!(
                    "expected {HEADER}, found a first line cut short ({} bytes)",
                    cut.bytes
                ),
            ),
            None => ReadError::file(&self.path, format!("empty: expected {HEADER}")),
        };
        Some(Err(error))
    }

    /// A line that does not parse: a newer header, a cut last line, or an error.
    fn unreadable(
        &mut self,
        number: u64,
        complete: bool,
        error: serde_json::Error,
    ) -> Result<(), ReadError> {
        let text = self.lines.text();
        if !self.header {
            // A newer header may not parse as this one: its schema says why.
            if let Some(schema) = serde_json::from_slice::<serde_json::Value>(text)
                .ok()
                .and_then(|value| value.get("trace")?.get("schema")?.as_u64())
                .filter(|&schema| schema > u64::from(TRACE_SCHEMA))
            {
                return Err(self.newer(number, schema));
            }
        }
        if !complete {
            // The recording stopped mid-line: keep what came before.
            self.truncated = Some(Truncated {
                line: number,
                bytes: self.lines.raw().len() as u64,
            });
            return Ok(());
        }
        let position = format!(" at line {} column {}", error.line(), error.column());
        let said = error.to_string();
        let said = said.strip_suffix(&position).unwrap_or(&said);
        Err(self.at(
            number,
            Some(error.column().max(1) as u64),
            format!(
                "expected a trace line ({{\"trace\"|\"thread\"|\"resource\"|\"event\"|\"end\": {{..}}}}), found `{}`: {said}",
                excerpt(text)
            ),
        ))
    }

    fn newer(&self, number: u64, schema: u64) -> ReadError {
        self.at(
            number,
            None,
            format!(
                "trace schema {schema} is newer than this analyzer reads ({TRACE_SCHEMA}); update waitgraph"
            ),
        )
    }
}

impl<R: BufRead> Iterator for JsonLinesReader<R> {
    type Item = Result<TraceLine, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let line = match self.lines.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => return self.finish(),
                Err(LineError::Overlong { number }) => {
                    let error = self.at(number, None, format!("line longer than {MAX_LINE} bytes"));
                    return self.fail(error);
                }
                Err(LineError::Io { number, error }) => {
                    let error = self.at(number, None, format!("cannot read: {error}"));
                    return self.fail(error);
                }
            };
            let text = self.lines.text();
            let Some(start) = text.iter().position(|b| !b.is_ascii_whitespace()) else {
                continue;
            };
            let column = Some(start as u64 + 1);
            let parsed = match serde_json::from_slice::<TraceLine>(text) {
                Ok(parsed) => parsed,
                Err(error) => match self.unreadable(line.number, line.complete, error) {
                    Ok(()) => continue,
                    Err(error) => return self.fail(error),
                },
            };
            if self.end {
                let error = self.at(line.number, column, "expected nothing after the `end` line");
                return self.fail(error);
            }
            match &parsed {
                TraceLine::Trace(_) if self.header => {
                    let error = self.at(
                        line.number,
                        column,
                        "expected one trace header, found a second",
                    );
                    return self.fail(error);
                }
                TraceLine::Trace(found) if found.schema > TRACE_SCHEMA => {
                    let error = self.newer(line.number, found.schema.into());
                    return self.fail(error);
                }
                TraceLine::Trace(_) => self.header = true,
                _ if !self.header => {
                    let error = self.at(
                        line.number,
                        column,
                        format!("expected {HEADER} first, found `{}`", excerpt(text)),
                    );
                    return self.fail(error);
                }
                TraceLine::End(_) => self.end = true,
                TraceLine::Event(_) => self.events += 1,
                TraceLine::Thread(_) | TraceLine::Resource(_) => {}
            }
            return Some(Ok(parsed));
        }
    }
}

impl<R: BufRead> TraceReader for JsonLinesReader<R> {
    fn format(&self) -> Format {
        Format::JsonLines
    }

    fn summary(&self) -> ReadSummary {
        ReadSummary {
            format: Format::JsonLines,
            lines: self.lines.count() - u64::from(self.truncated.is_some()),
            events: self.events,
            truncated: self.truncated,
        }
    }
}

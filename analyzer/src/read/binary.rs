//! waitgraph's binary traces (`waitgraph_core::binary`): records decoded one at a time by
//! the core's [`Decoder`], from a buffer of [`CHUNK`] bytes read at a time.
//!
//! A record is yielded as the line it stands for (string and site definitions are kept by
//! the decoder, not yielded). [`ReadSummary::lines`] counts records (definitions
//! included, the magic and version not), so a cut record's [`Truncated::line`] and an
//! error's [`ReadError::line`] are record numbers, counted from 1 as the core does.

use super::{Format, ReadError, ReadSummary, TraceReader, Truncated};
use std::io::Read;
use std::path::{Path, PathBuf};
use waitgraph_core::binary::{DecodeError, Decoded, Decoder, MAGIC};
use waitgraph_core::model::{TraceHeader, TraceLine, TRACE_SCHEMA};

/// The magic and the version before the first record.
const PREFIX: usize = MAGIC.len() + 2;
/// How much is read from the input at a time.
const CHUNK: usize = 64 << 10;

/// Reads waitgraph's binary traces, one record at a time. Memory: a buffer of 64 KiB,
/// grown to hold a whole record when one is longer (at most
/// [`MAX_RECORD`](waitgraph_core::binary::MAX_RECORD)), plus the strings, sites and threads
/// the trace defines.
pub struct BinaryReader<R> {
    input: R,
    path: PathBuf,
    decoder: Decoder,
    /// Bytes read and not yet decoded: `buffer[start..filled]`.
    buffer: Vec<u8>,
    start: usize,
    filled: usize,
    at_end: bool,
    /// Records decoded, the magic and version counted as one.
    decoded: u64,
    header: bool,
    events: u64,
    truncated: Option<Truncated>,
    done: bool,
}

impl<R: Read> BinaryReader<R> {
    /// A reader of `input` as a binary trace, whatever it holds; `path` names it in errors.
    pub fn new(path: &Path, input: R) -> BinaryReader<R> {
        BinaryReader {
            input,
            path: path.to_path_buf(),
            decoder: Decoder::default(),
            buffer: Vec::new(),
            start: 0,
            filled: 0,
            at_end: false,
            decoded: 0,
            header: false,
            events: 0,
            truncated: None,
            done: false,
        }
    }

    /// Records read (the magic and version not counted).
    fn records(&self) -> u64 {
        self.decoded.saturating_sub(1)
    }

    fn fail(&mut self, error: ReadError) -> Option<Result<TraceLine, ReadError>> {
        self.done = true;
        Some(Err(error))
    }

    fn error(&self, error: DecodeError) -> ReadError {
        ReadError::at_byte(
            &self.path,
            error.offset,
            (error.record > 0).then_some(error.record),
            error.message,
        )
    }

    /// The header record, which started at byte `start`: refused if its schema is newer.
    fn header(&mut self, header: &TraceHeader, start: u64) -> Result<(), ReadError> {
        self.header = true;
        if header.schema > TRACE_SCHEMA {
            return Err(ReadError::at_byte(
                &self.path,
                start,
                Some(self.records()),
                format!(
                    "trace schema {} is newer than this analyzer reads ({TRACE_SCHEMA}); update waitgraph",
                    header.schema
                ),
            ));
        }
        Ok(())
    }

    /// Reads more behind what is left to decode; at the end of the input, `at_end`.
    fn fill(&mut self) -> Result<(), ReadError> {
        if self.start > 0 {
            self.buffer.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
        }
        if self.filled == self.buffer.len() {
            // Full of one record's start: room for a chunk more (the decoder refuses a
            // record longer than MAX_RECORD before it is read whole).
            self.buffer.resize(self.filled + CHUNK, 0);
        }
        loop {
            match self.input.read(&mut self.buffer[self.filled..]) {
                Ok(read) => {
                    self.filled += read;
                    self.at_end = read == 0;
                    return Ok(());
                }
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    return Err(ReadError::at_byte(
                        &self.path,
                        self.decoder.offset() + self.filled as u64,
                        None,
                        format!("cannot read: {error}"),
                    ));
                }
            }
        }
    }

    /// At the end of the input, what is left unread is a record (or the prefix) cut short.
    fn finish(&mut self) -> Option<Result<TraceLine, ReadError>> {
        self.done = true;
        let left = self.filled - self.start;
        let offset = self.decoder.offset();
        if self.decoded == 0 {
            return Some(Err(match left {
                0 => ReadError::file(&self.path, "empty: expected a binary trace"),
                left => ReadError::at_byte(
                    &self.path,
                    0,
                    None,
                    format!(
                        "cut short in its magic and version: expected {PREFIX} bytes, found {left}"
                    ),
                ),
            }));
        }
        if left > 0 {
            self.truncated = Some(Truncated {
                line: self.records() + 1,
                bytes: left as u64,
            });
        }
        if self.header {
            return None;
        }
        let found = match left {
            0 => "the end of the file".to_string(),
            left => format!("a first record cut short ({left} bytes)"),
        };
        Some(Err(ReadError::at_byte(
            &self.path,
            offset,
            Some(1),
            format!("expected the header record, found {found}"),
        )))
    }
}

impl<R: Read> Iterator for BinaryReader<R> {
    type Item = Result<TraceLine, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let start = self.decoder.offset();
            match self.decoder.decode(&self.buffer[self.start..self.filled]) {
                Ok(Some((decoded, used))) => {
                    self.start += used;
                    self.decoded += 1;
                    match decoded {
                        Decoded::Line(line) => {
                            match &line {
                                TraceLine::Event(_) => self.events += 1,
                                TraceLine::Trace(header) => {
                                    if let Err(error) = self.header(header, start) {
                                        return self.fail(error);
                                    }
                                }
                                _ => {}
                            }
                            return Some(Ok(line));
                        }
                        Decoded::Definition | Decoded::Skipped => {}
                    }
                }
                Ok(None) if self.at_end => return self.finish(),
                Ok(None) => {
                    if let Err(error) = self.fill() {
                        return self.fail(error);
                    }
                }
                Err(error) => {
                    let error = self.error(error);
                    return self.fail(error);
                }
            }
        }
    }
}

impl<R: Read> TraceReader for BinaryReader<R> {
    fn format(&self) -> Format {
        Format::Binary
    }

    fn summary(&self) -> ReadSummary {
        ReadSummary {
            format: Format::Binary,
            lines: self.records(),
            events: self.events,
            truncated: self.truncated,
        }
    }
}

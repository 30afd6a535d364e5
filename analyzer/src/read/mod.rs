//! Reading traces: one streaming reader per format, behind [`TraceReader`], the format
//! told from the content (never from the file name).
//!
//! ```no_run
//! # fn main() -> Result<(), waitgraph_analyzer::read::ReadError> {
//! let mut reader = waitgraph_analyzer::read::open("run.trace.jsonl".as_ref())?;
//! for line in &mut reader {
//!     let line = line?; // a `TraceLine`, in file order
//! }
//! println!("{:?}", reader.summary());
//! # Ok(()) }
//! ```
//!
//! | format | what writes it | told by its first non-blank line | what a reader yields |
//! |---|---|---|---|
//! | [`Format::JsonLines`] | waitgraph's recorder (`waitgraph::record::TraceFile`), the documented interchange format | a JSON object whose first key is `trace` (or another trace line's: `event`..., then the header is said to be missing) | the file's lines as they are ([`TraceLine`]) |
//! | [`Format::Std`] | RAPID, SPDOffline and other academic tools: `T<thread>\|op(arg)\|location` | `T<digits>\|` (blanks allowed around `T<digits>`) | a synthesized header, each thread and resource described at its first mention, one event per line |
//! | [`Format::Binary`] | waitgraph's recorder, its binary format ([`waitgraph_core::binary`]) | its first bytes: the magic `\x89WGTRACE` (looked at before any line is read) | the trace's lines; strings and sites are definitions the decoder keeps, not lines |
//!
//! What is not a trace is refused with what it looks like: an empty file, binary data
//! other than a binary trace, a waitgraph report, some other JSON or text.
//!
//! ## Streaming
//!
//! Readers yield lines in file order, never sorted (the recorder writes per-thread
//! batches: order by `seq`, or process per thread). Memory is one line
//! ([`MAX_LINE`]; the STD reader keeps a second copy of it while it updates its tables)
//! plus, for STD, the tables of names seen (bounded, see below). The binary reader
//! reads 64 KiB at a time, more only to hold one whole record (at most
//! [`MAX_RECORD`](waitgraph_core::binary::MAX_RECORD)), plus the strings, sites and
//! threads the trace defines.
//!
//! For a binary trace, a "line" is a record: [`ReadSummary::lines`] counts records
//! (string and site definitions included, the magic and version not), and
//! [`Truncated::line`] and [`ReadError::line`] are record numbers, from 1.
//!
//! ## Errors
//!
//! | input | result |
//! |---|---|
//! | a malformed line | a [`ReadError`] with the line, the column and what was expected; the reader then ends |
//! | the last line cut short (no newline and not readable) | not an error: every complete line is yielded and [`ReadSummary::truncated`] says which line it was and how many bytes of it were left out (a cut that still reads, an STD location cut short, cannot be told and is kept) |
//! | a line longer than [`MAX_LINE`] bytes | an error, without reading it whole |
//! | JSON lines: a header with a newer schema than [`TRACE_SCHEMA`](waitgraph_core::model::TRACE_SCHEMA) | an error saying so |
//! | JSON lines: no header first, a second header, a line after `end` | an error |
//! | JSON lines: events naming undescribed threads or resources, duplicate descriptions | passed on as they are (the engine warns) |
//! | STD: an unknown operation | an error naming it and listing the known ones |
//! | STD: a name longer than [`MAX_NAME`] bytes, more than [`MAX_NAMES`] distinct names or [`MAX_NAME_BYTES`] of them | an error |
//! | binary: a malformed record (an undefined string or site id, an unknown tag, a field out of range, a length past [`MAX_RECORD`](waitgraph_core::binary::MAX_RECORD)) | a [`ReadError`] with the byte where the record starts, the record and what was wrong; the reader then ends |
//! | binary: the last record cut short | as for a cut last line: every complete record is yielded, [`ReadSummary::truncated`] gives the record's number and how many of its bytes were there |
//! | binary: a format version newer than [`VERSION`](waitgraph_core::binary::VERSION), or a header with a newer schema | an error giving both numbers |
//! | binary: no header record first, a second one, a record after `end` | an error |
//!
//! Errors display as `path:line:column: message`; errors about the whole file (it cannot
//! be opened, it is empty) have no line, and I/O errors and overlong lines no column.
//! Errors in a binary trace display as `path: byte 1234 (record 56): message` (the byte
//! where the record starts; `path: byte 0: message` for the magic and version).
//!
//! ## STD, mapped to the model
//!
//! | STD line | yields (after describing new threads and resources) |
//! |---|---|
//! | `T0\|acq(l)\|loc` | `LockAcquired { mode: Exclusive }` on mutex `l` |
//! | `T0\|rel(l)\|loc` | `LockReleased { mode: Exclusive }` |
//! | `T0\|req(l)\|loc` | `LockRequested { mode: Exclusive }` |
//! | `T0\|r(x)\|loc`, `T0\|w(x)\|loc` | `Read`, `Write` on variable `x` |
//! | `T0\|fork(T1)\|loc`, `T0\|join(T1)\|loc` | `Fork { child }`, `Join { child }` (T1 described first) |
//! | `T0\|begin\|loc`, `T0\|end\|loc` | `Enter` / `Exit` of function `transaction` (an argument is allowed and ignored) |
//! | `T0\|wait(l)\|loc` | `WaitBegin` on the condvar of `l` (`WaitKind::Condvar`, untimed); the thread's next `req(l)` or `acq(l)` is preceded by a `WaitEnd { end: Woken }` |
//! | `T0\|notify(l)\|loc` | `Notify { all: false }` on the condvar of `l` |
//!
//! Threads are keyed 1, 2, ... in order of first mention and named by their token;
//! resources are keyed 1, 2, ... per (kind, name), of class `Named(name)`, created at the
//! line of their first mention; the condvar of `l` is a resource of its own, named `l`
//! too. An event's `seq` is its line number (a synthesized `WaitEnd` shares its line's,
//! and comes first), its site is the trace file, the line, column 0, and the location
//! token as the function. Fields are trimmed of surrounding blanks; the location may be
//! empty (no function then). Names are any text without `|` (an argument may hold
//! parentheses: `r(f(x))` reads `f(x)`); only the first line's thread must look like
//! `T<digits>`, for detection.

mod binary;
mod detect;
mod jsonl;
mod lines;
mod rapid;

pub use binary::BinaryReader;
pub use jsonl::JsonLinesReader;
pub use rapid::StdReader;

use std::fmt;
use std::io::BufRead;
use std::path::{Path, PathBuf};
pub use waitgraph_core::model::TraceLine;

/// The longest line read: far more than any line the recorder writes.
pub const MAX_LINE: usize = 1 << 20;
/// The longest name (thread, lock, variable, location) in an STD trace.
pub const MAX_NAME: usize = 4096;
/// How many distinct threads and resources an STD trace may name.
pub const MAX_NAMES: usize = 1_000_000;
/// How many bytes of distinct names an STD trace may hold.
pub const MAX_NAME_BYTES: usize = 64 << 20;

/// A trace format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// waitgraph's recorder: one JSON object per line ([`TraceLine`]).
    JsonLines,
    /// RAPID's STD format: `T<thread>|op(arg)|location`.
    Std,
    /// waitgraph's recorder, binary: [`waitgraph_core::binary`].
    Binary,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::JsonLines => "json-lines",
            Format::Std => "std",
            Format::Binary => "binary",
        }
    }

    /// What the format's [`ReadSummary::lines`] and [`Truncated::line`] count: `line`, or
    /// `record` for the binary format.
    pub fn unit(self) -> &'static str {
        match self {
            Format::JsonLines | Format::Std => "line",
            Format::Binary => "record",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a trace could not be read: where, what was found and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    pub path: PathBuf,
    /// 1-based; `None` for errors about the file as a whole. In a binary trace, the
    /// record (`None` for the magic and version, or an I/O error).
    pub line: Option<u64>,
    /// 1-based, in bytes from the start of the line; `None` when not about one place
    /// (always, in a binary trace).
    pub column: Option<u64>,
    /// In a binary trace: where the record (or the part read when it failed) starts, in
    /// bytes from the start of the file. `None` in text traces.
    pub byte: Option<u64>,
    pub message: String,
}

impl ReadError {
    pub(crate) fn file(path: &Path, message: impl Into<String>) -> ReadError {
        ReadError {
            path: path.to_path_buf(),
            line: None,
            column: None,
            byte: None,
            message: message.into(),
        }
    }

    pub(crate) fn at(
        path: &Path,
        line: u64,
        column: Option<u64>,
        message: impl Into<String>,
    ) -> ReadError {
        ReadError {
            path: path.to_path_buf(),
            line: Some(line),
            column,
            byte: None,
            message: message.into(),
        }
    }

    /// In a binary trace: at byte `byte`, in `record` if it is about one.
    pub(crate) fn at_byte(
        path: &Path,
        byte: u64,
        record: Option<u64>,
        message: impl Into<String>,
    ) -> ReadError {
        ReadError {
            path: path.to_path_buf(),
            line: record,
            column: None,
            byte: Some(byte),
            message: message.into(),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(byte) = self.byte {
            write!(f, ": byte {byte}")?;
            if let Some(record) = self.line {
                write!(f, " (record {record})")?;
            }
        } else if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ReadError {}

/// The last line (in a binary trace, record), cut short and left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Truncated {
    /// Its line (record) number, 1-based.
    pub line: u64,
    /// The bytes of it that were there and were left out.
    pub bytes: u64,
}

/// What a reader has read so far (all of it, once it has ended).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadSummary {
    pub format: Format,
    /// Lines of the file read, blank ones included, a cut last line not. In a binary
    /// trace, records (string and site definitions included, the magic and version not).
    pub lines: u64,
    /// Events yielded.
    pub events: u64,
    /// The last line (record) was cut short (and left out).
    pub truncated: Option<Truncated>,
}

/// A streaming reader of one trace format: the trace's lines, in file order. After an
/// error it yields nothing more.
pub trait TraceReader: Iterator<Item = Result<TraceLine, ReadError>> {
    fn format(&self) -> Format;
    fn summary(&self) -> ReadSummary;
}

impl<T: TraceReader + ?Sized> TraceReader for Box<T> {
    fn format(&self) -> Format {
        (**self).format()
    }

    fn summary(&self) -> ReadSummary {
        (**self).summary()
    }
}

/// Opens the trace at `path`, its format told from its content.
pub fn open(path: &Path) -> Result<Box<dyn TraceReader>, ReadError> {
    let file = std::fs::File::open(path)
        .map_err(|error| ReadError::file(path, format!("cannot open: {error}")))?;
    from_reader(path, std::io::BufReader::with_capacity(64 << 10, file))
}

/// Reads a trace from `input`, its format told from its content; `path_for_errors`
/// names it in errors (and, for STD, in sites).
pub fn from_reader<'a>(
    path_for_errors: &Path,
    input: impl BufRead + 'a,
) -> Result<Box<dyn TraceReader + 'a>, ReadError> {
    // The binary format is told by its first bytes, before the line splitter reads any.
    let (binary, input) = detect::binary(path_for_errors, input)?;
    if binary {
        return Ok(Box::new(BinaryReader::new(path_for_errors, input)));
    }
    let mut lines = lines::Lines::new(input);
    match detect::detect(path_for_errors, &mut lines)? {
        Format::JsonLines => Ok(Box::new(JsonLinesReader::from_lines(
            path_for_errors,
            lines,
        ))),
        Format::Std => Ok(Box::new(StdReader::from_lines(path_for_errors, lines))),
        Format::Binary => unreachable!("told before any line is read"),
    }
}

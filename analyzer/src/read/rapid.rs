//! RAPID's STD format: `T<thread>|op(arg)|location`, one event per line, mapped to the
//! model (the table is in the module above).

use super::lines::{Line, LineError, Lines};
use super::{
    Format, ReadError, ReadSummary, TraceReader, Truncated, MAX_LINE, MAX_NAME, MAX_NAMES,
    MAX_NAME_BYTES,
};
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use waitgraph_core::model::{
    Class, Event, EventKind, LockMode, ResourceInfo, ResourceKey, ResourceKind, Site, ThreadInfo,
    ThreadKey, TraceHeader, TraceLine, WaitEnd, WaitKind,
};

const SHAPE: &str = "`T<thread>|op(arg)|location`";

/// The operations, as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Acquire,
    Release,
    Request,
    Read,
    Write,
    Fork,
    Join,
    Begin,
    End,
    Wait,
    Notify,
}

impl Op {
    const ALL: [(&'static str, Op); 11] = [
        ("acq", Op::Acquire),
        ("rel", Op::Release),
        ("req", Op::Request),
        ("r", Op::Read),
        ("w", Op::Write),
        ("fork", Op::Fork),
        ("join", Op::Join),
        ("begin", Op::Begin),
        ("end", Op::End),
        ("wait", Op::Wait),
        ("notify", Op::Notify),
    ];

    fn named(name: &str) -> Option<Op> {
        Op::ALL
            .iter()
            .find(|(written, _)| *written == name)
            .map(|&(_, op)| op)
    }

    fn known() -> String {
        Op::ALL.map(|(name, _)| name).join(", ")
    }

    /// What its argument names; `None`: it takes none (one written is ignored).
    fn argument(self) -> Option<&'static str> {
        match self {
            Op::Acquire | Op::Release | Op::Request | Op::Wait | Op::Notify => Some("lock"),
            Op::Read | Op::Write => Some("variable"),
            Op::Fork | Op::Join => Some("thread"),
            Op::Begin | Op::End => None,
        }
    }
}

/// One line, parsed but not yet applied.
#[derive(Debug)]
struct Parsed<'t> {
    thread: &'t str,
    op: Op,
    argument: &'t str,
    location: &'t str,
}

/// A syntax error: its column (1-based) and message.
type SyntaxError = (u64, String);

/// Reads RAPID's STD traces, one line at a time.
pub struct StdReader<R> {
    lines: Lines<R>,
    path: PathBuf,
    file: String,
    pending: VecDeque<TraceLine>,
    started: bool,
    threads: HashMap<Box<str>, ThreadKey>,
    /// Per name, its mutex, variable and condvar (looked up by `&str`, no allocation).
    resources: HashMap<Box<str>, [Option<ResourceKey>; 3]>,
    resource_count: u64,
    /// The line being applied, out of `lines` while the tables change.
    scratch: Vec<u8>,
    name_bytes: usize,
    /// A thread after `wait(l)`: the condvar of `l`, until its next `req(l)` / `acq(l)`.
    waiting: HashMap<ThreadKey, ResourceKey>,
    /// [`MAX_NAMES`] and [`MAX_NAME_BYTES`] (smaller in tests).
    max_names: usize,
    max_name_bytes: usize,
    events: u64,
    truncated: Option<Truncated>,
    done: bool,
}

impl<R: BufRead> StdReader<R> {
    /// A reader of `input` as STD, whatever it holds; `path` names it in errors and sites.
    pub fn new(path: &Path, input: R) -> StdReader<R> {
        StdReader::from_lines(path, Lines::new(input))
    }

    pub(crate) fn from_lines(path: &Path, lines: Lines<R>) -> StdReader<R> {
        StdReader {
            lines,
            path: path.to_path_buf(),
            file: path.display().to_string(),
            pending: VecDeque::new(),
            started: false,
            threads: HashMap::new(),
            resources: HashMap::new(),
            resource_count: 0,
            scratch: Vec::new(),
            name_bytes: 0,
            waiting: HashMap::new(),
            max_names: MAX_NAMES,
            max_name_bytes: MAX_NAME_BYTES,
            events: 0,
            truncated: None,
            done: false,
        }
    }

    fn fail(&mut self, error: ReadError) -> Option<Result<TraceLine, ReadError>> {
        self.done = true;
        self.pending.clear();
        Some(Err(error))
    }

    /// Reads lines until one yields something; `Ok(false)` at the end.
    fn read_line(&mut self) -> Result<bool, ReadError> {
        loop {
            let line = match self.lines.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => return Ok(false),
                Err(LineError::Overlong { number }) => {
                    return Err(ReadError::at(
                        &self.path,
                        number,
                        None,
                        format!("line longer than {MAX_LINE} bytes"),
                    ))
                }
                Err(LineError::Io { number, error }) => {
                    return Err(ReadError::at(
                        &self.path,
                        number,
                        None,
                        format!("cannot read: {error}"),
                    ))
                }
            };
            if self.lines.text().iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            // Out of `self` while the tables change (kept, so no allocation per line).
            let mut text = std::mem::take(&mut self.scratch);
            text.clear();
            text.extend_from_slice(self.lines.text());
            let applied = self.parse_and_apply(&text, line);
            self.scratch = text;
            match applied? {
                true => return Ok(true),
                false => continue,
            }
        }
    }

    /// `Ok(false)`: a cut last line, left out.
    fn parse_and_apply(&mut self, text: &[u8], line: Line) -> Result<bool, ReadError> {
        let parsed = match parse(text) {
            Ok(parsed) => parsed,
            // The recording stopped mid-line: keep what came before.
            Err(_) if !line.complete => {
                self.truncated = Some(Truncated {
                    line: line.number,
                    bytes: self.lines.raw().len() as u64,
                });
                return Ok(false);
            }
            Err((column, message)) => {
                return Err(ReadError::at(
                    &self.path,
                    line.number,
                    Some(column),
                    message,
                ))
            }
        };
        self.apply(
            line.number,
            parsed.thread,
            parsed.op,
            parsed.argument,
            parsed.location,
        )?;
        Ok(true)
    }

    /// Describes what is new on the line, then queues its events.
    fn apply(
        &mut self,
        number: u64,
        thread: &str,
        op: Op,
        argument: &str,
        location: &str,
    ) -> Result<(), ReadError> {
        let me = self.thread(number, thread)?;
        let kind = match op {
            Op::Acquire | Op::Request => {
                let lock = self.resource(number, ResourceKind::Mutex, argument)?;
                let condvar = self
                    .resources
                    .get(argument)
                    .and_then(|slots| slots[slot(ResourceKind::Condvar)]);
                if let Some(condvar) = condvar.filter(|c| self.waiting.get(&me) == Some(c)) {
                    self.waiting.remove(&me);
                    self.event(
                        number,
                        me,
                        location,
                        EventKind::WaitEnd {
                            resource: condvar,
                            end: WaitEnd::Woken,
                        },
                    );
                }
                let mode = LockMode::Exclusive;
                if op == Op::Acquire {
                    EventKind::LockAcquired {
                        resource: lock,
                        mode,
                    }
                } else {
                    EventKind::LockRequested {
                        resource: lock,
                        mode,
                    }
                }
            }
            Op::Release => EventKind::LockReleased {
                resource: self.resource(number, ResourceKind::Mutex, argument)?,
                mode: LockMode::Exclusive,
            },
            Op::Read => EventKind::Read {
                resource: self.resource(number, ResourceKind::Variable, argument)?,
            },
            Op::Write => EventKind::Write {
                resource: self.resource(number, ResourceKind::Variable, argument)?,
            },
            Op::Fork => EventKind::Fork {
                child: self.thread(number, argument)?,
            },
            Op::Join => EventKind::Join {
                child: self.thread(number, argument)?,
            },
            Op::Begin => EventKind::Enter {
                function: Cow::Borrowed("transaction"),
            },
            Op::End => EventKind::Exit {
                function: Cow::Borrowed("transaction"),
            },
            Op::Wait => {
                let condvar = self.resource(number, ResourceKind::Condvar, argument)?;
                self.waiting.insert(me, condvar);
                EventKind::WaitBegin {
                    resource: condvar,
                    wait: WaitKind::Condvar,
                    timed: false,
                }
            }
            Op::Notify => EventKind::Notify {
                resource: self.resource(number, ResourceKind::Condvar, argument)?,
                all: false,
            },
        };
        self.event(number, me, location, kind);
        Ok(())
    }

    fn event(&mut self, number: u64, thread: ThreadKey, location: &str, kind: EventKind) {
        let site = Site {
            function: (!location.is_empty()).then(|| Cow::Owned(location.to_string())),
            ..self.site(number)
        };
        self.pending.push_back(TraceLine::Event(Event {
            seq: number,
            thread,
            kind,
            site: Some(site),
        }));
    }

    fn site(&self, number: u64) -> Site {
        Site {
            file: Cow::Owned(self.file.clone()),
            line: u32::try_from(number).unwrap_or(u32::MAX),
            column: 0,
            function: None,
        }
    }

    /// The thread's key, described first if it is new.
    fn thread(&mut self, number: u64, name: &str) -> Result<ThreadKey, ReadError> {
        if let Some(&key) = self.threads.get(name) {
            return Ok(key);
        }
        self.room(number, name)?;
        let key = ThreadKey(self.threads.len() as u64 + 1);
        self.threads.insert(name.into(), key);
        self.pending.push_back(TraceLine::Thread(ThreadInfo {
            key,
            name: Some(name.to_string()),
        }));
        Ok(key)
    }

    /// The resource's key, described first if it is new.
    fn resource(
        &mut self,
        number: u64,
        kind: ResourceKind,
        name: &str,
    ) -> Result<ResourceKey, ReadError> {
        let slots = self.resources.get(name).copied();
        if let Some(key) = slots.and_then(|slots| slots[slot(kind)]) {
            return Ok(key);
        }
        // A name met before (as another kind) is not stored twice.
        self.room(number, if slots.is_some() { "" } else { name })?;
        self.resource_count += 1;
        let key = ResourceKey(self.resource_count);
        match self.resources.get_mut(name) {
            Some(slots) => slots[slot(kind)] = Some(key),
            None => {
                let mut slots = [None; 3];
                slots[slot(kind)] = Some(key);
                self.resources.insert(name.into(), slots);
            }
        }
        self.pending.push_back(TraceLine::Resource(ResourceInfo {
            key,
            kind,
            class: Class::Named(Cow::Owned(name.to_string())),
            created: self.site(number),
        }));
        Ok(key)
    }

    /// Refuses a new name past the tables' bounds.
    fn room(&mut self, number: u64, name: &str) -> Result<(), ReadError> {
        if self.threads.len() + self.resource_count as usize >= self.max_names
            || self.name_bytes + name.len() > self.max_name_bytes
        {
            return Err(ReadError::at(
                &self.path,
                number,
                None,
                format!(
                    "more distinct threads and resources than this reader keeps ({} names, {} bytes of them)",
                    self.max_names, self.max_name_bytes
                ),
            ));
        }
        self.name_bytes += name.len();
        Ok(())
    }
}

impl<R: BufRead> Iterator for StdReader<R> {
    type Item = Result<TraceLine, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.started {
            self.started = true;
            return Some(Ok(TraceLine::Trace(TraceHeader::current())));
        }
        loop {
            if let Some(line) = self.pending.pop_front() {
                if matches!(line, TraceLine::Event(_)) {
                    self.events += 1;
                }
                return Some(Ok(line));
            }
            if self.done {
                return None;
            }
            match self.read_line() {
                Ok(true) => {}
                Ok(false) => self.done = true,
                Err(error) => return self.fail(error),
            }
        }
    }
}

impl<R: BufRead> TraceReader for StdReader<R> {
    fn format(&self) -> Format {
        Format::Std
    }

    fn summary(&self) -> ReadSummary {
        ReadSummary {
            format: Format::Std,
            lines: self.lines.count() - u64::from(self.truncated.is_some()),
            events: self.events,
            truncated: self.truncated,
        }
    }
}

/// Where a kind of resource is kept among a name's.
fn slot(kind: ResourceKind) -> usize {
    match kind {
        ResourceKind::Mutex => 0,
        ResourceKind::Variable => 1,
        _ => 2,
    }
}

/// Parses one non-blank line: `thread|op(argument)|location`, fields trimmed.
fn parse(text: &[u8]) -> Result<Parsed<'_>, SyntaxError> {
    let text = std::str::from_utf8(text).map_err(|error| {
        let at = error.valid_up_to();
        (
            at as u64 + 1,
            format!("expected UTF-8 text, found byte 0x{:02x}", text[at]),
        )
    })?;
    let mut bars = text.match_indices('|').map(|(at, _)| at);
    let (Some(first), Some(second)) = (bars.next(), bars.next()) else {
        return Err((
            text.len() as u64 + 1,
            format!(
                "expected {SHAPE}, found `{}`",
                super::detect::excerpt(text.as_bytes())
            ),
        ));
    };
    if let Some(third) = bars.next() {
        return Err((
            third as u64 + 1,
            format!("expected {SHAPE} (three fields), found a fourth after this `|`"),
        ));
    }
    let thread = field(text, 0, first);
    let op = field(text, first + 1, second);
    let location = field(text, second + 1, text.len());
    if thread.1.is_empty() {
        return Err((1, format!("expected {SHAPE}, found no thread before `|`")));
    }
    name(thread, "thread")?;
    name(location, "location")?;
    let (op_at, op_text) = op;
    let shown = super::detect::excerpt(op_text.as_bytes());
    let written_len = op_text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(op_text.len());
    let written = &op_text[..written_len];
    if written.is_empty() {
        return Err((
            op_at as u64 + 1,
            format!(
                "expected an operation ({}) after `|`, found `{shown}`",
                Op::known()
            ),
        ));
    }
    let Some(op) = Op::named(written) else {
        return Err((
            op_at as u64 + 1,
            format!(
                "unknown operation `{}`: expected one of {}",
                super::detect::excerpt(written.as_bytes()),
                Op::known()
            ),
        ));
    };
    // After the name: nothing, or `(argument)`.
    let rest = &op_text[written_len..];
    let open = rest.len() - rest.trim_start().len();
    let argument = match rest.trim_start().strip_prefix('(') {
        _ if rest.is_empty() => None,
        Some(after) => {
            let Some(inside) = after.strip_suffix(')') else {
                return Err((
                    (op_at + op_text.len()) as u64 + 1,
                    format!("expected `)` closing `{written}(`, found `{shown}`"),
                ));
            };
            let start = written_len + open + 1;
            let (at, inside) = field(op_text, start, start + inside.len());
            Some((op_at + at, inside))
        }
        None => None,
    };
    let argument = match (op.argument(), argument) {
        (None, _) if rest.trim_start().is_empty() || argument.is_some() => "",
        (Some(what), Some((at, argument))) if !argument.is_empty() => {
            name((at, argument), what)?;
            argument
        }
        (what, _) => {
            let expected = match what {
                Some(what) => format!("`{written}(<{what}>)`"),
                None => format!("`{written}` or `{written}(..)`"),
            };
            return Err((
                (op_at + written_len) as u64 + 1,
                format!("expected {expected}, found `{shown}`"),
            ));
        }
    };
    Ok(Parsed {
        thread: thread.1,
        op,
        argument,
        location: location.1,
    })
}

/// `text[start..end]` trimmed, with where it starts (0-based).
fn field(text: &str, start: usize, end: usize) -> (usize, &str) {
    let raw = &text[start..end];
    let trimmed = raw.trim_start();
    (start + raw.len() - trimmed.len(), trimmed.trim_end())
}

/// Refuses a name past [`MAX_NAME`] bytes.
fn name((at, text): (usize, &str), what: &str) -> Result<(), SyntaxError> {
    if text.len() > MAX_NAME {
        return Err((
            at as u64 + 1,
            format!("{what} longer than {MAX_NAME} bytes"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> (u64, String) {
        parse(text.as_bytes()).unwrap_err()
    }

    #[test]
    fn lines_parse_into_their_fields() {
        let parsed = parse(b" T0 | acq( l1 ) | 42 ").unwrap();
        assert_eq!(
            (parsed.thread, parsed.op, parsed.argument, parsed.location),
            ("T0", Op::Acquire, "l1", "42")
        );
        let parsed = parse(b"T1|w(V234.23[0])|").unwrap();
        assert_eq!((parsed.argument, parsed.location), ("V234.23[0]", ""));
        let parsed = parse(b"T1|r(f(x))|9").unwrap();
        assert_eq!(parsed.argument, "f(x)");
        assert_eq!(parse(b"T2|begin|1").unwrap().op, Op::Begin);
        assert_eq!(parse(b"T2|end(x)|1").unwrap().op, Op::End);
        assert_eq!(parse(b"T2|acq (l)|1").unwrap().argument, "l");
    }

    #[test]
    fn malformed_lines_say_where_and_what_was_expected() {
        assert_eq!(
            error("T0|acq(l)"),
            (
                10,
                "expected `T<thread>|op(arg)|location`, found `T0|acq(l)`".into()
            )
        );
        assert_eq!(error("T0|acq(l)|1|2").0, 12);
        assert_eq!(
            error("T0|lock(l)|1"),
            (
                4,
                "unknown operation `lock`: expected one of acq, rel, req, r, w, fork, join, begin, end, wait, notify"
                    .into()
            )
        );
        assert_eq!(
            error("T0|acq(l|1"),
            (9, "expected `)` closing `acq(`, found `acq(l`".into())
        );
        assert_eq!(
            error("T0|acq|1"),
            (7, "expected `acq(<lock>)`, found `acq`".into())
        );
        assert_eq!(
            error("T0|acq l|1"),
            (7, "expected `acq(<lock>)`, found `acq l`".into())
        );
        assert_eq!(
            error("T0|fork()|1"),
            (8, "expected `fork(<thread>)`, found `fork()`".into())
        );
        assert_eq!(
            error("T0|begin x|1"),
            (9, "expected `begin` or `begin(..)`, found `begin x`".into())
        );
        assert_eq!(error("T0|acq-l|1").0, 7);
        assert_eq!(error("|acq(l)|1").0, 1);
        assert_eq!(error("T0|(l)|1").0, 4);
        assert_eq!(
            parse(b"T0|acq(\xff)|1").unwrap_err(),
            (8, "expected UTF-8 text, found byte 0xff".into())
        );
        assert_eq!(error(&format!("{}|r(v)|1", "T".repeat(MAX_NAME + 1))).0, 1);
        assert_eq!(
            error(&format!("T0|r(v)|  {}", "l".repeat(MAX_NAME + 1))).0,
            11
        );
        let long = "x".repeat(MAX_NAME + 1);
        assert_eq!(
            error(&format!("T0|r({long})|1")),
            (6, "variable longer than 4096 bytes".into())
        );
    }

    #[test]
    fn the_tables_of_names_are_bounded() {
        let text = "T0|acq(a)|1\nT0|acq(b)|2\nT0|acq(a)|3\nT1|acq(c)|4\n";
        let mut reader = StdReader::new(Path::new("t.std"), text.as_bytes());
        reader.max_names = 3;
        let error = reader.find_map(Result::err).unwrap();
        assert_eq!(
            error.to_string(),
            "t.std:4: more distinct threads and resources than this reader keeps (3 names, 67108864 bytes of them)"
        );
        let mut reader = StdReader::new(Path::new("t.std"), text.as_bytes());
        reader.max_name_bytes = 3;
        let error = reader.find_map(Result::err).unwrap();
        assert_eq!(error.line, Some(2));
    }
}

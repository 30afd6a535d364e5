//! Reading binary records back into [`TraceLine`]s: [`Decoder`] works on bytes in
//! memory (no I/O), [`Reader`] streams any [`Read`] through it.

use super::encode::IdHasher;
use super::{intern::intern, tag, varint, MAGIC, MAX_RECORD, VERSION};
use crate::model::{
    Class, Event, EventKind, LockMode, ResourceInfo, ResourceKey, ResourceKind, Site, ThreadInfo,
    ThreadKey, TraceEnd, TraceHeader, TraceLine, WaitEnd, WaitKind,
};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::Read;

/// Why a binary trace could not be read: at which byte and record, and what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Where the record (or the file's prefix) starts, in bytes from the file's start.
    pub offset: u64,
    /// Which record, counting from 1 (0: the magic and version before them).
    pub record: u64,
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.record == 0 {
            write!(f, "byte {}: {}", self.offset, self.message)
        } else {
            write!(
                f,
                "byte {} (record {}): {}",
                self.offset, self.record, self.message
            )
        }
    }
}

impl std::error::Error for DecodeError {}

/// What one record was.
#[derive(Debug)]
pub enum Decoded {
    Line(TraceLine),
    /// A string or a site, kept for the records after it.
    Definition,
    /// An optional record this reader does not know.
    Skipped,
}

/// A trace cut short: where its last, incomplete record starts and how many of its bytes
/// were there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cut {
    pub offset: u64,
    pub bytes: u64,
}

/// The state of reading one binary trace: its strings, sites and each thread's last `seq`.
/// Memory grows with what the trace defines (strings, sites, threads), never with a
/// number read from it.
#[derive(Default)]
pub struct Decoder {
    prefix_read: bool,
    header_read: bool,
    ended: bool,
    strings: Vec<Cow<'static, str>>,
    sites: Vec<Site>,
    last_seq: HashMap<ThreadKey, u64, IdHasher>,
    offset: u64,
    records: u64,
}

impl Decoder {
    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Decodes what starts `input`: the record and the bytes it took, or `None` when
    /// `input` holds less than a whole one (give it more, or it was cut short).
    pub fn decode(&mut self, input: &[u8]) -> Result<Option<(Decoded, usize)>, DecodeError> {
        if !self.prefix_read {
            return self.prefix(input);
        }
        let start = self.offset;
        let record = self.records + 1;
        let error = |message: String| DecodeError {
            offset: start,
            record,
            message,
        };
        let Some(&tag) = input.first() else {
            return Ok(None);
        };
        let Some((length, length_bytes)) = varint::get(&input[1..]) else {
            if input.len() > 11 {
                return Err(error("the record's length is not a valid varint".into()));
            }
            return Ok(None);
        };
        if length > MAX_RECORD as u64 {
            return Err(error(format!(
                "a record of {length} bytes, more than the {MAX_RECORD} a record may have"
            )));
        }
        let used = 1 + length_bytes + length as usize;
        if input.len() < used {
            return Ok(None);
        }
        let payload = &input[1 + length_bytes..used];
        let decoded = self
            .record(tag, payload)
            .map_err(|message| error(format!("{} record: {message}", tag_name(tag))))?;
        self.offset += used as u64;
        self.records += 1;
        Ok(Some((decoded, used)))
    }

    fn prefix(&mut self, input: &[u8]) -> Result<Option<(Decoded, usize)>, DecodeError> {
        let error = |message: String| DecodeError {
            offset: 0,
            record: 0,
            message,
        };
        let length = MAGIC.len() + 2;
        if input.is_empty() {
            return Ok(None);
        }
        let seen = &input[..MAGIC.len().min(input.len())];
        if seen != &MAGIC[..seen.len()] {
            return Err(error(
                "not a waitgraph binary trace (it does not start with \\x89WGTRACE)".into(),
            ));
        }
        if input.len() < length {
            return Ok(None);
        }
        let version = u16::from_le_bytes([input[MAGIC.len()], input[MAGIC.len() + 1]]);
        if version == 0 || version > VERSION {
            return Err(error(format!(
                "format version {version}, but this reader knows versions 1 to {VERSION} \
                 (a newer waitgraph wrote it: upgrade to read it)"
            )));
        }
        self.prefix_read = true;
        self.offset = length as u64;
        Ok(Some((Decoded::Skipped, length)))
    }

    // Inlined into `decode`: a call per record and per field was a third of the time.
    #[inline(always)]
    fn record(&mut self, tag: u8, payload: &[u8]) -> Result<Decoded, String> {
        let mut fields = Fields { bytes: payload };
        if !self.header_read && tag != tag::HEADER {
            return Err("the first record must be the header".into());
        }
        if self.ended && tag < tag::OPTIONAL {
            return Err("a record after the end record".into());
        }
        let line = match tag {
            tag::HEADER => {
                if self.header_read {
                    return Err("a second header".into());
                }
                self.header_read = true;
                let schema = u32::try_from(fields.u64()?).map_err(|_| "schema out of range")?;
                let tool = intern(fields.str()?);
                let version = intern(fields.str()?);
                let started = fields.u64()?;
                TraceLine::Trace(TraceHeader {
                    schema,
                    tool,
                    version,
                    started_unix_nanos: (started != 0).then_some(started),
                })
            }
            tag::STRING => {
                let text = std::str::from_utf8(payload).map_err(|_| "not UTF-8")?;
                self.strings.push(intern(text));
                return Ok(Decoded::Definition);
            }
            tag::SITE => {
                let file = self.string(fields.u64()?)?;
                let line = fields.u32()?;
                let column = fields.u32()?;
                let function = self.optional_string(fields.u64()?)?;
                self.sites.push(Site {
                    file,
                    line,
                    column,
                    function,
                });
                return Ok(Decoded::Definition);
            }
            tag::THREAD => TraceLine::Thread(ThreadInfo {
                key: ThreadKey(fields.u64()?),
                name: self.optional_string(fields.u64()?)?.map(Cow::into_owned),
            }),
            tag::RESOURCE => {
                let key = ResourceKey(fields.u64()?);
                let kind = resource_kind(fields.byte()?)?;
                let class = match fields.byte()? {
                    0 => Class::Named(self.string(fields.u64()?)?),
                    1 => Class::Site(self.site(fields.u64()?)?.ok_or("class site 0")?),
                    other => return Err(format!("class tag {other}, expected 0 or 1")),
                };
                let created = self.site(fields.u64()?)?.ok_or("creation site 0")?;
                TraceLine::Resource(ResourceInfo {
                    key,
                    kind,
                    class,
                    created,
                })
            }
            tag::END => {
                self.ended = true;
                TraceLine::End(TraceEnd {
                    events: fields.u64()?,
                    dropped: fields.u64()?,
                })
            }
            event if (tag::EVENT..tag::EVENT + tag::EVENT_KINDS).contains(&event) => {
                TraceLine::Event(self.event(event - tag::EVENT, &mut fields)?)
            }
            optional if optional >= tag::OPTIONAL => return Ok(Decoded::Skipped),
            unknown => return Err(format!("unknown record tag {unknown}")),
        };
        Ok(Decoded::Line(line))
    }

    #[inline(always)]
    fn event(&mut self, kind: u8, fields: &mut Fields) -> Result<Event, String> {
        let thread = ThreadKey(fields.u64()?);
        let delta = varint::unzigzag(fields.u64()?);
        let last = self.last_seq.entry(thread).or_insert(0);
        let seq = last.wrapping_add(delta as u64);
        *last = seq;
        let resource = |fields: &mut Fields| fields.u64().map(ResourceKey);
        let kind = match kind {
            0..=2 => {
                let resource = resource(fields)?;
                let mode = lock_mode(fields.u64()?)?;
                match kind {
                    0 => EventKind::LockRequested { resource, mode },
                    1 => EventKind::LockAcquired { resource, mode },
                    _ => EventKind::LockReleased { resource, mode },
                }
            }
            3 => EventKind::WaitBegin {
                resource: resource(fields)?,
                wait: wait_kind(fields.u64()?)?,
                timed: fields.flag()?,
            },
            4 => EventKind::WaitEnd {
                resource: resource(fields)?,
                end: wait_end(fields.u64()?)?,
            },
            5 => EventKind::Notify {
                resource: resource(fields)?,
                all: fields.flag()?,
            },
            6 => EventKind::BarrierArrive {
                resource: resource(fields)?,
                parties: fields.u64()?,
            },
            7 => EventKind::Send {
                resource: resource(fields)?,
            },
            8 => EventKind::BarrierFedBy {
                barrier: resource(fields)?,
                executor: resource(fields)?,
            },
            9 => EventKind::ProducerDeclared {
                resource: resource(fields)?,
            },
            10 => EventKind::ProducerDropped {
                resource: resource(fields)?,
            },
            11 => EventKind::Enroll {
                resource: resource(fields)?,
            },
            12 => EventKind::Leave {
                resource: resource(fields)?,
            },
            13..=15 => {
                let job = resource(fields)?;
                let executor = resource(fields)?;
                match kind {
                    13 => EventKind::JobQueued { job, executor },
                    14 => EventKind::JobStarted { job, executor },
                    _ => EventKind::JobFinished { job, executor },
                }
            }
            16 => EventKind::ThreadStart {
                name: self.optional_string(fields.u64()?)?,
            },
            17 => EventKind::ThreadExit,
            18 => EventKind::Fork {
                child: ThreadKey(fields.u64()?),
            },
            19 => EventKind::Join {
                child: ThreadKey(fields.u64()?),
            },
            20 => EventKind::Read {
                resource: resource(fields)?,
            },
            21 => EventKind::Write {
                resource: resource(fields)?,
            },
            22 => EventKind::Enter {
                function: self.string(fields.u64()?)?,
            },
            23 => EventKind::Exit {
                function: self.string(fields.u64()?)?,
            },
            _ => EventKind::Lost {
                events: fields.u64()?,
            },
        };
        let site = self.site(fields.u64()?)?;
        Ok(Event {
            seq,
            thread,
            kind,
            site,
        })
    }

    fn string(&self, id: u64) -> Result<Cow<'static, str>, String> {
        self.optional_string(id)?
            .ok_or_else(|| "string id 0 where a string is required".into())
    }

    fn optional_string(&self, id: u64) -> Result<Option<Cow<'static, str>>, String> {
        match id {
            0 => Ok(None),
            id => self
                .strings
                .get((id - 1) as usize)
                .cloned()
                .map(Some)
                .ok_or_else(|| {
                    format!(
                        "string {id} is not defined ({} strings so far)",
                        self.strings.len()
                    )
                }),
        }
    }

    #[inline(always)]
    fn site(&self, id: u64) -> Result<Option<Site>, String> {
        match id {
            0 => Ok(None),
            id => self
                .sites
                .get((id - 1) as usize)
                .cloned()
                .map(Some)
                .ok_or_else(|| {
                    format!(
                        "site {id} is not defined ({} sites so far)",
                        self.sites.len()
                    )
                }),
        }
    }
}

/// A record's payload, read field by field. Fields past the ones a reader knows are
/// ignored (a later minor version may append some).
struct Fields<'a> {
    bytes: &'a [u8],
}

impl Fields<'_> {
    #[inline(always)]
    fn u64(&mut self) -> Result<u64, String> {
        let (value, used) = varint::get(self.bytes).ok_or("the record ends inside a field")?;
        self.bytes = &self.bytes[used..];
        Ok(value)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let value = self.u64()?;
        u32::try_from(value).map_err(|_| format!("{value} does not fit in 32 bits"))
    }

    fn byte(&mut self) -> Result<u8, String> {
        let (&byte, rest) = self
            .bytes
            .split_first()
            .ok_or("the record ends inside a field")?;
        self.bytes = rest;
        Ok(byte)
    }

    fn flag(&mut self) -> Result<bool, String> {
        match self.u64()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(format!("flag {other}, expected 0 or 1")),
        }
    }

    fn str(&mut self) -> Result<&str, String> {
        let length = self.u64()?;
        if length > self.bytes.len() as u64 {
            return Err("a string runs past the record".into());
        }
        let (text, rest) = self.bytes.split_at(length as usize);
        self.bytes = rest;
        std::str::from_utf8(text).map_err(|_| "a string that is not UTF-8".into())
    }
}

fn lock_mode(value: u64) -> Result<LockMode, String> {
    [LockMode::Exclusive, LockMode::Shared, LockMode::Upgradable]
        .into_iter()
        .find(|mode| super::encode::lock_mode(*mode) == value)
        .ok_or_else(|| format!("lock mode {value}, expected 0 to 2"))
}

fn wait_end(value: u64) -> Result<WaitEnd, String> {
    [WaitEnd::Woken, WaitEnd::TimedOut, WaitEnd::Cancelled]
        .into_iter()
        .find(|end| super::encode::wait_end(*end) == value)
        .ok_or_else(|| format!("wait end {value}, expected 0 to 2"))
}

fn wait_kind(value: u64) -> Result<WaitKind, String> {
    const KINDS: [WaitKind; 13] = [
        WaitKind::Lock(LockMode::Exclusive),
        WaitKind::Lock(LockMode::Shared),
        WaitKind::Lock(LockMode::Upgradable),
        WaitKind::ReadRecursive,
        WaitKind::Condvar,
        WaitKind::Barrier,
        WaitKind::Join,
        WaitKind::Job,
        WaitKind::Recv,
        WaitKind::Send,
        WaitKind::Spin,
        WaitKind::Event,
        WaitKind::Idle,
    ];
    KINDS
        .into_iter()
        .find(|kind| u64::from(super::encode::wait_kind(*kind)) == value)
        .ok_or_else(|| format!("wait kind {value}, expected 0 to 12"))
}

fn resource_kind(value: u8) -> Result<ResourceKind, String> {
    const KINDS: [ResourceKind; 10] = [
        ResourceKind::Mutex,
        ResourceKind::RwLock,
        ResourceKind::Condvar,
        ResourceKind::Barrier,
        ResourceKind::Channel,
        ResourceKind::Thread,
        ResourceKind::Job,
        ResourceKind::Executor,
        ResourceKind::Event,
        ResourceKind::Variable,
    ];
    KINDS
        .into_iter()
        .find(|kind| super::encode::resource_kind(*kind) == value)
        .ok_or_else(|| format!("resource kind {value}, expected 0 to 9"))
}

fn tag_name(tag: u8) -> &'static str {
    match tag {
        tag::HEADER => "header",
        tag::STRING => "string",
        tag::SITE => "site",
        tag::THREAD => "thread",
        tag::RESOURCE => "resource",
        tag::END => "end",
        t if (tag::EVENT..tag::EVENT + tag::EVENT_KINDS).contains(&t) => "event",
        _ => "a",
    }
}

/// Streams a binary trace from `input`: its lines in file order. Reads in 64 KiB chunks
/// and holds at most one record beyond them. After an error it yields nothing more; at
/// the end, [`cut`](Reader::cut) says whether the last record was cut short.
pub struct Reader<R> {
    input: R,
    decoder: Decoder,
    buffer: Vec<u8>,
    start: usize,
    at_end: bool,
    failed: bool,
    cut: Option<Cut>,
}

const CHUNK: usize = 64 << 10;

impl<R: Read> Reader<R> {
    pub fn new(input: R) -> Reader<R> {
        Reader {
            input,
            decoder: Decoder::default(),
            buffer: Vec::with_capacity(CHUNK),
            start: 0,
            at_end: false,
            failed: false,
            cut: None,
        }
    }

    /// The last record, cut short (known once the reader has ended).
    pub fn cut(&self) -> Option<Cut> {
        self.cut
    }

    /// Bytes read and decoded so far.
    pub fn offset(&self) -> u64 {
        self.decoder.offset()
    }

    /// Reads more of the input behind what is left; false at its end.
    fn fill(&mut self) -> Result<bool, DecodeError> {
        self.buffer.drain(..self.start);
        self.start = 0;
        let have = self.buffer.len();
        // Room for a chunk, or for the whole record being read (bounded by MAX_RECORD).
        self.buffer.resize(have + CHUNK, 0);
        loop {
            match self.input.read(&mut self.buffer[have..]) {
                Ok(read) => {
                    self.buffer.truncate(have + read);
                    return Ok(read > 0);
                }
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    self.buffer.truncate(have);
                    return Err(DecodeError {
                        offset: self.decoder.offset(),
                        record: 0,
                        message: format!("cannot read: {error}"),
                    });
                }
            }
        }
    }
}

impl<R: Read> Iterator for Reader<R> {
    type Item = Result<TraceLine, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.failed {
            match self.decoder.decode(&self.buffer[self.start..]) {
                Ok(Some((decoded, used))) => {
                    self.start += used;
                    if let Decoded::Line(line) = decoded {
                        return Some(Ok(line));
                    }
                }
                Ok(None) if self.at_end => {
                    let left = self.buffer.len() - self.start;
                    if left > 0 {
                        self.cut = Some(Cut {
                            offset: self.decoder.offset(),
                            bytes: left as u64,
                        });
                    }
                    return None;
                }
                Ok(None) => match self.fill() {
                    Ok(more) => self.at_end = !more,
                    Err(error) => {
                        self.failed = true;
                        return Some(Err(error));
                    }
                },
                Err(error) => {
                    self.failed = true;
                    return Some(Err(error));
                }
            }
        }
        None
    }
}

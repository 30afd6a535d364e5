//! The binary trace format: what the recorder writes by default, about six times smaller
//! than JSON lines and read about ten times faster. Same lines ([`TraceLine`]), same
//! meaning; only the bytes differ.
//!
//! ```
//! use waitgraph_core::binary::{Encoder, Reader};
//! use waitgraph_core::model::*;
//!
//! let mut bytes = Vec::new();
//! let mut encoder = Encoder::start(&TraceHeader::current(), &mut bytes);
//! let event = Event {
//!     seq: 10, thread: ThreadKey(1),
//!     kind: EventKind::LockAcquired { resource: ResourceKey(4), mode: LockMode::Exclusive },
//!     site: None,
//! };
//! encoder.line(&TraceLine::Event(event.clone()), &mut bytes);
//!
//! let mut reader = Reader::new(&bytes[..]);
//! let lines = (&mut reader).collect::<Result<Vec<_>, _>>().unwrap();
//! assert_eq!(lines, [TraceLine::Trace(TraceHeader::current()), TraceLine::Event(event)]);
//! assert_eq!(reader.cut(), None);
//! ```
//!
//! ## Layout
//!
//! | part | bytes |
//! |---|---|
//! | magic | [`MAGIC`]: `\x89WGTRACE` (a high byte first, so no text tool takes it for text) |
//! | format version | `u16`, little-endian: [`VERSION`] |
//! | records | `tag: u8`, `length: varint`, then `length` bytes of payload, until the end of the file |
//!
//! Integers are unsigned LEB128 varints (at most ten bytes); a signed one is zigzag-coded
//! first. A string is a varint length and its UTF-8 bytes.
//!
//! | tag | record | payload |
//! |---|---|---|
//! | 1 | header | schema, tool (string), version (string), start (ns since the Unix epoch, 0: unknown) |
//! | 2 | string | its bytes: the next string id (1, 2, ...) |
//! | 3 | site | file (string id), line, column, function (string id, 0: none): the next site id |
//! | 4 | thread | key, name (string id, 0: none) |
//! | 5 | resource | key, kind, class (0 and a string id: named; 1 and a site id: a site), created (site id) |
//! | 6 | end | events, dropped |
//! | 16 + n | event of kind n (table below) | thread, `seq` minus the thread's previous `seq` (zigzag), the kind's fields, site (site id, 0: none) |
//! | 128..=255 | reserved for optional records | skipped by readers that do not know them |
//!
//! | n | event kind | fields |
//! |---|---|---|
//! | 0, 1, 2 | lock requested, acquired, released | resource, mode |
//! | 3 | wait begin | resource, wait kind, timed (0 / 1) |
//! | 4 | wait end | resource, how (woken 0, timed out 1, cancelled 2) |
//! | 5 | notify | resource, all (0 / 1) |
//! | 6 | barrier arrive | resource, parties |
//! | 7 | send | resource |
//! | 8 | barrier fed by | barrier, executor |
//! | 9, 10 | producer declared, dropped | resource |
//! | 11, 12 | enroll, leave | resource |
//! | 13, 14, 15 | job queued, started, finished | job, executor |
//! | 16 | thread start | name (string id, 0: none) |
//! | 17 | thread exit | |
//! | 18, 19 | fork, join | child thread |
//! | 20, 21 | read, write | resource |
//! | 22, 23 | enter, exit | function (string id) |
//! | 24 | lost | events |
//!
//! Every record is whole or absent: a file cut short keeps every complete record (the
//! [`Reader`] says how many bytes of the last one were there). Strings and sites are
//! defined before the first record that names them.
//!
//! ## Limits a reader enforces
//!
//! | what | bound |
//! |---|---|
//! | a record's length | [`MAX_RECORD`] bytes, checked before anything is allocated |
//! | a string | the record holding it |
//! | ids | only ones already defined |
//! | a version newer than [`VERSION`] | refused, with both numbers |

mod decode;
mod encode;
mod intern;
mod varint;

pub use decode::{Cut, DecodeError, Decoded, Decoder, Reader};
pub use encode::{Encoder, FastHasher, IdHasher};

/// The first bytes of every binary trace.
pub const MAGIC: [u8; 8] = *b"\x89WGTRACE";
/// The format version this build writes and reads.
pub const VERSION: u16 = 1;
/// The longest record read.
pub const MAX_RECORD: usize = 1 << 20;

/// Whether `prefix` (a file's first bytes) starts like a binary trace.
pub fn is_binary(prefix: &[u8]) -> bool {
    prefix.len() >= MAGIC.len() && prefix[..MAGIC.len()] == MAGIC
}

pub(crate) mod tag {
    pub const HEADER: u8 = 1;
    pub const STRING: u8 = 2;
    pub const SITE: u8 = 3;
    pub const THREAD: u8 = 4;
    pub const RESOURCE: u8 = 5;
    pub const END: u8 = 6;
    pub const EVENT: u8 = 16;
    pub const EVENT_KINDS: u8 = 25;
    pub const OPTIONAL: u8 = 128;
}

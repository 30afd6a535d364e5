//! Writing [`TraceLine`]s as binary records: strings and sites are written once and
//! named by id after, and each event's `seq` as the difference from its thread's last.

use super::{tag, varint, MAGIC, VERSION};
use crate::model::{
    Class, Event, EventKind, LockMode, ResourceInfo, ResourceKind, Site, ThreadInfo, ThreadKey,
    TraceEnd, TraceHeader, TraceLine, WaitEnd, WaitKind,
};
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Encodes one trace: remembers which strings and sites it has defined and each thread's
/// last `seq`. Appends to a caller's buffer, so the caller decides when bytes reach a file.
#[derive(Default)]
pub struct Encoder {
    strings: HashMap<Box<str>, u64, IdHasher>,
    sites: HashMap<Site, u64, IdHasher>,
    /// Sites whose file and function are `'static` (the probe's): found by address,
    /// without hashing their text. An address of a `'static` string is never reused.
    static_sites: HashMap<StaticSite, u64, IdHasher>,
    last_seq: HashMap<ThreadKey, u64, IdHasher>,
    /// Where the record being written starts (its tag), for its length.
    open: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct StaticSite {
    file: (usize, usize),
    line: u32,
    column: u32,
    function: (usize, usize),
}

impl Encoder {
    /// Writes the magic, the version and `header` to `out`.
    pub fn start(header: &TraceHeader, out: &mut Vec<u8>) -> Encoder {
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        let mut encoder = Encoder::default();
        encoder.begin(out, tag::HEADER);
        varint::put(out, u64::from(header.schema));
        put_str(out, &header.tool);
        put_str(out, &header.version);
        varint::put(out, header.started_unix_nanos.unwrap_or(0));
        encoder.close(out);
        encoder
    }

    /// Appends `line` (and the strings and sites it names first, if new).
    pub fn line(&mut self, line: &TraceLine, out: &mut Vec<u8>) {
        match line {
            // The header went first, in `start`.
            TraceLine::Trace(_) => {}
            TraceLine::Thread(thread) => self.thread(thread, out),
            TraceLine::Resource(resource) => self.resource(resource, out),
            TraceLine::Event(event) => self.event(event, out),
            TraceLine::End(end) => self.end(end, out),
        }
    }

    pub fn thread(&mut self, thread: &ThreadInfo, out: &mut Vec<u8>) {
        let name = self.optional_string(thread.name.as_deref(), out);
        self.begin(out, tag::THREAD);
        varint::put(out, thread.key.0);
        varint::put(out, name);
        self.close(out);
    }

    pub fn resource(&mut self, resource: &ResourceInfo, out: &mut Vec<u8>) {
        let class = match &resource.class {
            Class::Named(name) => (0, self.string(name, out)),
            Class::Site(site) => (1, self.site(site, out)),
        };
        let created = self.site(&resource.created, out);
        self.begin(out, tag::RESOURCE);
        varint::put(out, resource.key.0);
        out.push(resource_kind(resource.kind));
        out.push(class.0);
        varint::put(out, class.1);
        varint::put(out, created);
        self.close(out);
    }

    pub fn end(&mut self, end: &TraceEnd, out: &mut Vec<u8>) {
        self.begin(out, tag::END);
        varint::put(out, end.events);
        varint::put(out, end.dropped);
        self.close(out);
    }

    pub fn event(&mut self, event: &Event, out: &mut Vec<u8>) {
        let site = match &event.site {
            Some(site) => self.site(site, out),
            None => 0,
        };
        self.event_at(event.thread, event.seq, &event.kind, site, out);
    }

    /// An event whose site is given by id ([`site_id`](Encoder::site_id); 0: none): for
    /// a writer that keeps its own map from where events happen to site ids.
    pub fn event_at(
        &mut self,
        thread: ThreadKey,
        seq: u64,
        kind: &EventKind,
        site: u64,
        out: &mut Vec<u8>,
    ) {
        // Strings an event names are defined before its record opens.
        let name = match kind {
            EventKind::ThreadStart { name } => self.optional_string(name.as_deref(), out),
            EventKind::Enter { function } | EventKind::Exit { function } => {
                self.string(function, out)
            }
            _ => 0,
        };
        let (kind, fields) = kind_and_fields(kind, name);
        self.begin(out, tag::EVENT + kind);
        varint::put(out, thread.0);
        let last = self.last_seq.entry(thread).or_insert(0);
        varint::put(out, varint::zigzag(seq.wrapping_sub(*last) as i64));
        *last = seq;
        for field in fields.iter() {
            varint::put(out, field);
        }
        varint::put(out, site);
        self.close(out);
    }

    fn string(&mut self, text: &str, out: &mut Vec<u8>) -> u64 {
        if let Some(&id) = self.strings.get(text) {
            return id;
        }
        let id = self.strings.len() as u64 + 1;
        self.strings.insert(text.into(), id);
        self.begin(out, tag::STRING);
        out.extend_from_slice(text.as_bytes());
        self.close(out);
        id
    }

    fn optional_string(&mut self, text: Option<&str>, out: &mut Vec<u8>) -> u64 {
        text.map_or(0, |text| self.string(text, out))
    }

    /// The id of `site`, defined first (in `out`) if it is new.
    pub fn site_id(&mut self, site: &Site, out: &mut Vec<u8>) -> u64 {
        self.site(site, out)
    }

    fn site(&mut self, site: &Site, out: &mut Vec<u8>) -> u64 {
        let address = |text: &str| (text.as_ptr() as usize, text.len());
        let by_address = match (&site.file, &site.function) {
            (Cow::Borrowed(file), None) => Some((address(file), (0, usize::MAX))),
            (Cow::Borrowed(file), Some(Cow::Borrowed(function))) => {
                Some((address(file), address(function)))
            }
            _ => None,
        }
        .map(|(file, function)| StaticSite {
            file,
            line: site.line,
            column: site.column,
            function,
        });
        if let Some(id) = by_address.and_then(|key| self.static_sites.get(&key)) {
            return *id;
        }
        let id = match self.sites.get(site) {
            Some(&id) => id,
            None => {
                let file = self.string(&site.file, out);
                let function = self.optional_string(site.function.as_deref(), out);
                let id = self.sites.len() as u64 + 1;
                self.sites.insert(site.clone(), id);
                self.begin(out, tag::SITE);
                varint::put(out, file);
                varint::put(out, u64::from(site.line));
                varint::put(out, u64::from(site.column));
                varint::put(out, function);
                self.close(out);
                id
            }
        };
        if let Some(key) = by_address {
            self.static_sites.insert(key, id);
        }
        id
    }

    /// Opens a record: its tag and one byte for its length, most records' whole length.
    fn begin(&mut self, out: &mut Vec<u8>, tag: u8) {
        self.open = out.len();
        out.push(tag);
        out.push(0);
    }

    /// Writes the open record's length, making room when it needs more than a byte.
    fn close(&mut self, out: &mut Vec<u8>) {
        let at = self.open + 1;
        let length = out.len() - at - 1;
        if length < 0x80 {
            out[at] = length as u8;
        } else {
            let mut prefix = Vec::with_capacity(10);
            varint::put(&mut prefix, length as u64);
            out.splice(at..at + 1, prefix);
        }
    }
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    varint::put(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

/// Up to three fields, without allocating.
struct Fields([u64; 3], usize);

impl Fields {
    fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.0[..self.1].iter().copied()
    }
}

/// The kind's number (its record is `EVENT + n`) and its fields; `name` is the string
/// id of the name or function it carries.
fn kind_and_fields(kind: &EventKind, name: u64) -> (u8, Fields) {
    let one = |n: u8, a: u64| (n, Fields([a, 0, 0], 1));
    let two = |n: u8, a: u64, b: u64| (n, Fields([a, b, 0], 2));
    match *kind {
        EventKind::LockRequested { resource, mode } => two(0, resource.0, lock_mode(mode)),
        EventKind::LockAcquired { resource, mode } => two(1, resource.0, lock_mode(mode)),
        EventKind::LockReleased { resource, mode } => two(2, resource.0, lock_mode(mode)),
        EventKind::WaitBegin {
            resource,
            wait,
            timed,
        } => (
            3,
            Fields(
                [resource.0, u64::from(wait_kind(wait)), u64::from(timed)],
                3,
            ),
        ),
        EventKind::WaitEnd { resource, end } => two(4, resource.0, wait_end(end)),
        EventKind::Notify { resource, all } => two(5, resource.0, u64::from(all)),
        EventKind::BarrierArrive { resource, parties } => two(6, resource.0, parties),
        EventKind::Send { resource } => one(7, resource.0),
        EventKind::BarrierFedBy { barrier, executor } => two(8, barrier.0, executor.0),
        EventKind::ProducerDeclared { resource } => one(9, resource.0),
        EventKind::ProducerDropped { resource } => one(10, resource.0),
        EventKind::Enroll { resource } => one(11, resource.0),
        EventKind::Leave { resource } => one(12, resource.0),
        EventKind::JobQueued { job, executor } => two(13, job.0, executor.0),
        EventKind::JobStarted { job, executor } => two(14, job.0, executor.0),
        EventKind::JobFinished { job, executor } => two(15, job.0, executor.0),
        EventKind::ThreadStart { .. } => one(16, name),
        EventKind::ThreadExit => (17, Fields([0; 3], 0)),
        EventKind::Fork { child } => one(18, child.0),
        EventKind::Join { child } => one(19, child.0),
        EventKind::Read { resource } => one(20, resource.0),
        EventKind::Write { resource } => one(21, resource.0),
        EventKind::Enter { .. } => one(22, name),
        EventKind::Exit { .. } => one(23, name),
        EventKind::Lost { events } => one(24, events),
    }
}

pub(super) fn lock_mode(mode: LockMode) -> u64 {
    match mode {
        LockMode::Exclusive => 0,
        LockMode::Shared => 1,
        LockMode::Upgradable => 2,
    }
}

pub(super) fn wait_end(end: WaitEnd) -> u64 {
    match end {
        WaitEnd::Woken => 0,
        WaitEnd::TimedOut => 1,
        WaitEnd::Cancelled => 2,
    }
}

pub(super) fn wait_kind(wait: WaitKind) -> u8 {
    match wait {
        WaitKind::Lock(mode) => lock_mode(mode) as u8,
        WaitKind::ReadRecursive => 3,
        WaitKind::Condvar => 4,
        WaitKind::Barrier => 5,
        WaitKind::Join => 6,
        WaitKind::Job => 7,
        WaitKind::Recv => 8,
        WaitKind::Send => 9,
        WaitKind::Spin => 10,
        WaitKind::Event => 11,
        WaitKind::Idle => 12,
    }
}

pub(super) fn resource_kind(kind: ResourceKind) -> u8 {
    match kind {
        ResourceKind::Mutex => 0,
        ResourceKind::RwLock => 1,
        ResourceKind::Condvar => 2,
        ResourceKind::Barrier => 3,
        ResourceKind::Channel => 4,
        ResourceKind::Thread => 5,
        ResourceKind::Job => 6,
        ResourceKind::Executor => 7,
        ResourceKind::Event => 8,
        ResourceKind::Variable => 9,
    }
}

/// A multiply-and-rotate hash for the encoder's small integer and pointer keys: the
/// default SipHash costs more than the rest of encoding an event. Not for keys an
/// adversary picks (the encoder hashes what its own program produced).
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

/// Builds [`FastHasher`]s: for maps keyed by ids and addresses.
pub type IdHasher = BuildHasherDefault<FastHasher>;

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.write_u64(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
        }
        for &byte in chunks.remainder() {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, value: u64) {
        const ODD: u64 = 0x9e37_79b9_7f4a_7c15;
        self.0 = (self.0.rotate_left(26) ^ value).wrapping_mul(ODD);
    }

    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }

    fn write_u8(&mut self, value: u8) {
        self.write_u64(u64::from(value));
    }
}

//! Recording every thread's events to a file: the trace the offline analyzer reads.
//!
//! Two ways to keep events, one per recording:
//!
//! | mode | made by | memory | what reaches the file |
//! |---|---|---|---|
//! | streaming | [`TraceFile::create`], `WAITGRAPH_TRACE=path` | each thread's queue ([`QUEUE`] events) | every event, as it comes |
//! | flight recorder | [`TraceFile::flight_recorder`], `WAITGRAPH_TRACE=path` with `WAITGRAPH_TRACE_LAST=N` | the last `N` events of every thread (and of the last [`DEPARTED_RINGS`] threads that ended) | the last `N` events of every thread, written whole each time the watchdog reports, on [`TraceFile::dump`], at [`TraceFile::finish`] and before the process exits |
//!
//! Streaming, step by step:
//!
//! | step | who | cost |
//! |---|---|---|
//! | an event | the thread it happened on | its time read, a slot written and a release store in its own queue (no lock, no read-modify-write: `queue.rs`) |
//! | every [`QUEUE`]` / 4` events | that thread | the writer woken (a system call only if it sleeps) |
//! | a full queue | that thread | the writer woken and the thread yielding to it while the writer moves on, for at most [`LONGEST_WAIT`] (a tight loop waits for the writer instead of losing events, and a thread holding a lock is never kept long); then, or when the writer has taken nothing for [`FULL_WAIT`] (descheduled, or stopped by an I/O error), the event is dropped and counted, and the thread does not wait again until its queue takes an event (nor does any thread until the writer's next turn, if the writer was stuck); the thread's next event that fits says how many were lost (`Lost`), or the writer does, after the thread's last |
//! | writing | the writer thread, when woken and every [`SWEEP`] | the queues drained in turns, a batch of at most [`BATCH`] events from each, until all are empty (a thread waiting for room waits for one batch of each other thread): sites made from their addresses, thread and resource descriptions first, then the events encoded |
//! | `finish` | the caller | the writer's last pass over every queue, an `end` record, the file flushed and synced |
//!
//! A host thread never waits for the disk. A trace cut short by a crash keeps every
//! record written whole. The format follows the file name: `.jsonl` or `.json` gives
//! JSON lines, anything else the binary format ([`waitgraph_core::binary`]).
//!
//! Events carry no shared counter: each one's `seq` is its time in nanoseconds since the
//! recording's clock began ([`super::clock`]), nudged forward by a nanosecond when one
//! thread reads the same time twice. The header says when that was on the wall clock.

use super::clock;
use super::queue::Queue;
use crate::model::{
    Context, Event, EventKind, ResourceKey, ThreadInfo, ThreadKey, TraceEnd, TraceHeader, TraceLine,
};
use crate::probe::registry;
use parking_lot::Mutex;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::Arc;
use std::thread::{JoinHandle, Thread};
use std::time::Duration;
use waitgraph_core::binary::{Encoder, IdHasher};

/// Events each thread's queue holds (56 bytes each): when full, the thread waits for
/// the writer while it moves on (up to [`FULL_WAIT`] without progress, [`LONGEST_WAIT`]
/// in all), then drops and counts, and its next event says how many (`Lost`).
pub const QUEUE: usize = 8192;
/// The writer is woken each time a thread has queued this many events.
const WAKE_EVERY: usize = QUEUE / 4;
/// The most events the writer takes from one queue before it turns to the next: small
/// enough that a thread waiting for room waits for a batch of each other thread only,
/// and that a slow build (sanitizers, debug JSON) shows progress well within
/// [`FULL_WAIT`].
const BATCH: usize = 256;
/// How often the writer takes what threads buffer even when no batch is full.
pub const SWEEP: Duration = Duration::from_millis(100);
/// Threads that ended whose last events a flight recorder keeps.
pub const DEPARTED_RINGS: usize = 256;
/// The most events a flight recorder keeps per thread (56 bytes each: 56 MiB a thread);
/// a ring grows to its size as events come, it is not allocated whole up front.
pub const MAX_LAST: usize = 1 << 20;

/// Whether a file recording is running: read by the hooks (after `active()`).
static RECORDING: AtomicBool = AtomicBool::new(false);
/// Which recording a thread's buffer belongs to.
static GENERATION: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static SINK: Mutex<Option<Sink>> = Mutex::new(None);

type Buffer = Arc<ThreadBuffer>;

/// The file formats a recording can write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TraceFormat {
    /// [`waitgraph_core::binary`]: about 7 bytes an event, read at tens of millions of
    /// events a second.
    Binary,
    /// One JSON object per line ([`TraceLine`]): for reading by eye and other tools.
    JsonLines,
}

impl TraceFormat {
    /// JSON lines for a `.jsonl` or `.json` file, binary for anything else.
    pub fn for_path(path: &Path) -> TraceFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some("jsonl" | "json") => TraceFormat::JsonLines,
            _ => TraceFormat::Binary,
        }
    }
}

/// An event as its thread records it: the site and the function by address, made into
/// a [`Site`](crate::model::Site) by whoever writes it.
#[derive(Clone)]
pub(crate) struct Raw {
    pub seq: u64,
    pub kind: EventKind,
    pub location: Option<&'static Location<'static>>,
    pub function: Option<&'static Context>,
}

impl Raw {
    /// The site it happened at, made from its addresses.
    fn site(&self) -> Option<crate::model::Site> {
        self.location.map(|location| {
            let mut site = crate::model::Site::from_location(location);
            site.function = self.function.map(|context| context.name.clone());
            site
        })
    }

    /// Where it happened, by address: a writer's key for its site.
    fn site_key(&self) -> (usize, usize) {
        (
            self.location.map_or(0, |l| l as *const Location as usize),
            self.function.map_or(0, |f| f as *const Context as usize),
        )
    }

    pub(crate) fn to_event(&self, thread: ThreadKey) -> Event {
        Event {
            seq: self.seq,
            thread,
            kind: self.kind.clone(),
            site: self.site(),
        }
    }

    fn into_event(self, thread: ThreadKey) -> Event {
        let site = self.site();
        Event {
            seq: self.seq,
            thread,
            kind: self.kind,
            site,
        }
    }

    fn lost(seq: u64, events: u64) -> Raw {
        Raw {
            seq,
            kind: EventKind::Lost { events },
            location: None,
            function: None,
        }
    }
}

/// One thread's events not yet written, with who the thread is (named while it runs: it
/// may be gone by the time its last events are written).
struct ThreadBuffer {
    thread: ThreadInfo,
    kept: Kept,
}

// One per thread, inside an `Arc`: the queue's padded atomics make the difference.
#[allow(clippy::large_enum_variant)]
enum Kept {
    /// Streaming: a queue only this thread pushes to, drained by the writer.
    Stream {
        queue: Queue<Raw>,
        writer: Thread,
        /// This thread's last `seq` (only it reads and writes these two).
        last_seq: AtomicU64,
        /// Events refused by a full queue that no `Lost` event has said yet.
        lost: AtomicU64,
    },
    /// A flight recorder's ring.
    Ring(Mutex<Ring>),
}

/// The last `capacity` events of a thread, oldest at `head`.
struct Ring {
    events: Vec<Raw>,
    head: usize,
    capacity: usize,
    /// Events overwritten.
    lost: u64,
    last_seq: u64,
}

impl Ring {
    /// The events in order, oldest first, a `Lost` event before them if some were lost.
    fn take(&self, thread: ThreadKey) -> Vec<Event> {
        let mut events = Vec::with_capacity(self.events.len() + 1);
        if self.lost > 0 {
            if let Some(first) = self.events.get(self.head) {
                events.push(Raw::lost(first.seq.saturating_sub(1), self.lost).into_event(thread));
            }
        }
        let (newer, older) = self.events.split_at(self.head);
        events.extend(
            older
                .iter()
                .chain(newer)
                .map(|raw| raw.clone().into_event(thread)),
        );
        events
    }

    fn push(&mut self, mut raw: Raw) {
        raw.seq = raw.seq.max(self.last_seq + 1);
        self.last_seq = raw.seq;
        if self.events.len() < self.capacity {
            self.events.push(raw);
        } else {
            self.events[self.head] = raw;
            self.head = (self.head + 1) % self.capacity;
            self.lost += 1;
        }
    }
}

enum Keep {
    Stream {
        writer: JoinHandle<io::Result<Written>>,
        wake: Thread,
        stop: Arc<AtomicBool>,
        /// The buffers the writer's last pass takes, once the recording stopped.
        left: Arc<Mutex<Vec<Buffer>>>,
    },
    Last {
        per_thread: usize,
    },
}

struct Sink {
    generation: u64,
    keep: Keep,
    buffers: Vec<Buffer>,
    /// Flight recorder: rings of threads that ended, oldest first.
    departed: VecDeque<Buffer>,
    path: PathBuf,
    format: TraceFormat,
}

/// This thread's buffer in the running recording; handed over when the thread ends.
struct Mine {
    generation: u64,
    buffer: Buffer,
}

impl Drop for Mine {
    fn drop(&mut self) {
        let mut sink = SINK.lock();
        let Some(sink) = sink.as_mut().filter(|s| s.generation == self.generation) else {
            return;
        };
        if let Some(at) = sink
            .buffers
            .iter()
            .position(|b| Arc::ptr_eq(b, &self.buffer))
        {
            let buffer = sink.buffers.swap_remove(at);
            match sink.keep {
                // The writer takes what it still holds on its next sweep.
                Keep::Stream { ref wake, .. } => {
                    sink.departed.push_back(buffer);
                    wake.unpark();
                }
                Keep::Last { .. } => {
                    if sink.departed.len() == DEPARTED_RINGS {
                        sink.departed.pop_front();
                    }
                    sink.departed.push_back(buffer);
                }
            }
        }
    }
}

thread_local! {
    static MINE: RefCell<Option<Mine>> = const { RefCell::new(None) };
}

/// A recording of every thread's events to a file, until [`finish`](TraceFile::finish).
/// One at a time per process.
///
/// ```no_run
/// let trace = waitgraph::record::TraceFile::create("target/waitgraph/run.trace")?;
/// // ... the program runs ...
/// let written = trace.finish()?;
/// println!("{} events, {} dropped", written.events, written.dropped);
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "a recording runs until it is finished"]
pub struct TraceFile {
    path: PathBuf,
    generation: u64,
}

/// What a finished recording (or a flight recorder's dump) wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceSummary {
    pub path: PathBuf,
    /// Events in the file.
    pub events: u64,
    /// Events lost because a thread's queue stayed full (a flight recorder's older
    /// events, overwritten by design, are not counted here: the file says them with a
    /// `Lost` event at the head of each thread).
    pub dropped: u64,
    /// The file's size.
    pub bytes: u64,
}

/// What the writer wrote.
struct Written {
    events: u64,
    bytes: u64,
}

impl TraceFile {
    /// Creates (truncates) the file and starts streaming every event to it, in the
    /// format its name says ([`TraceFormat::for_path`]). Fails if the file cannot be
    /// created or another recording is running.
    pub fn create(path: impl AsRef<Path>) -> io::Result<TraceFile> {
        let path = path.as_ref();
        TraceFile::create_as(path, TraceFormat::for_path(path))
    }

    /// [`create`](TraceFile::create), in the format given.
    pub fn create_as(path: impl AsRef<Path>, format: TraceFormat) -> io::Result<TraceFile> {
        let path = path.as_ref().to_path_buf();
        let mut sink = SINK.lock();
        refuse_second(&sink)?;
        let out = TraceWriter::create(&path, format)?;
        let generation = start_stream(&mut sink, Some(out), path.clone(), format)?;
        Ok(TraceFile { path, generation })
    }

    /// Starts a flight recorder: every thread keeps its last `events_per_thread` events
    /// in memory (at least one), and the file is written whole, in the format its name
    /// says, each time the watchdog reports a finding, on [`dump`](TraceFile::dump), at
    /// [`finish`](TraceFile::finish) and before the process exits (after `main`
    /// returns, or when the watchdog ends a deadlocked process). Nothing is written
    /// before that.
    pub fn flight_recorder(
        path: impl AsRef<Path>,
        events_per_thread: usize,
    ) -> io::Result<TraceFile> {
        let path = path.as_ref().to_path_buf();
        if !(1..=MAX_LAST).contains(&events_per_thread) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a flight recorder keeps 1 to {MAX_LAST} events a thread, not {events_per_thread}"
                ),
            ));
        }
        let mut sink = SINK.lock();
        refuse_second(&sink)?;
        crate::probe::files::check_writable(&path, "trace")?;
        let per_thread = events_per_thread;
        let format = TraceFormat::for_path(&path);
        let generation = begin(&mut sink, Keep::Last { per_thread }, path.clone(), format);
        Ok(TraceFile { path, generation })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flight recorder: writes every thread's last events to the file now (replacing
    /// what an earlier dump wrote) and goes on recording. A streaming recording writes
    /// as it goes: `dump` is an error of kind `Unsupported` there.
    pub fn dump(&self) -> io::Result<TraceSummary> {
        dump_running(Some(self.generation))
            .unwrap_or_else(|| Err(io::Error::other("the recording was already finished")))
    }

    /// Stops recording, writes what every thread still buffers and the `end` record,
    /// and syncs the file.
    pub fn finish(self) -> io::Result<TraceSummary> {
        match stop(Some(self.generation)) {
            Some(sink) => sink.write_out(),
            None => Err(io::Error::other("the recording was already finished")),
        }
    }
}

impl Drop for TraceFile {
    /// A recording dropped without `finish` is finished all the same (errors ignored).
    fn drop(&mut self) {
        if let Some(sink) = stop(Some(self.generation)) {
            let _ = sink.write_out();
        }
    }
}

/// Starts a streaming recording: its writer thread writes to `out` (if any) and feeds
/// the in-process prediction (if on). Its generation.
fn start_stream(
    sink: &mut Option<Sink>,
    out: Option<TraceWriter<BufWriter<File>>>,
    path: PathBuf,
    format: TraceFormat,
) -> io::Result<u64> {
    let stop = Arc::new(AtomicBool::new(false));
    let left = Arc::new(Mutex::new(Vec::new()));
    let generation = GENERATION.load(Relaxed) + 1;
    let writer = {
        let (stop, left) = (stop.clone(), left.clone());
        std::thread::Builder::new()
            .name("waitgraph-trace".into())
            .spawn(move || {
                crate::probe::os_threads::mark_own();
                stream(out, generation, &stop, &left)
            })?
    };
    let wake = writer.thread().clone();
    let keep = Keep::Stream {
        writer,
        wake,
        stop,
        left,
    };
    Ok(begin(sink, keep, path, format))
}

fn refuse_second(sink: &Option<Sink>) -> io::Result<()> {
    match sink {
        Some(sink) if sink.path.as_os_str().is_empty() => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "the watchdog's in-process prediction is recording already: start the trace \
             before the watchdog, and the prediction reads the trace's events",
        )),
        Some(sink) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "a trace recording is already running, to {} (one at a time per process; \
                 WAITGRAPH_TRACE starts one at the first instrumented event)",
                sink.path.display()
            ),
        )),
        None => Ok(()),
    }
}

/// Makes `keep` the running recording; its generation.
fn begin(sink: &mut Option<Sink>, keep: Keep, path: PathBuf, format: TraceFormat) -> u64 {
    clock::start();
    registry::keep_departed(true);
    static HOOKS: std::sync::Once = std::sync::Once::new();
    HOOKS.call_once(|| {
        crate::probe::watchdog::before_exit(finish_running);
        crate::probe::watchdog::on_report(dump_on_report);
        at_exit::register(finish_at_exit);
    });
    // Recordings start under the sink's lock: one at a time.
    let generation = GENERATION.fetch_add(1, Relaxed) + 1;
    DROPPED.store(0, Relaxed);
    WRITER_BEHIND.store(false, Relaxed);
    *sink = Some(Sink {
        generation,
        keep,
        buffers: Vec::new(),
        departed: VecDeque::new(),
        path,
        format,
    });
    super::chains::prediction_only(sink.as_ref().is_some_and(|s| s.path.as_os_str().is_empty()));
    RECORDING.store(true, Release);
    super::activate();
    generation
}

impl Sink {
    /// Streaming: tells the writer to take every buffer and end the file, and waits for
    /// it. Flight recorder: writes the rings.
    fn write_out(self) -> io::Result<TraceSummary> {
        let result = match self.keep {
            Keep::Stream {
                writer,
                wake,
                stop: stopping,
                ..
            } => {
                stopping.store(true, Release);
                wake.unpark();
                writer
                    .join()
                    .map_err(|_| io::Error::other("the trace writer panicked"))
                    .and_then(|written| written)
                    .map(|written| TraceSummary {
                        path: self.path.clone(),
                        events: written.events,
                        dropped: DROPPED.load(Relaxed),
                        bytes: written.bytes,
                    })
            }
            Keep::Last { .. } => write_rings(
                &self.path,
                self.format,
                self.buffers.iter().chain(&self.departed),
            ),
        };
        registry::keep_departed(false);
        result
    }
}

/// Writes a flight recorder's rings to `path`, whole (a new file renamed over the old).
fn write_rings<'a>(
    path: &Path,
    format: TraceFormat,
    buffers: impl Iterator<Item = &'a Buffer>,
) -> io::Result<TraceSummary> {
    let rings: Vec<(ThreadInfo, Vec<Event>)> = buffers
        .filter_map(|buffer| match &buffer.kept {
            Kept::Ring(ring) => Some((buffer.thread.clone(), ring.lock().take(buffer.thread.key))),
            Kept::Stream { .. } => None,
        })
        .collect();
    let mut written = Written {
        events: 0,
        bytes: 0,
    };
    crate::probe::files::write_atomically(path, |file| {
        let mut out = TraceWriter::new(BufWriter::with_capacity(256 << 10, file), format)?;
        for (thread, events) in rings {
            out.events(&thread, events)?;
        }
        written = out.end()?;
        Ok(())
    })?;
    Ok(TraceSummary {
        path: path.to_path_buf(),
        events: written.events,
        dropped: DROPPED.load(Relaxed),
        bytes: written.bytes,
    })
}

/// The streaming writer thread of recording `generation`: sweeps every buffer when
/// woken (a batch filled, a thread ended, the recording stopped) or every [`SWEEP`].
fn stream(
    mut out: Option<TraceWriter<BufWriter<File>>>,
    generation: u64,
    stopping: &AtomicBool,
    left: &Mutex<Vec<Buffer>>,
) -> io::Result<Written> {
    let mut raws = Vec::with_capacity(BATCH + 1);
    // Buffers of threads that will push no more (they ended, or the recording stopped),
    // kept until drained: then their unsaid drops are said here.
    let mut ending: Vec<Buffer> = Vec::new();
    loop {
        let last = stopping.load(Acquire);
        // Turns over every queue, a batch from each, until a turn finds them all
        // drained: a thread waiting for room gets it after one batch of each other
        // thread, not after their whole queues (eight full queues of a slow encoding
        // kept a thread holding a lock waiting for over a second). The list is taken
        // again each turn, so a thread that started since is drained too.
        let mut more = true;
        while more {
            more = false;
            let live: Vec<Buffer> = match SINK.lock().as_mut() {
                Some(sink) if sink.generation == generation => {
                    ending.extend(sink.departed.drain(..));
                    sink.buffers.clone()
                }
                // Stopped: `stop` left the buffers here.
                _ => {
                    ending.append(&mut left.lock());
                    Vec::new()
                }
            };
            let mut finished = Vec::new();
            let turn = live.iter().map(|b| (b, false));
            for (index, (buffer, done)) in turn.chain(ending.iter().map(|b| (b, true))).enumerate()
            {
                let Kept::Stream {
                    queue,
                    lost,
                    last_seq,
                    ..
                } = &buffer.kept
                else {
                    if done {
                        finished.push(index - live.len());
                    }
                    continue;
                };
                queue.drain_into(&mut raws, BATCH);
                let drained = raws.len() < BATCH;
                more |= !drained;
                if done && drained {
                    finished.push(index - live.len());
                    let unsaid = lost.swap(0, Relaxed);
                    if unsaid > 0 {
                        raws.push(Raw::lost(last_seq.load(Relaxed) + 1, unsaid));
                    }
                }
                if raws.is_empty() {
                    continue;
                }
                let thread = &buffer.thread;
                super::live::feed(thread, &raws);
                if let Some(out) = &mut out {
                    if let Err(error) = out.raws(thread, &raws) {
                        // Nobody drains the queues any more: threads stop waiting for room.
                        WRITER_BEHIND.store(true, Relaxed);
                        return Err(error);
                    }
                }
                // A waiting thread sees the writer move on.
                WRITER_PROGRESS.fetch_add(1, Relaxed);
                raws.clear();
            }
            for index in finished.into_iter().rev() {
                ending.swap_remove(index);
            }
            // A turn done: threads may wait for room again. (Cleared only once every
            // queue was empty, a thread that stopped waiting kept its queue full by
            // dropping, so the writer never got there and the thread dropped for good:
            // 337,046 of 600,000 events of the AddressSanitizer tight loop in CI.)
            WRITER_BEHIND.store(false, Relaxed);
        }
        WRITER_BEHIND.store(false, Relaxed);
        super::live::check(last);
        if last {
            return match out {
                Some(out) => out.end(),
                None => Ok(Written {
                    events: 0,
                    bytes: 0,
                }),
            };
        }
        if let Some(out) = &mut out {
            out.flush()?;
        }
        std::thread::park_timeout(SWEEP);
    }
}

/// Finishes the running recording, if any: what the watchdog does before it exits the
/// process on a deadlock, so the trace of a hung run ends whole.
fn finish_running() -> Result<(), String> {
    match stop(None).map(Sink::write_out) {
        Some(Err(error)) => Err(format!("could not finish the trace: {error}")),
        _ => Ok(()),
    }
}

/// The process is exiting normally (`main` returned, `std::process::exit`): a recording
/// nobody finished ends whole.
extern "C" fn finish_at_exit() {
    if let Some(Err(error)) = stop(None).map(Sink::write_out) {
        eprintln!("waitgraph: could not finish the trace: {error}");
    }
    super::live::say_unreported();
}

/// The watchdog reported a finding: a flight recorder writes what led to it.
fn dump_on_report() -> Result<(), String> {
    match dump_running(None) {
        Some(Err(error)) => Err(format!("could not write the flight recorder: {error}")),
        _ => Ok(()),
    }
}

/// Dumps the running flight recorder (of `generation`, if given); a streaming
/// recording's writer is told to write out what threads buffer.
fn dump_running(generation: Option<u64>) -> Option<io::Result<TraceSummary>> {
    let (path, format, buffers) = {
        let sink = SINK.lock();
        let sink = sink
            .as_ref()
            .filter(|s| generation.is_none_or(|g| g == s.generation))?;
        match &sink.keep {
            Keep::Stream { .. } if generation.is_none() => return None,
            Keep::Stream { .. } => return Some(Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a streaming recording writes every event as it comes: dump is a flight recorder's",
            ))),
            Keep::Last { .. } => (
                sink.path.clone(),
                sink.format,
                sink.buffers
                    .iter()
                    .chain(&sink.departed)
                    .cloned()
                    .collect::<Vec<_>>(),
            ),
        }
    };
    Some(write_rings(&path, format, buffers.iter()))
}

/// Ends the running recording (of `generation`, if given) and returns it.
fn stop(generation: Option<u64>) -> Option<Sink> {
    let mut sink = SINK.lock();
    if sink
        .as_ref()
        .is_none_or(|s| generation.is_some_and(|g| g != s.generation))
    {
        return None;
    }
    let mut sink = sink.take()?;
    super::chains::prediction_only(false);
    RECORDING.store(false, Release);
    super::deactivate();
    // The writer sweeps the sink, which is gone: its last pass takes the buffers here.
    if let Keep::Stream { left, .. } = &sink.keep {
        let mut left = left.lock();
        left.append(&mut sink.buffers);
        left.extend(sink.departed.drain(..));
    }
    Some(sink)
}

/// Whether a file recording runs (the hooks' second check, after `active()`).
#[inline]
pub(crate) fn recording() -> bool {
    RECORDING.load(Relaxed)
}

/// Which recording runs (or ran last): a new one starts with nothing sent.
#[inline]
pub(crate) fn generation() -> u64 {
    GENERATION.load(Relaxed)
}

/// Adds `raw` to the current thread's queue (its `seq` made later than the thread's
/// last), waking the writer every [`WAKE_EVERY`] events.
pub(crate) fn push(thread: ThreadKey, raw: Raw) {
    let generation = GENERATION.load(Relaxed);
    let pushed = MINE.try_with(|mine| {
        let mut mine = mine.borrow_mut();
        if !matches!(&*mine, Some(m) if m.generation == generation) {
            let buffer = register(generation, thread)?;
            *mine = Some(Mine { generation, buffer });
        }
        let buffer = &mine.as_ref()?.buffer;
        match &buffer.kept {
            Kept::Stream {
                queue,
                writer,
                last_seq,
                lost,
            } => {
                let mut raw = raw;
                raw.seq = raw.seq.max(last_seq.load(Relaxed) + 1);
                last_seq.store(raw.seq, Relaxed);
                let push = |raw, patient| {
                    // SAFETY: `MINE` is this thread's own: no other thread pushes to it.
                    let only_producer = |raw| unsafe { queue.push(raw) };
                    match only_producer(raw) {
                        Err(raw) if patient => wait_for_room(writer, only_producer, raw),
                        pushed => pushed,
                    }
                };
                // A thread that dropped waits no more until its queue takes an event
                // again: a writer that cannot keep up costs it one wait per full queue,
                // not one per event (which, under a lock, would stall its waiters).
                let mut unsaid = lost.load(Relaxed);
                let patient = unsaid == 0;
                if !patient && push(Raw::lost(raw.seq - 1, unsaid), false).is_ok() {
                    unsaid = 0;
                }
                let pushed = (unsaid == 0).then(|| push(raw, patient));
                match pushed {
                    Some(Ok(pushed)) => {
                        if pushed % WAKE_EVERY == 0 {
                            writer.unpark();
                        }
                    }
                    _ => {
                        unsaid += 1;
                        DROPPED.fetch_add(1, Relaxed);
                        writer.unpark();
                    }
                }
                lost.store(unsaid, Relaxed);
            }
            Kept::Ring(ring) => ring.lock().push(raw),
        }
        Some(())
    });
    if !matches!(pushed, Ok(Some(()))) {
        // No recording any more, or the thread is being torn down.
        DROPPED.fetch_add(1, Relaxed);
    }
}

/// How long a thread whose queue is full waits for a writer that takes nothing from any
/// queue before it drops the event.
pub const FULL_WAIT: Duration = Duration::from_millis(200);

/// The longest a thread whose queue is full waits for room, however the writer moves
/// on: the thread may hold locks that others wait for (a debug build recording JSON
/// from eight busy threads writes slower than they produce).
pub const LONGEST_WAIT: Duration = Duration::from_millis(250);

/// Counts the queues the writer has drained: a thread waiting for room keeps waiting
/// while this moves (a slow writer is waited for; a stuck one is not).
static WRITER_PROGRESS: AtomicU64 = AtomicU64::new(0);

/// Set when a thread waited [`FULL_WAIT`] in vain (the writer is descheduled, or gone
/// after an I/O error), cleared by the writer's next turn over the queues: meanwhile threads drop
/// instead of waiting, so a stuck writer costs the program one wait, not one per event.
static WRITER_BEHIND: AtomicBool = AtomicBool::new(false);

/// The queue is full: the writer is woken and the thread yields to it as long as the
/// writer drains queues, so a thread in a tight loop waits for the writer rather than
/// lose events; when the writer has drained nothing for [`FULL_WAIT`], or after
/// [`LONGEST_WAIT`] in all, the event is dropped (and counted by the caller).
#[cold]
fn wait_for_room(
    writer: &Thread,
    mut push: impl FnMut(Raw) -> Result<usize, Raw>,
    mut raw: Raw,
) -> Result<usize, Raw> {
    writer.unpark();
    if WRITER_BEHIND.load(Relaxed) {
        return Err(raw);
    }
    let began = std::time::Instant::now();
    let mut since = began;
    let mut progress = WRITER_PROGRESS.load(Relaxed);
    let mut tries = 0u32;
    loop {
        // Yielding first (the writer may be one step from done), then sleeping, so a
        // writer sharing this core gets it.
        if tries < 16 {
            tries += 1;
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_micros(50));
        }
        let now = WRITER_PROGRESS.load(Relaxed);
        if now != progress {
            (progress, since) = (now, std::time::Instant::now());
        }
        match push(raw) {
            Ok(pushed) => return Ok(pushed),
            Err(back) if since.elapsed() < FULL_WAIT => {
                if began.elapsed() >= LONGEST_WAIT {
                    return Err(back);
                }
                raw = back;
            }
            Err(back) => {
                WRITER_BEHIND.store(true, Relaxed);
                return Err(back);
            }
        }
    }
}

/// A new buffer for this thread in the running recording.
fn register(generation: u64, key: ThreadKey) -> Option<Buffer> {
    let name = std::thread::current().name().map(str::to_owned);
    let mut sink = SINK.lock();
    let sink = sink.as_mut().filter(|sink| sink.generation == generation)?;
    let kept = match &sink.keep {
        Keep::Stream { wake, .. } => Kept::Stream {
            queue: Queue::new(QUEUE),
            writer: wake.clone(),
            last_seq: AtomicU64::new(0),
            lost: AtomicU64::new(0),
        },
        Keep::Last { per_thread } => Kept::Ring(Mutex::new(Ring {
            events: Vec::with_capacity((*per_thread).min(1024)),
            head: 0,
            capacity: *per_thread,
            lost: 0,
            last_seq: 0,
        })),
    };
    let buffer = Arc::new(ThreadBuffer {
        thread: ThreadInfo { key, name },
        kept,
    });
    sink.buffers.push(buffer.clone());
    Some(buffer)
}

/// What a reader of a stream of events has been told: each thread and resource is
/// described once, before the first event that names it (the trace writer, the
/// in-process prediction).
#[derive(Default)]
pub(crate) struct Described {
    threads: HashSet<ThreadKey, IdHasher>,
    resources: HashSet<ResourceKey, IdHasher>,
    /// The resource the event before named (0: none; keys start at 1): most events name
    /// it again.
    last: u64,
}

impl Described {
    /// `thread`'s description, the first time.
    pub(crate) fn thread(&mut self, thread: &ThreadInfo) -> Option<TraceLine> {
        self.threads
            .insert(thread.key)
            .then(|| TraceLine::Thread(thread.clone()))
    }

    /// The descriptions of the resources `kind` names for the first time.
    pub(crate) fn resources(&mut self, kind: &EventKind) -> impl Iterator<Item = TraceLine> {
        let mut new = [None, None];
        for (slot, key) in new.iter_mut().zip(kind.resources()) {
            if key.0 != self.last && self.resources.insert(key) {
                *slot = registry::describe(key).map(TraceLine::Resource);
            }
            self.last = key.0;
        }
        new.into_iter().flatten()
    }
}

/// Writes trace lines in one format, describing each thread and resource before the
/// first event that names it.
struct TraceWriter<W: Write> {
    out: W,
    encoding: Encoding,
    described: Described,
    /// Binary: site ids by where events happened (addresses of `'static` data).
    sites: HashMap<(usize, usize), u64, IdHasher>,
    events: u64,
    bytes: u64,
}

enum Encoding {
    Binary { encoder: Encoder, bytes: Vec<u8> },
    JsonLines { line: Vec<u8> },
}

impl TraceWriter<BufWriter<File>> {
    fn create(path: &Path, format: TraceFormat) -> io::Result<Self> {
        // Errors name the path: "Is a directory" alone does not say which.
        let named = |error: io::Error| {
            io::Error::new(
                error.kind(),
                format!("cannot write the trace to {}: {error}", path.display()),
            )
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(named)?;
        }
        let file = BufWriter::with_capacity(256 << 10, File::create(path).map_err(named)?);
        TraceWriter::new(file, format).map_err(named)
    }
}

impl<W: Write> TraceWriter<W> {
    fn new(out: W, format: TraceFormat) -> io::Result<Self> {
        let header = TraceHeader {
            started_unix_nanos: Some(clock::epoch_unix_nanos()),
            ..TraceHeader::current()
        };
        let encoding = match format {
            TraceFormat::Binary => {
                let mut bytes = Vec::with_capacity(128 << 10);
                let encoder = Encoder::start(&header, &mut bytes);
                Encoding::Binary { encoder, bytes }
            }
            TraceFormat::JsonLines => Encoding::JsonLines { line: Vec::new() },
        };
        let mut writer = TraceWriter {
            out,
            encoding,
            described: Described::default(),
            sites: HashMap::default(),
            events: 0,
            bytes: 0,
        };
        if matches!(writer.encoding, Encoding::JsonLines { .. }) {
            writer.line(&TraceLine::Trace(header))?;
        }
        Ok(writer)
    }

    fn line(&mut self, line: &TraceLine) -> io::Result<()> {
        match &mut self.encoding {
            Encoding::Binary { encoder, bytes } => {
                encoder.line(line, bytes);
                if bytes.len() >= 64 << 10 {
                    self.bytes += bytes.len() as u64;
                    self.out.write_all(bytes)?;
                    bytes.clear();
                }
                Ok(())
            }
            Encoding::JsonLines { line: text } => {
                text.clear();
                serde_json::to_writer(&mut *text, line)?;
                text.push(b'\n');
                self.bytes += text.len() as u64;
                self.out.write_all(text)
            }
        }
    }

    /// `thread`'s events as it recorded them, in its order: binary encodes them without
    /// making an [`Event`] of each.
    fn raws(&mut self, thread: &ThreadInfo, raws: &[Raw]) -> io::Result<()> {
        if !matches!(self.encoding, Encoding::Binary { .. }) {
            let events = raws.iter().map(|raw| raw.to_event(thread.key)).collect();
            return self.events(thread, events);
        }
        if let Some(line) = self.described.thread(thread) {
            self.line(&line)?;
        }
        for raw in raws {
            for line in self.described.resources(&raw.kind) {
                self.line(&line)?;
            }
            let Encoding::Binary { encoder, bytes } = &mut self.encoding else {
                unreachable!("binary, checked above");
            };
            let site = match raw.site_key() {
                (0, _) => 0,
                key => match self.sites.get(&key) {
                    Some(&id) => id,
                    None => {
                        let site = raw
                            .site()
                            .unwrap_or_else(|| unreachable!("it has a location"));
                        let id = encoder.site_id(&site, bytes);
                        self.sites.insert(key, id);
                        id
                    }
                },
            };
            encoder.event_at(thread.key, raw.seq, &raw.kind, site, bytes);
            self.events += 1;
            if bytes.len() >= 64 << 10 {
                self.bytes += bytes.len() as u64;
                self.out.write_all(bytes)?;
                bytes.clear();
            }
        }
        Ok(())
    }

    /// `thread`'s events, in its order.
    fn events(&mut self, thread: &ThreadInfo, events: Vec<Event>) -> io::Result<()> {
        if let Some(line) = self.described.thread(thread) {
            self.line(&line)?;
        }
        for event in events {
            for line in self.described.resources(&event.kind) {
                self.line(&line)?;
            }
            match &mut self.encoding {
                // Most events: no `TraceLine` built, no copy.
                Encoding::Binary { encoder, bytes } if bytes.len() < 64 << 10 => {
                    encoder.event(&event, bytes)
                }
                _ => self.line(&TraceLine::Event(event))?,
            }
            self.events += 1;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Encoding::Binary { bytes, .. } = &mut self.encoding {
            self.bytes += bytes.len() as u64;
            self.out.write_all(bytes)?;
            bytes.clear();
        }
        self.out.flush()
    }

    fn end(mut self) -> io::Result<Written> {
        let end = TraceEnd {
            events: self.events,
            dropped: DROPPED.load(Relaxed),
        };
        self.line(&TraceLine::End(end))?;
        self.flush()?;
        Ok(Written {
            events: self.events,
            bytes: self.bytes,
        })
    }
}

/// What the prediction engine finds in a trace this recorder wrote (either format), as
/// `waitgraph analyze` would: for a program that wants the verdict on its own recording
/// (the demo's `incident`, tests). A last record cut short (by a process that died) is
/// left out with a note, like the analyzer does; anything else that does not read (a
/// malformed record or line, a file that is not a trace) is an error of kind
/// `InvalidData` naming where. The analyzer reads other tools' formats too.
pub fn predict(path: impl AsRef<Path>) -> io::Result<crate::predict::Prediction> {
    use std::io::{BufRead, Read};
    let path = path.as_ref();
    let invalid = |what: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {what}", path.display()),
        )
    };
    let mut file = std::io::BufReader::with_capacity(64 << 10, File::open(path)?);
    let mut predictor = crate::predict::Predictor::default();
    if waitgraph_core::binary::is_binary(file.fill_buf()?) {
        let mut reader = waitgraph_core::binary::Reader::new(file.by_ref());
        for line in &mut reader {
            predictor.feed(line.map_err(|error| invalid(error.to_string()))?);
        }
        if reader.cut().is_some() {
            predictor.mark_truncated();
        }
        return Ok(predictor.finish());
    }
    let mut lines = file.split(b'\n').enumerate().peekable();
    while let Some((number, line)) = lines.next() {
        let line = line?;
        let last = lines.peek().is_none();
        match serde_json::from_slice::<TraceLine>(&line) {
            Ok(TraceLine::Trace(_)) if number > 0 => {
                return Err(invalid(format!("line {}: a second header", number + 1)))
            }
            Ok(line) if number > 0 || matches!(line, TraceLine::Trace(_)) => predictor.feed(line),
            Ok(_) => return Err(invalid("not a waitgraph trace: no header first".into())),
            // The last line, cut by a process that died: every complete one is kept.
            Err(_) if last && number > 0 => predictor.mark_truncated(),
            Err(error) => return Err(invalid(format!("line {}: {error}", number + 1))),
        }
    }
    Ok(predictor.finish())
}

/// `WAITGRAPH_TRACE=path` (and `WAITGRAPH_TRACE_LAST=N` for a flight recorder): a
/// recording started without code changes, at the first event of the process's first
/// instrumented thread, and finished when the process exits. Errors are said once on
/// standard error; the program runs on unrecorded.
pub(crate) fn start_from_environment() {
    static FROM_ENVIRONMENT: Mutex<Option<TraceFile>> = Mutex::new(None);
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let last = std::env::var("WAITGRAPH_TRACE_LAST").ok();
        let Some(path) = std::env::var_os("WAITGRAPH_TRACE").filter(|p| !p.is_empty()) else {
            if last.is_some() {
                eprintln!("waitgraph: WAITGRAPH_TRACE_LAST is set but WAITGRAPH_TRACE (the file) is not; not recording");
            }
            return;
        };
        // `{pid}` keeps the traces of processes that inherit the variable apart.
        let path = PathBuf::from(
            path.to_string_lossy()
                .replace("{pid}", &std::process::id().to_string()),
        );
        let started = match last {
            Some(last) => match last.trim().parse::<usize>() {
                Ok(per_thread) if (1..=MAX_LAST).contains(&per_thread) => {
                    TraceFile::flight_recorder(&path, per_thread)
                }
                _ => Err(io::Error::other(format!(
                    "WAITGRAPH_TRACE_LAST={last:?}: expected a number of events per thread, 1 to {MAX_LAST}"
                ))),
            },
            None => TraceFile::create(&path),
        };
        match started {
            // Finished at exit (or by the watchdog): kept, never dropped.
            Ok(trace) => *FROM_ENVIRONMENT.lock() = Some(trace),
            Err(error) => eprintln!("waitgraph: WAITGRAPH_TRACE: {error}; not recording"),
        }
    });
}

/// Makes sure events flow to the in-process prediction: a streaming recording without a
/// file when none runs (a running one feeds it already; a flight recorder cannot).
pub(crate) fn record_for_prediction() -> io::Result<()> {
    start_from_environment();
    let mut sink = SINK.lock();
    match sink.as_ref().map(|s| &s.keep) {
        Some(Keep::Stream { .. }) => Ok(()),
        Some(Keep::Last { .. }) => Err(io::Error::other(
            "a flight recorder is running, and prediction needs every event: no prediction",
        )),
        None => start_stream(&mut sink, None, PathBuf::new(), TraceFormat::Binary).map(|_| ()),
    }
}

/// Ends a recording that only fed the in-process prediction (the watchdog that wanted
/// it stopped).
pub(crate) fn stop_prediction_only() {
    let sink = {
        let sink = SINK.lock();
        match sink.as_ref() {
            Some(s) if s.path.as_os_str().is_empty() => Some(s.generation),
            _ => None,
        }
    };
    if let Some(sink) = sink.and_then(|generation| stop(Some(generation))) {
        let _ = sink.write_out();
    }
}

mod at_exit {
    /// Runs `hook` when the process exits normally (C `atexit`: after `main` returns or
    /// on `std::process::exit`).
    pub fn register(hook: extern "C" fn()) {
        extern "C" {
            fn atexit(hook: extern "C" fn()) -> std::ffi::c_int;
        }
        // SAFETY: `atexit` is in every C runtime Rust links against on the platforms it
        // supports; it stores a plain function pointer with no captured state.
        unsafe {
            atexit(hook);
        }
    }
}

//! Recording every thread's events to a file: the trace the offline analyzer reads.
//!
//! | step | who | cost |
//! |---|---|---|
//! | an event | the thread it happened on | a push onto its own buffer (a lock nobody else takes but `finish`) |
//! | a full buffer (`BATCH` events) | that thread | handed to the writer thread; dropped and counted if the writer is `QUEUE` batches behind |
//! | writing | the writer thread | thread and resource descriptions first, then the events, one JSON object per line |
//! | `finish` | the caller | every buffer drained, an `end` line, the file flushed and synced |
//!
//! A host thread never waits for the disk. A trace cut short by a crash keeps every
//! line written whole; only the last one may be partial.

use crate::model::{
    Event, EventKind, ResourceKey, ThreadInfo, ThreadKey, TraceEnd, TraceHeader, TraceLine,
};
use crate::probe::registry;
use parking_lot::Mutex;
use std::cell::RefCell;
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Events a thread buffers before handing them to the writer.
const BATCH: usize = 256;
/// Batches the writer may be behind before new ones are dropped (and counted).
const QUEUE: usize = 256;

/// Whether a file recording is running: read by the hooks (after `active()`).
static RECORDING: AtomicBool = AtomicBool::new(false);
/// Which recording a thread's buffer belongs to.
static GENERATION: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static SINK: Mutex<Option<Sink>> = Mutex::new(None);

type Buffer = Arc<Mutex<ThreadBuffer>>;

/// One thread's events not yet handed to the writer, with who the thread is (named
/// while it runs: it may be gone by the time its last events are written).
struct ThreadBuffer {
    thread: ThreadInfo,
    events: Vec<Event>,
    /// Events of this thread dropped since its last batch was written: said by a `Lost`
    /// event before its next one, so a reader knows its view of the thread has a hole.
    lost: u64,
}

/// Events of one thread, in order.
struct Batch {
    thread: ThreadInfo,
    events: Vec<Event>,
}

struct Sink {
    generation: u64,
    batches: SyncSender<Batch>,
    buffers: Vec<Buffer>,
    writer: JoinHandle<io::Result<u64>>,
    path: PathBuf,
}

thread_local! {
    static MINE: RefCell<Option<(u64, Buffer)>> = const { RefCell::new(None) };
}

/// A recording of every thread's events to a file, until [`finish`](TraceFile::finish).
/// One at a time per process.
///
/// ```no_run
/// let trace = waitgraph::record::TraceFile::create("target/waitgraph/run.trace.jsonl")?;
/// // ... the program runs ...
/// let written = trace.finish()?;
/// println!("{} events, {} dropped", written.events, written.dropped);
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "a recording runs until it is finished"]
pub struct TraceFile {
    path: PathBuf,
}

/// What a finished recording wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceSummary {
    pub path: PathBuf,
    pub events: u64,
    pub dropped: u64,
}

impl TraceFile {
    /// Creates (truncates) the file and starts recording. Fails if the file cannot be
    /// created or another recording is running.
    pub fn create(path: impl AsRef<Path>) -> io::Result<TraceFile> {
        let path = path.as_ref().to_path_buf();
        let mut sink = SINK.lock();
        if sink.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a trace recording is already running",
            ));
        }
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
        let mut file = BufWriter::new(File::create(&path).map_err(named)?);
        write_line(&mut file, &TraceLine::Trace(TraceHeader::current())).map_err(named)?;
        let (batches, received) = sync_channel::<Batch>(QUEUE);
        let writer = std::thread::Builder::new()
            .name("waitgraph-trace".into())
            .spawn(move || {
                let mut writer = Writer::new(file);
                for batch in received {
                    writer.write(batch)?;
                }
                writer.end()
            })?;
        registry::keep_departed(true);
        static FINISHED_BEFORE_EXIT: std::sync::Once = std::sync::Once::new();
        FINISHED_BEFORE_EXIT.call_once(|| crate::probe::watchdog::before_exit(finish_running));
        let generation = GENERATION.fetch_add(1, Relaxed) + 1;
        DROPPED.store(0, Relaxed);
        *sink = Some(Sink {
            generation,
            batches,
            buffers: Vec::new(),
            writer,
            path: path.clone(),
        });
        RECORDING.store(true, Release);
        super::activate();
        Ok(TraceFile { path })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops recording, writes what every thread still buffers and the `end` line, and
    /// syncs the file.
    pub fn finish(self) -> io::Result<TraceSummary> {
        match stop() {
            Some(sink) => sink.write_out(),
            None => Err(io::Error::other("the recording was already finished")),
        }
    }
}

impl Drop for TraceFile {
    /// A recording dropped without `finish` is finished all the same (errors ignored).
    fn drop(&mut self) {
        if let Some(sink) = stop() {
            let _ = sink.write_out();
        }
    }
}

impl Sink {
    /// Hands every thread's remaining events to the writer and waits for it to finish.
    fn write_out(self) -> io::Result<TraceSummary> {
        for buffer in &self.buffers {
            let batch = {
                let mut buffer = buffer.lock();
                Batch {
                    thread: buffer.thread.clone(),
                    events: std::mem::take(&mut buffer.events),
                }
            };
            if !batch.events.is_empty() && self.batches.send(batch).is_err() {
                break;
            }
        }
        drop(self.batches);
        let events = self
            .writer
            .join()
            .map_err(|_| io::Error::other("the trace writer panicked"));
        registry::keep_departed(false);
        let events = events??;
        Ok(TraceSummary {
            path: self.path,
            events,
            dropped: DROPPED.load(Relaxed),
        })
    }
}

/// What the prediction engine finds in a trace this recorder wrote (JSON lines), as
/// `waitgraph analyze` would: for a program that wants the verdict on its own recording
/// (the demo's `incident`, tests). A line that does not parse (the last one, cut by a
/// process that died) ends the reading; everything before it is analysed. The analyzer
/// reads every format, with errors naming file, line and column.
pub fn predict(path: impl AsRef<Path>) -> io::Result<crate::predict::Prediction> {
    use std::io::BufRead;
    let file = std::io::BufReader::new(File::open(path)?);
    let mut predictor = crate::predict::Predictor::default();
    for line in file.lines() {
        match serde_json::from_str::<TraceLine>(&line?) {
            Ok(line) => predictor.feed(line),
            Err(_) => {
                predictor.mark_truncated();
                break;
            }
        }
    }
    Ok(predictor.finish())
}

/// Finishes the running recording, if any: what the watchdog does before it exits the
/// process on a deadlock, so the trace of a hung run ends whole.
fn finish_running() -> Result<(), String> {
    match stop().map(Sink::write_out) {
        Some(Err(error)) => Err(format!("could not finish the trace: {error}")),
        _ => Ok(()),
    }
}

fn stop() -> Option<Sink> {
    let sink = SINK.lock().take()?;
    RECORDING.store(false, Release);
    super::deactivate();
    Some(sink)
}

/// Whether a file recording runs (the hooks' second check, after `active()`).
#[inline]
pub(crate) fn recording() -> bool {
    RECORDING.load(Relaxed)
}

/// Adds `event` to the current thread's buffer, handing a full one to the writer.
pub(crate) fn push(event: Event) {
    let generation = GENERATION.load(Relaxed);
    let thread = event.thread;
    let full = MINE.try_with(|mine| {
        let mut mine = mine.borrow_mut();
        if !matches!(&*mine, Some((seen, _)) if *seen == generation) {
            *mine = Some((generation, register(generation, thread)?));
        }
        let (_, buffer) = mine.as_ref()?;
        let mut buffer = buffer.lock();
        if buffer.lost > 0 && buffer.events.is_empty() {
            let events = std::mem::take(&mut buffer.lost);
            buffer.events.push(Event {
                seq: event.seq,
                thread,
                kind: EventKind::Lost { events },
                site: None,
            });
        }
        buffer.events.push(event);
        Some((buffer.events.len() >= BATCH).then(|| Batch {
            thread: buffer.thread.clone(),
            events: std::mem::take(&mut buffer.events),
        }))
    });
    match full {
        Ok(Some(Some(batch))) => {
            let count = batch.events.len() as u64;
            if !hand_over(batch) {
                let _ = MINE.try_with(|mine| {
                    if let Some((_, buffer)) = mine.borrow().as_ref() {
                        buffer.lock().lost += count;
                    }
                });
            }
        }
        Ok(Some(None)) => {}
        // No recording any more, or the thread is being torn down.
        Ok(None) | Err(_) => {
            DROPPED.fetch_add(1, Relaxed);
        }
    }
}

/// A new buffer for this thread in the running recording.
fn register(generation: u64, key: ThreadKey) -> Option<Buffer> {
    let name = std::thread::current().name().map(str::to_owned);
    let mut sink = SINK.lock();
    let sink = sink.as_mut().filter(|sink| sink.generation == generation)?;
    let buffer = Arc::new(Mutex::new(ThreadBuffer {
        thread: ThreadInfo { key, name },
        events: Vec::with_capacity(BATCH),
        lost: 0,
    }));
    sink.buffers.push(buffer.clone());
    Some(buffer)
}

/// Gives a full batch to the writer; false (and counted) when it had to be dropped.
fn hand_over(batch: Batch) -> bool {
    let count = batch.events.len() as u64;
    let sent = match SINK.lock().as_ref() {
        Some(sink) => match sink.batches.try_send(batch) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        },
        None => false,
    };
    if !sent {
        DROPPED.fetch_add(count, Relaxed);
    }
    sent
}

fn write_line(out: &mut impl Write, line: &TraceLine) -> io::Result<()> {
    serde_json::to_writer(&mut *out, line)?;
    out.write_all(b"\n")
}

/// The writer thread's state: what it has described already.
struct Writer {
    out: BufWriter<File>,
    threads: HashSet<ThreadKey>,
    resources: HashSet<ResourceKey>,
    events: u64,
}

impl Writer {
    fn new(out: BufWriter<File>) -> Writer {
        Writer {
            out,
            threads: HashSet::new(),
            resources: HashSet::new(),
            events: 0,
        }
    }

    fn write(&mut self, batch: Batch) -> io::Result<()> {
        if self.threads.insert(batch.thread.key) {
            write_line(&mut self.out, &TraceLine::Thread(batch.thread))?;
        }
        for event in batch.events {
            for key in event.kind.resources() {
                if self.resources.insert(key) {
                    if let Some(info) = registry::describe(key) {
                        write_line(&mut self.out, &TraceLine::Resource(info))?;
                    }
                }
            }
            write_line(&mut self.out, &TraceLine::Event(event))?;
            self.events += 1;
        }
        Ok(())
    }

    fn end(mut self) -> io::Result<u64> {
        let end = TraceEnd {
            events: self.events,
            dropped: DROPPED.load(Relaxed),
        };
        write_line(&mut self.out, &TraceLine::End(end))?;
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        Ok(self.events)
    }
}

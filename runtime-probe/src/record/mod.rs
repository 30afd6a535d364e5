//! Recording events as they happen: the raw material of traces, and what tests assert.
//!
//! [`TraceFile`] writes every thread's events to a file for the offline analyzer
//! (`waitgraph analyze`): the binary format ([`waitgraph_core::binary`]), or JSON lines
//! (see [`model::TraceLine`](crate::model::TraceLine)) for a name ending in `.jsonl` or
//! `.json`. The events' `seq` is their time in nanoseconds on a monotonic clock.
//!
//! | recording | started by | keeps | written |
//! |---|---|---|---|
//! | streaming | [`TraceFile::create`], or `WAITGRAPH_TRACE=path` | each thread's queue ([`QUEUE`] events; a full one makes the thread wait for the writer while it moves on, up to [`LONGEST_WAIT`], then drops and counts) | every event, as it comes; the `end` record at [`TraceFile::finish`], at exit, or before the watchdog exits on a deadlock |
//! | flight recorder | [`TraceFile::flight_recorder`], or `WAITGRAPH_TRACE=path` with `WAITGRAPH_TRACE_LAST=N` | each thread's last `N` events (1 to [`MAX_LAST`]; a ring that grows as events come) | whole, each time the watchdog reports a finding, on [`TraceFile::dump`], at `finish`, at exit |
//!
//! One recording runs per process. `WAITGRAPH_TRACE` starts it at the first instrumented
//! event, so a program that also calls [`TraceFile::create`] gets an error naming the
//! running one; `{pid}` in the path is replaced by the process id (child processes
//! inherit the variable: without it, they would write the same file). Missing
//! directories of the path are created. The watchdog's in-process prediction
//! (`Watchdog::builder().predict(true)`) records too: start a trace before the watchdog
//! and the prediction reads its events; started after, the trace is refused.
//!
//! [`capture`] records what the current thread does while a closure runs: every lock
//! acquired and released, every wait begun and ended, every function context entered
//! and left, every notification, send, barrier arrival and job event the probe sees, in
//! order, each with its source site and the function it happened in.
//!
//! ```
//! use waitgraph::model::EventKind;
//! use waitgraph::sync::Mutex;
//!
//! let gil = Mutex::named("gil", 0);
//! let ((), events) = waitgraph::record::capture(|| *gil.lock() += 1);
//! assert!(matches!(events[0].kind, EventKind::LockAcquired { .. }));
//! assert!(matches!(events[1].kind, EventKind::LockReleased { .. }));
//! ```
//!
//! | cost | when |
//! |---|---|
//! | one relaxed load per hook | no capture is running anywhere |
//! | a thread-local check per hook | a capture runs on some thread |
//! | a push onto a thread-local buffer | this thread is capturing |
//! | a push onto the thread's trace buffer | a [`TraceFile`] is recording |

use crate::model::{Event, EventKind, Site, ThreadKey};
use std::cell::RefCell;
use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

mod chains;
mod clock;
mod file;
pub mod live;
mod queue;

pub(crate) use file::start_from_environment;
pub use file::{
    predict, TraceFile, TraceFormat, TraceSummary, DEPARTED_RINGS, FULL_WAIT, LONGEST_WAIT,
    MAX_LAST, QUEUE, SWEEP,
};
pub(crate) use live::take_predicted;

/// How many captures and file recordings are running in the process: the hooks' one
/// cheap check.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
/// How many captures are running: a recording's event skips the thread-local look when
/// none is.
static CAPTURES: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static BUFFER: RefCell<Option<Vec<Event>>> = const { RefCell::new(None) };
}

/// Runs `f` and returns what it returned with the events the current thread produced
/// meanwhile. Captures nest: an inner capture takes its events, which the outer one
/// then also gets. A panic in `f` propagates after the capture is closed (catch it inside
/// `f` to keep the events of a panicking region).
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<Event>) {
    struct Open {
        outer: Option<Vec<Event>>,
    }
    impl Drop for Open {
        fn drop(&mut self) {
            let inner = BUFFER.with(|buffer| buffer.borrow_mut().take());
            let mut outer = self.outer.take();
            if let (Some(outer), Some(inner)) = (&mut outer, &inner) {
                outer.extend(inner.iter().cloned());
            }
            BUFFER.with(|buffer| *buffer.borrow_mut() = outer);
            CAPTURES.fetch_sub(1, Relaxed);
            deactivate();
            if let Some(inner) = inner {
                FINISHED.with(|finished| *finished.borrow_mut() = Some(inner));
            }
        }
    }
    thread_local! {
        static FINISHED: RefCell<Option<Vec<Event>>> = const { RefCell::new(None) };
    }
    let outer = BUFFER.with(|buffer| buffer.borrow_mut().replace(Vec::new()));
    CAPTURES.fetch_add(1, Relaxed);
    activate();
    let open = Open { outer };
    let result = f();
    drop(open);
    let events = FINISHED.with(|finished| finished.borrow_mut().take());
    (result, events.unwrap_or_default())
}

/// What reports say about the resource an event names (its kind, class and where it was
/// created or first met), while the resource is alive.
pub fn resource(key: crate::model::ResourceKey) -> Option<crate::model::ResourceInfo> {
    crate::probe::registry::resource(key).map(|entry| entry.info.clone())
}

/// Whether any thread is capturing: the check every hook makes first.
#[inline]
pub(crate) fn active() -> bool {
    ACTIVE.load(Relaxed) != 0
}

/// Records `kind` for the current thread, to its capture and to the trace file, whichever
/// run. The site's function is the innermost function context the thread is in.
#[cold]
pub(crate) fn emit(thread: ThreadKey, kind: EventKind, site: Option<&'static Location<'static>>) {
    if filtering() {
        chains::send_holds(thread);
    }
    emit_now(thread, kind, site);
}

/// Records a hold begun (`acquired`) or ended: through the chains while the recording
/// feeds prediction alone (`chains.rs`), else as any event.
#[cold]
pub(crate) fn hold(
    thread: ThreadKey,
    resource: crate::model::ResourceKey,
    mode: crate::model::LockMode,
    site: Option<&'static Location<'static>>,
    acquired: bool,
) {
    if filtering() {
        return chains::hold(thread, resource, mode, site, acquired);
    }
    emit_now(thread, chains::hold_kind(resource, mode, acquired), site);
}

/// Whether taking `resource` repeats the lock chain this thread takes most (that lock
/// alone), which prediction already has: then nothing is recorded, not even a call out
/// of line (see `chains.rs`).
#[inline]
pub(crate) fn lone_chain_again(
    slot: &crate::probe::slot::ThreadSlot,
    resource: crate::model::ResourceKey,
    mode: crate::model::LockMode,
) -> bool {
    filtering() && slot.repeats_lone_chain(resource, mode, file::generation())
}

/// Whether lock events go through the chains: the recording feeds prediction alone and
/// no capture wants every event.
#[inline]
fn filtering() -> bool {
    chains::filtering() && CAPTURES.load(Relaxed) == 0
}

/// `emit`, without sending the holds the chains kept back first.
fn emit_now(thread: ThreadKey, kind: EventKind, site: Option<&'static Location<'static>>) {
    let capturing = CAPTURES.load(Relaxed) != 0
        && BUFFER
            .try_with(|buffer| buffer.try_borrow().is_ok_and(|buffer| buffer.is_some()))
            .unwrap_or(false);
    let to_file = file::recording();
    if !capturing && !to_file {
        return;
    }
    // The innermost function context, for the site's function (by address: the writer
    // names it).
    let function = site
        .and_then(|_| crate::probe::slot::with_existing(|slot| slot.innermost_context()).flatten());
    // Its time: no counter shared between threads (see `clock`).
    let seq = clock::now();
    let kind = if capturing {
        let (kind, mine) = if to_file {
            (Some(kind.clone()), kind)
        } else {
            (None, kind)
        };
        let event = Event {
            seq,
            thread,
            kind: mine,
            site: site.map(|location| {
                let mut site = Site::from_location(location);
                site.function = function.map(|context| context.name.clone());
                site
            }),
        };
        let _ = BUFFER.try_with(|buffer| {
            if let Ok(mut buffer) = buffer.try_borrow_mut() {
                if let Some(events) = buffer.as_mut() {
                    events.push(event);
                }
            }
        });
        match kind {
            Some(kind) => kind,
            None => return,
        }
    } else {
        kind
    };
    file::push(
        thread,
        file::Raw {
            seq,
            kind,
            location: site,
            function,
        },
    );
}

/// A capture or a file recording started: the hooks' cheap check now passes.
fn activate() {
    clock::start();
    ACTIVE.fetch_add(1, Relaxed);
}

fn deactivate() {
    ACTIVE.fetch_sub(1, Relaxed);
}

/// Records `kind` for the current thread, if recording is on and the thread captures.
#[inline]
pub(crate) fn note(kind: impl FnOnce() -> EventKind, site: Option<&'static Location<'static>>) {
    if active() {
        if let Some(thread) = crate::probe::slot::with_current(|slot| slot.key) {
            emit(thread, kind(), site);
        }
    }
}

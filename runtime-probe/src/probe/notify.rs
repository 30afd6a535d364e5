//! The notifier: the thread that prints findings, emits them to `tracing` and calls the
//! program's `on_finding` callback, so that none of these can stop the watchdog.
//!
//! | trouble | what happens |
//! |---|---|
//! | a deadlocked thread holds the stderr lock | the notifier blocks; the watchdog goes on scanning and writing the report file, and an exit on a deadlock waits for the notifier at most [`FLUSH_WAIT`] |
//! | the callback panics (unwinding) | caught; said once on stderr; the next finding is handled as usual |
//! | the callback panics under `panic = "abort"` | the panic hook parks the failing thread instead of returning to the abort, and a new notifier takes over the queue (see [`super::faults`]) |
//! | the queue is full (the notifier is stuck) | the notice is dropped and counted in the report's probe errors |

use super::faults;
use crate::report::Finding;
use parking_lot::Mutex;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::time::Duration;

/// How long an exit on a deadlock waits for the findings to be printed.
pub const FLUSH_WAIT: Duration = Duration::from_secs(1);
const QUEUE: usize = 256;

type Callback = Arc<dyn Fn(&Finding) + Send + Sync>;

pub enum Notice {
    Finding(Box<Finding>),
    /// A line about the probe itself (a scan that failed).
    Fault(String),
    /// Answered once everything before it was handled.
    Flush(mpsc::Sender<()>),
}

struct Inner {
    queue: Mutex<Receiver<Notice>>,
    print: bool,
    callback: Option<Callback>,
    callback_panicked: AtomicBool,
}

/// The watchdog's side.
pub struct Notifier {
    sender: SyncSender<Notice>,
    dropped: AtomicU64,
}

impl Notifier {
    pub fn start(print: bool, callback: Option<Callback>) -> Notifier {
        let (sender, queue) = mpsc::sync_channel(QUEUE);
        let inner = Arc::new(Inner {
            queue: Mutex::new(queue),
            print,
            callback,
            callback_panicked: AtomicBool::new(false),
        });
        spawn(inner);
        Notifier {
            sender,
            dropped: AtomicU64::new(0),
        }
    }

    /// Queues a notice; never waits.
    pub fn send(&self, notice: Notice) {
        if self.sender.try_send(notice).is_err() {
            self.dropped.fetch_add(1, Relaxed);
        }
    }

    /// Notices that could not be queued.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Relaxed)
    }

    /// Waits until what was queued before is handled, at most `limit`.
    pub fn flush(&self, limit: Duration) -> bool {
        let (done, handled) = mpsc::channel();
        self.send(Notice::Flush(done));
        handled.recv_timeout(limit).is_ok()
    }
}

fn spawn(inner: Arc<Inner>) {
    let spawned = std::thread::Builder::new()
        .name("waitgraph-notifier".into())
        .spawn(move || {
            super::os_threads::mark_own();
            let again = inner.clone();
            faults::on_abort_panic(Box::new(move || spawn(again)));
            run(&inner);
        });
    if spawned.is_err() {
        super::registry::probe_error();
    }
}

fn run(inner: &Inner) {
    loop {
        // The queue's lock is not held while a notice is handled: a notifier that
        // never comes back leaves the queue to the one that replaces it.
        let notice = inner.queue.lock().recv();
        let Ok(notice) = notice else { return };
        match notice {
            Notice::Finding(finding) => handle(inner, &finding),
            Notice::Fault(line) => eprintln!("waitgraph: {line}"),
            Notice::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

fn handle(inner: &Inner, finding: &Finding) {
    if inner.print {
        eprintln!("waitgraph: {}", finding.describe().trim_end());
    }
    #[cfg(feature = "tracing")]
    super::watchdog::emit_tracing(finding);
    if let Some(callback) = &inner.callback {
        let called = std::panic::catch_unwind(AssertUnwindSafe(|| callback(finding)));
        if called.is_err() && !inner.callback_panicked.swap(true, Relaxed) {
            eprintln!(
                "waitgraph: the on_finding callback panicked; the watchdog goes on (findings still go to the report file and standard error)"
            );
        }
    }
}

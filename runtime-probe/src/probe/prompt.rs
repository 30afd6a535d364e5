//! Prompts: a program thread that begins an untimed lock wait while it holds a lock may
//! have closed a lock cycle, and tells the running watchdogs to look at once instead of
//! at their next scan (see [`super::certain_cycles`] for why one look can be enough).
//!
//! | step | cost |
//! |---|---|
//! | no watchdog running | one relaxed load |
//! | a prompt already pending | two relaxed loads |
//! | otherwise | a swap, a short lock, an unpark per watchdog |
//!
//! Only the blocking path prompts (a lock wait, never an uncontended acquire), and a
//! watchdog looks at most once per [`QUICK_DELAY`], later when looking costs more.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::thread::Thread;
use std::time::Duration;

/// How long a watchdog waits after a prompt before it looks: most contended waits are
/// over by then, and a deadlock is still there.
pub const QUICK_DELAY: Duration = Duration::from_millis(1);

static WATCHING: AtomicUsize = AtomicUsize::new(0);
static PROMPTED: AtomicBool = AtomicBool::new(false);
static WATCHERS: Mutex<Vec<Thread>> = Mutex::new(Vec::new());

/// Tells the running watchdogs that a lock cycle may have closed.
#[inline]
pub fn prompt() {
    if WATCHING.load(Relaxed) == 0 || PROMPTED.load(Relaxed) {
        return;
    }
    if !PROMPTED.swap(true, AcqRel) {
        for watcher in WATCHERS.lock().iter() {
            watcher.unpark();
        }
    }
}

/// Whether a prompt came since the last call (the caller then looks).
pub fn take() -> bool {
    PROMPTED.load(Relaxed) && PROMPTED.swap(false, AcqRel)
}

/// The current thread (a watchdog) is prompted until the returned value drops.
pub fn watch() -> Watching {
    let thread = std::thread::current();
    WATCHERS.lock().push(thread.clone());
    WATCHING.fetch_add(1, Relaxed);
    Watching { thread }
}

pub struct Watching {
    thread: Thread,
}

impl Drop for Watching {
    fn drop(&mut self) {
        WATCHING.fetch_sub(1, Relaxed);
        WATCHERS.lock().retain(|t| t.id() != self.thread.id());
    }
}

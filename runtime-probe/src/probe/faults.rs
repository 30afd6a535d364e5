//! Faults of the probe's own threads under `panic = "abort"`, where a panic cannot be
//! caught: a panic hook (installed once, in front of the program's own, which still
//! runs) parks the failing watchdog or notifier thread for good instead of letting the
//! panic abort the host, and starts a replacement, which goes on where it stopped.
//!
//! With unwinding (the default), the threads catch their panics themselves; the hook
//! is installed only once a fault was said, to keep the same fault from printing again. A thread parked this way keeps whatever it held at the moment of
//! the panic: scans hold one short internal lock at a time, and a callback holds none.

use std::cell::{Cell, RefCell};

type Restart = Box<dyn FnOnce() + Send>;

thread_local! {
    /// What replaces this thread if it panics under `panic = "abort"`.
    static RESTART: RefCell<Option<Restart>> = const { RefCell::new(None) };
    /// This probe thread's panics were said once already: the hook prints no more.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// After a fault was said once, further panics of this probe thread print nothing (a
/// scan that fails every 100 ms must not fill the program's standard error).
pub fn quiet_panics_on_this_thread() {
    install_hook();
    let _ = QUIET.try_with(|quiet| quiet.set(true));
}

/// Registers how to replace the current (probe) thread should it panic under
/// `panic = "abort"`. Does nothing with unwinding.
pub fn on_abort_panic(restart: Restart) {
    if cfg!(panic = "abort") {
        install_hook();
        RESTART.with(|slot| *slot.borrow_mut() = Some(restart));
    }
}

fn install_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let restart = RESTART
                .try_with(|slot| slot.try_borrow_mut().ok().and_then(|mut s| s.take()))
                .ok()
                .flatten();
            let quiet = QUIET.try_with(Cell::get).unwrap_or(false);
            let Some(restart) = restart else {
                if !quiet {
                    previous(info);
                }
                return;
            };
            // The replacement first: printing may block (a deadlocked thread can hold
            // the stderr lock).
            super::registry::probe_error();
            restart();
            previous(info);
            eprintln!(
                "waitgraph: a thread of the probe ({}) panicked; it is replaced and the watchdog goes on",
                std::thread::current().name().unwrap_or("unnamed")
            );
            loop {
                std::thread::park();
            }
        }));
    });
}

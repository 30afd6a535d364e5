//! The run-time switch: `WAITGRAPH=off` in the environment, or [`set_enabled`], turns
//! every hook into one relaxed load.

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

const UNSET: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNSET);

/// Whether the probe records. Read on every hook.
#[inline]
pub fn enabled() -> bool {
    match STATE.load(Relaxed) {
        ON => true,
        OFF => false,
        _ => read_environment(),
    }
}

#[cold]
fn read_environment() -> bool {
    let off = matches!(
        std::env::var("WAITGRAPH").as_deref().map(str::trim),
        Ok("off" | "0" | "false" | "no")
    );
    let _ = STATE.compare_exchange(UNSET, if off { OFF } else { ON }, Relaxed, Relaxed);
    STATE.load(Relaxed) == ON
}

/// Turns recording on or off for the whole process, at once. Locks taken while it was
/// on are still released correctly after it is turned off (each guard remembers whether
/// its hold was recorded), so switching never leaves a false hold behind.
pub fn set_enabled(on: bool) {
    STATE.store(if on { ON } else { OFF }, Relaxed);
}

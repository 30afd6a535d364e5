//! The recorder's clock: nanoseconds since the process first asked, monotonic, cheap.
//!
//! | where | how an event's time is read | cost here (2 cores, x86_64) |
//! |---|---|---|
//! | x86_64, Linux, clocksource `tsc` (the kernel found the TSC invariant and in step across cores) | the time-stamp counter, scaled by a rate measured against `Instant` over 2 ms when the first recording starts | about 7 ns |
//! | anywhere else | `Instant::now()` | about 21 ns |
//!
//! The rate is fixed once measured, so every thread's times use one linear map of one
//! counter: two events compare the same way in ticks and in nanoseconds. Its error (the
//! resolution of `Instant` over the 2 ms) is about one part in 10^5: a second of trace
//! may read as a second plus ten microseconds, the same for every thread.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Clock {
    /// The process's time zero.
    epoch: Instant,
    /// When `epoch` was, on the wall clock (for timelines).
    epoch_unix_nanos: u64,
    counter: Option<Counter>,
}

/// The time-stamp counter and its rate.
#[derive(Clone, Copy)]
struct Counter {
    /// The counter at `epoch`.
    at_epoch: u64,
    /// Nanoseconds per tick, in 32.32 fixed point.
    nanos_per_tick: u64,
}

static CLOCK: OnceLock<Clock> = OnceLock::new();

/// Sets the clock up (measuring the counter's rate, 2 ms): done when a recording
/// starts, so the first event does not pay it.
pub(crate) fn start() {
    clock();
}

fn clock() -> &'static Clock {
    CLOCK.get_or_init(|| {
        let epoch = Instant::now();
        let at_epoch = counter::read();
        let epoch_unix_nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as u64);
        Clock {
            epoch,
            epoch_unix_nanos,
            counter: counter::usable().then(|| calibrate(epoch, at_epoch)),
        }
    })
}

/// Nanoseconds since the process's time zero.
#[inline]
pub(crate) fn now() -> u64 {
    let clock = clock();
    match clock.counter {
        Some(counter) => {
            let ticks = counter::read().wrapping_sub(counter.at_epoch);
            ((u128::from(ticks) * u128::from(counter.nanos_per_tick)) >> 32) as u64
        }
        None => clock.epoch.elapsed().as_nanos() as u64,
    }
}

/// The time zero on the wall clock, in nanoseconds since the Unix epoch.
pub(crate) fn epoch_unix_nanos() -> u64 {
    clock().epoch_unix_nanos
}

/// Measures the counter's rate against `Instant` from `epoch`, when it read `at_epoch`.
fn calibrate(epoch: Instant, at_epoch: u64) -> Counter {
    let mut elapsed = epoch.elapsed();
    while elapsed < Duration::from_millis(2) {
        elapsed = epoch.elapsed();
    }
    let ticks = counter::read().wrapping_sub(at_epoch).max(1);
    let nanos_per_tick = ((elapsed.as_nanos() << 32) / u128::from(ticks)) as u64;
    Counter {
        at_epoch,
        nanos_per_tick,
    }
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod counter {
    /// Whether the kernel keeps time by the TSC: it does so only when the TSC is
    /// invariant and synchronised across cores.
    pub fn usable() -> bool {
        std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .is_ok_and(|source| source.trim() == "tsc")
    }

    #[inline]
    pub fn read() -> u64 {
        // SAFETY: `rdtsc` exists on every x86_64 processor and reads a register; it has
        // no memory effects.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
mod counter {
    pub fn usable() -> bool {
        false
    }

    pub fn read() -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_goes_forward_and_keeps_up_with_instant() {
        start();
        let (first, instant) = (now(), Instant::now());
        std::thread::sleep(Duration::from_millis(20));
        let (second, elapsed) = (now(), instant.elapsed().as_nanos() as u64);
        assert!(second > first);
        let measured = second - first;
        // Within 2 % of what Instant says (sleeping threads, preempted readers).
        assert!(
            measured.abs_diff(elapsed) < elapsed / 50,
            "{measured} ns by the recorder's clock, {elapsed} ns by Instant"
        );
    }
}

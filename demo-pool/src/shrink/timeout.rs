//! The blocking shrink with a bound: past it, the command withdraws the admin jobs no
//! worker has taken, releases the workers already at the barrier (they carry on instead
//! of exiting), and fails with a clear error. The gil is released, the worker count stays
//! what it was, no query is lost. A stall, not a deadlock: the watchdog warns about it.

use crate::shard::Shard;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use waitgraph::sync::SpinWait;

/// How long the main thread waits for the workers before it gives up.
pub const BOUND: Duration = Duration::from_secs(5);

#[waitgraph::instrument]
pub fn shrink(shard: &Shard, from: usize, to: usize, bound: Duration) -> Result<(), String> {
    let (barrier, jobs) = super::queue_exits(shard, from, to);
    let started = Instant::now();
    {
        let spin = SpinWait::bounded(&*barrier);
        while barrier.generation() == 0 && started.elapsed() < bound {
            spin.pause(Duration::from_micros(1));
        }
    }
    if barrier.generation() != 0 && !barrier.is_closed() {
        shard.trigger_coordinator(to);
        super::after_shrink(shard, to);
        return Ok(());
    }
    let withdrawn = shard.pool.withdraw_admin(&jobs);
    let released = barrier.close();
    shard.pool.target.store(from, Ordering::SeqCst);
    Err(format!(
        "CONFIG SET WORKERS {to} timed out after {:.1} s: {withdrawn} of {} workers never took their exit job \
         (busy, most likely waiting for the gil this command holds); {released} released from the barrier; \
         the pool keeps {from} workers",
        bound.as_secs_f64(),
        from - to
    ))
}

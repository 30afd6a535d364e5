//! `CONFIG SET WORKERS k`: the shrink, in the four versions the incident is about.
//!
//! | variant | what the main thread does, holding the gil | outcome under load |
//! |---|---|---|
//! | [`buggy`] | queues k admin jobs, spins until all k passed the barrier (no timeout), then triggers the coordinator | deadlock |
//! | [`reordered`] | the write-up's fix: triggers the coordinator first, then the same spin | deadlock: the trigger was never the problem |
//! | [`timeout`] | the same spin with a bound; past it, withdraws the admin jobs, releases the barrier, fails the command | an error, no hang, nothing lost |
//! | [`async_shrink`] | the fix that shipped: lowers the count, queues the admin jobs, returns | completes |

pub mod async_shrink;
pub mod buggy;
pub mod reordered;
pub mod timeout;

use crate::shard::{Keyspace, Shard};
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use waitgraph::sync::{Barrier, MutexGuard, SpinWait};

/// The most workers a shard may have.
pub const MAX_WORKERS: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Buggy,
    Reordered,
    Timeout,
    AsyncShrink,
}

impl Variant {
    pub const ALL: [Variant; 4] = [
        Variant::Buggy,
        Variant::Reordered,
        Variant::Timeout,
        Variant::AsyncShrink,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Variant::Buggy => "buggy",
            Variant::Reordered => "reordered",
            Variant::Timeout => "timeout",
            Variant::AsyncShrink => "async-shrink",
        }
    }
}

impl FromStr for Variant {
    type Err = String;
    fn from_str(text: &str) -> Result<Variant, String> {
        Variant::ALL
            .into_iter()
            .find(|v| v.name() == text)
            .ok_or_else(|| {
                format!("unknown variant `{text}` (buggy, reordered, timeout, async-shrink)")
            })
    }
}

/// The command, run on the main thread with the gil held (`_gil` proves it).
pub fn config_set_workers(
    shard: &Shard,
    _gil: &mut MutexGuard<'_, Keyspace>,
    count: usize,
) -> Result<(), String> {
    if count > MAX_WORKERS {
        return Err(format!(
            "WORKERS must be at most {MAX_WORKERS}, not {count}"
        ));
    }
    let current = shard.pool.target.load(Ordering::SeqCst);
    if count == current {
        return Ok(());
    }
    if count > current {
        shard.pool.target.store(count, Ordering::SeqCst);
        shard.pool.grow(count - current);
        shard.trigger_coordinator(count);
        return Ok(());
    }
    shard.pool.gate.shrink_started.store(true, Ordering::SeqCst);
    match shard.variant {
        Variant::Buggy => buggy::shrink(shard, current, count),
        Variant::Reordered => reordered::shrink(shard, current, count),
        Variant::Timeout => timeout::shrink(shard, current, count, timeout::BOUND),
        Variant::AsyncShrink => async_shrink::shrink(shard, current, count),
    }
}

/// Growing back while a shrink still drains, as before the fix: the main thread, holding
/// the gil, queues an admin job for every live worker and spins until all have passed a
/// barrier. Workers parked at the draining shrink's barrier and workers blocked on the gil
/// never pass it: the same cycle as the shrink.
pub fn revive_blocking(
    shard: &Shard,
    _gil: &mut MutexGuard<'_, Keyspace>,
    count: usize,
) -> Result<(), String> {
    shard.pool.gate.revive_started.store(true, Ordering::SeqCst);
    let live = shard.pool.live();
    if live > 0 {
        let barrier = Arc::new(Barrier::for_executor(
            "workers-revive",
            live,
            &shard.pool.executor,
        ));
        let _jobs = shard.pool.submit_admin(live, &barrier, false);
        spin_until_passed(&barrier);
    }
    let current = shard.pool.target.load(Ordering::SeqCst);
    shard.pool.target.store(count, Ordering::SeqCst);
    shard.pool.grow(count.saturating_sub(current));
    Ok(())
}

/// Queues the admin jobs of a shrink from `from` to `to` workers: one per exiting worker,
/// each waiting at a barrier that counts them.
pub(crate) fn queue_exits(
    shard: &Shard,
    from: usize,
    to: usize,
) -> (Arc<Barrier>, Vec<waitgraph::sync::Job>) {
    let exiting = from - to;
    let barrier = Arc::new(Barrier::for_executor(
        "workers-exit",
        exiting,
        &shard.pool.executor,
    ));
    shard.pool.target.store(to, Ordering::SeqCst);
    let jobs = shard.pool.submit_admin(exiting, &barrier, true);
    (barrier, jobs)
}

/// The pre-fix wait: `while (received < count) usleep(1)`, with no bound.
pub(crate) fn spin_until_passed(barrier: &Barrier) {
    let spin = SpinWait::on(barrier);
    while barrier.generation() == 0 {
        spin.pause(Duration::from_micros(1));
    }
}

/// After the workers are gone: with none left, the queries still queued go to the main
/// thread, which runs queries itself when there are no workers.
pub(crate) fn after_shrink(shard: &Shard, to: usize) {
    if to == 0 {
        shard.requeue_to_main(shard.pool.take_queries());
    }
}

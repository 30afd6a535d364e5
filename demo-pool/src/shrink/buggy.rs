//! As shipped before the fix: the main thread, holding the gil, queues one admin job per
//! exiting worker and spins until every one has passed the barrier, with no timeout; only
//! then does it trigger the coordinator's connection-pool resize.
//!
//! A worker in the middle of a query that loads fields is blocked on the gil, so it never
//! takes its admin job: the barrier never completes, the main thread never releases the
//! gil. Main -> barrier -> busy worker -> gil -> main.

use crate::shard::Shard;

#[waitgraph::instrument]
pub fn shrink(shard: &Shard, from: usize, to: usize) -> Result<(), String> {
    let (barrier, _jobs) = super::queue_exits(shard, from, to);
    super::spin_until_passed(&barrier);
    shard.trigger_coordinator(to);
    super::after_shrink(shard, to);
    Ok(())
}

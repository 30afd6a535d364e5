//! The fix that shipped: lower the count, queue one admin job per exiting worker whose
//! barrier counts only the exiting workers, and return at once. The main thread never
//! waits for a worker while it holds the gil; busy workers finish their queries, take
//! their admin jobs, and the last one out frees the barrier.

use crate::shard::Shard;

#[waitgraph::instrument]
pub fn shrink(shard: &Shard, from: usize, to: usize) -> Result<(), String> {
    let (_barrier, _jobs) = super::queue_exits(shard, from, to);
    if to == 0 {
        // Queries already queued behind the admin jobs: the workers leave first, so the
        // main thread takes them over (it runs queries itself with no workers).
        super::after_shrink(shard, to);
    }
    Ok(())
}

//! The write-up's proposed fix: trigger the coordinator's connection-pool resize first,
//! then shrink as before. The resize is a job for the IO thread, which was never part of
//! the cycle; the main thread still spins under the gil on a barrier that a worker
//! blocked on the gil must reach. It deadlocks the same way.

use crate::shard::Shard;

#[waitgraph::instrument]
pub fn shrink(shard: &Shard, from: usize, to: usize) -> Result<(), String> {
    shard.trigger_coordinator(to);
    let (barrier, _jobs) = super::queue_exits(shard, from, to);
    super::spin_until_passed(&barrier);
    super::after_shrink(shard, to);
    Ok(())
}

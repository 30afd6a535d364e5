//! Deadlocks one scan can be sure of: a stuck group made only of untimed lock waits, each
//! blocked by a lock another member holds, is certain once every member is seen again in
//! the same wait (a double collect), with no second scan 100 ms later.
//!
//! Why one scan and a re-read suffice here (and not for condvars, jobs or spin-waits):
//!
//! | fact | from |
//! |---|---|
//! | a thread seen twice in the same wait epoch was in that wait all along | epochs only grow; a wait that ends clears the record, the next one takes a new epoch (`ThreadSlot::begin_wait`) |
//! | a thread's held table does not change while it waits | only the owner writes it, and only outside a wait (holds are recorded after `end_wait`, releases before `begin_wait`, an upgrade drops its upgradable hold before it waits) |
//! | so at the moment the first collect ended, every member waited and held what the scan read | every member's wait spans both collects |
//! | an untimed lock wait ends only when the lock is released | lock semantics; a timed wait, a condvar's notification or a barrier's round could end by themselves, and stay with the two-scan rule |
//!
//! Cost: O(members) re-reads of a wait record (a short lock each), after the scan.

use super::snapshot::Scan;
use crate::graph::stuck_cycles::Stuck;
use crate::model::{LockMode, WaitKind};

/// Whether `group` of `scan` is a deadlock for certain (see the table above).
///
/// ```text
/// T1 holds A, waits for B (untimed)  ─┐  both seen again in the same wait epochs
/// T2 holds B, waits for A (untimed)  ─┘  => certain, reported at once
/// ```
pub fn certain(scan: &Scan, group: &Stuck) -> bool {
    use super::providers::Provision;
    if group.unsatisfiable {
        return false;
    }
    let members: Vec<usize> = group
        .cycle
        .iter()
        .chain(&group.also_deadlocked)
        .copied()
        .collect();
    let member_keys: Vec<_> = members.iter().map(|&n| scan.thread(n).key()).collect();
    let blocked_by_a_member = |node: usize| {
        let Some(wait) = scan.thread(node).wait else {
            return false;
        };
        let lock_wait = matches!(
            wait.kind,
            WaitKind::Lock(LockMode::Exclusive | LockMode::Upgradable) | WaitKind::ReadRecursive
        );
        // Every clause of a lock wait is "all of these holders": one member among them
        // keeps it blocked for as long as it holds.
        lock_wait
            && !wait.timed
            && match &scan.provisions[node] {
                Provision::Needs(clauses) => clauses.iter().any(|(need, providers)| {
                    *need == providers.len() && providers.iter().any(|p| member_keys.contains(p))
                }),
                _ => false,
            }
    };
    if !members.iter().all(|&node| blocked_by_a_member(node)) {
        return false;
    }
    // The second collect: every member still in the wait the scan saw.
    members
        .iter()
        .all(|&node| scan.thread(node).still_in_the_wait_seen())
}

//! The whole-process rule: when every thread of the process is known to the probe and
//! blocked in an untimed wait that nothing has ended, no thread inside the process can
//! wake another. The process is deadlocked whatever the waits' providers are: a condvar
//! nobody will notify (never notified, notified only before the wait, its notifier gone),
//! a receive whose senders all wait, workers idle with nothing queued.
//!
//! | a thread | counts as |
//! |---|---|
//! | the probe's own (watchdog, notifier, trace writer) | left out |
//! | known, in an untimed wait nothing has ended yet (a notification since it began ends a condvar wait) | blocked |
//! | known, idle in an executor, untimed | blocked: only another thread can give it work |
//! | known, in a timed wait, or with no published wait (running, or in a call the probe does not see: I/O, `sleep`, `park`) | running: no finding |
//! | not known to the probe (it never made an instrumented call) | may do anything: no finding |
//! | any, where the platform does not list a process's threads, or a thread's id is unknown | no finding |
//!
//! Like a cycle, it is reported only when two consecutive scans agree (the same threads,
//! the same waits). Cost: one directory listing of `/proc/self/task` per scan in which
//! every known thread waits, nothing otherwise.

use super::os_threads;
use super::providers::Provision;
use super::snapshot::Scan;
use crate::model::{ThreadKey, WaitKind};

/// Every thread of the process, blocked.
pub struct EveryoneWaits {
    /// The scan's nodes of the blocked threads, in the scan's order.
    pub blocked: Vec<usize>,
    /// Each blocked thread's key and wait epoch, sorted: equal in two scans, the same waits.
    pub fingerprint: Vec<(ThreadKey, u64)>,
}

/// Whether every thread of the process is blocked for good in `scan` (one scan's view).
///
/// ```text
/// main: condvar `done` (never notified)     workers-0, workers-1: idle
/// watchdog, notifier: the probe's own        /proc/self/task: those five
/// => EveryoneWaits { blocked: [main, workers-0, workers-1] }
/// ```
pub fn everyone_waits(scan: &Scan) -> Option<EveryoneWaits> {
    let own = os_threads::own();
    let mut blocked = Vec::new();
    let mut ids = Vec::new();
    for (node, thread) in scan.world.threads.iter().enumerate() {
        let id = thread.slot.os_id?;
        if own.contains(&id) {
            // The notifier registers when a callback takes an instrumented lock.
            continue;
        }
        let wait = thread.wait?;
        let ended = wait.kind != WaitKind::Idle && scan.provisions[node] == Provision::Free;
        if wait.timed || ended {
            return None;
        }
        blocked.push(node);
        ids.push(id);
    }
    // Listed after the slots were read: a thread started since is unknown (no finding);
    // one that ended since is left out.
    let process = os_threads::process()?;
    if !process
        .iter()
        .all(|id| ids.contains(id) || own.contains(id))
    {
        return None;
    }
    let (blocked, mut fingerprint): (Vec<usize>, Vec<(ThreadKey, u64)>) = blocked
        .into_iter()
        .zip(&ids)
        .filter(|(_, id)| process.binary_search(id).is_ok())
        .map(|(node, _)| {
            let thread = scan.thread(node);
            (node, (thread.key(), thread.wait.map_or(0, |w| w.epoch)))
        })
        .unzip();
    if blocked.is_empty() {
        return None;
    }
    fingerprint.sort_unstable();
    Some(EveryoneWaits {
        blocked,
        fingerprint,
    })
}

//! Happens-before through forks, joins and wake-ups: an event of a parent before it
//! forked a child comes before every event of the child; every event of a child comes
//! before the event that joined it; what a thread did before the notification (send,
//! job completion) that ended another thread's wait comes before what the woken thread
//! does after. Two holds that are ordered this way never overlap, so a cycle they make
//! cannot close.
//!
//! Each order is an edge "events of thread `t` up to `upto` come before events of
//! thread `d` from `from` on". Forks and joins are kept whole (two per thread at most).
//! A wake-up is matched to the signal that ended it (the last one on the same resource
//! before the wait ended) when the analysis finishes, since each thread's events come
//! in their own order; at most [`MAX_WAKE_UPS`] wake-ups and as many signals are kept,
//! so the memory stays bounded (past that, later wake-ups order nothing: reported, not
//! missed). A query is a breadth-first search over the edges: **O(E)** per query.
//!
//! ```
//! use waitgraph_core::model::{ResourceKey, ThreadKey};
//! use waitgraph_core::predict::happens_before::HappensBefore;
//! let mut hb = HappensBefore::default();
//! let (main, child, other) = (ThreadKey(1), ThreadKey(2), ThreadKey(3));
//! hb.fork(main, child, 10);
//! hb.join(child, main, 20);
//! assert!(hb.ordered((main, 5), (child, 1)));    // before the fork
//! assert!(hb.ordered((child, 15), (main, 25)));  // before the join
//! assert!(!hb.ordered((main, 12), (child, 15))); // between: concurrent
//! // `other` notifies at 30 what `child` waited for; its wait ends at 31.
//! let ready = ResourceKey(7);
//! hb.signal(ready, other, 30);
//! hb.woken(ready, child, 31);
//! hb.settle();
//! assert!(hb.ordered((other, 29), (child, 32)));
//! assert!(!hb.ordered((child, 32), (other, 29)));
//! ```

use crate::binary::IdHasher;
use crate::model::{ResourceKey, ThreadKey};
use std::collections::{HashMap, VecDeque};

/// Wake-ups (and, separately, signals) kept at most.
pub const MAX_WAKE_UPS: usize = 1 << 16;

#[derive(Clone, Default)]
pub struct HappensBefore {
    /// thread -> (events up to this seq, come before, this thread, from this seq on)
    edges: HashMap<ThreadKey, Vec<(u64, ThreadKey, u64)>, IdHasher>,
    /// Per resource, its signals (seq, thread), until `settle`.
    signals: HashMap<ResourceKey, Vec<(u64, ThreadKey)>, IdHasher>,
    signal_count: usize,
    /// Waits ended by a signal: (resource, thread, seq of the end), until `settle`.
    wake_ups: Vec<(ResourceKey, ThreadKey, u64)>,
    /// Wake-ups or signals not kept (past the bound).
    pub dropped: u64,
}

impl HappensBefore {
    fn edge(&mut self, from: ThreadKey, upto: u64, to: ThreadKey, after: u64) {
        self.edges.entry(from).or_default().push((upto, to, after));
    }

    pub fn fork(&mut self, parent: ThreadKey, child: ThreadKey, seq: u64) {
        self.edge(parent, seq, child, 0);
    }

    pub fn join(&mut self, child: ThreadKey, joiner: ThreadKey, seq: u64) {
        self.edge(child, u64::MAX, joiner, seq);
    }

    /// `thread` produced what ends waits on `resource` (a notification, a send, a job's
    /// completion) at `seq`.
    pub fn signal(&mut self, resource: ResourceKey, thread: ThreadKey, seq: u64) {
        if self.signal_count >= MAX_WAKE_UPS {
            self.dropped += 1;
            return;
        }
        self.signal_count += 1;
        self.signals
            .entry(resource)
            .or_default()
            .push((seq, thread));
    }

    /// `thread`'s wait on `resource` ended, woken, at `seq`.
    pub fn woken(&mut self, resource: ResourceKey, thread: ThreadKey, seq: u64) {
        if self.wake_ups.len() >= MAX_WAKE_UPS {
            self.dropped += 1;
            return;
        }
        self.wake_ups.push((resource, thread, seq));
    }

    /// Matches every wake-up to the signal that ended it (the last on its resource
    /// before it) and makes it an order.
    pub fn settle(&mut self) {
        for signals in self.signals.values_mut() {
            signals.sort_unstable();
        }
        let wake_ups = std::mem::take(&mut self.wake_ups);
        for (resource, woken, at) in wake_ups {
            let Some(signals) = self.signals.get(&resource) else {
                continue;
            };
            let before = signals.partition_point(|&(seq, _)| seq < at);
            if let Some(&(seq, signaller)) = before.checked_sub(1).map(|i| &signals[i]) {
                if signaller != woken {
                    self.edge(signaller, seq, woken, at);
                }
            }
        }
        self.signals.clear();
    }

    /// Whether the event `a` (thread, seq) happens before the event `b`.
    pub fn ordered(&self, a: (ThreadKey, u64), b: (ThreadKey, u64)) -> bool {
        if a.0 == b.0 {
            return a.1 < b.1;
        }
        // From (thread, seq): everything that thread does from seq on is after `a`.
        let mut queue = VecDeque::from([a]);
        // Per thread, the earliest event known to come after `a`.
        let mut earliest: HashMap<ThreadKey, u64> = HashMap::new();
        while let Some((thread, from)) = queue.pop_front() {
            if thread == b.0 && from <= b.1 {
                return true;
            }
            if earliest.get(&thread).is_some_and(|&known| known <= from) {
                continue;
            }
            earliest.insert(thread, from);
            for &(upto, to, after) in self.edges.get(&thread).into_iter().flatten() {
                if upto >= from {
                    queue.push_back((to, after));
                }
            }
        }
        false
    }
}

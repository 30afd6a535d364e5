//! Happens-before through forks and joins: an event of a parent before it forked a
//! child comes before every event of the child; every event of a child comes before
//! the event that joined it. Two holds that are ordered this way never overlap, so a
//! cycle they make cannot close.
//!
//! Only forks and joins are kept (two per thread at most), so the memory is bounded by
//! the threads. A query is a search over them: **O(F + J)** per query.
//!
//! ```
//! use waitgraph_core::model::ThreadKey;
//! use waitgraph_core::predict::happens_before::HappensBefore;
//! let mut hb = HappensBefore::default();
//! let (main, child) = (ThreadKey(1), ThreadKey(2));
//! hb.fork(main, child, 10);
//! hb.join(child, main, 20);
//! assert!(hb.ordered((main, 5), (child, 1)));    // before the fork
//! assert!(hb.ordered((child, 15), (main, 25)));  // before the join
//! assert!(!hb.ordered((main, 12), (child, 15))); // between: concurrent
//! ```

use crate::model::ThreadKey;
use std::collections::{HashMap, VecDeque};

#[derive(Default)]
pub struct HappensBefore {
    /// parent -> (child, seq of the fork)
    forks: HashMap<ThreadKey, Vec<(ThreadKey, u64)>>,
    /// child -> (joiner, seq of the join)
    joins: HashMap<ThreadKey, Vec<(ThreadKey, u64)>>,
}

impl HappensBefore {
    pub fn fork(&mut self, parent: ThreadKey, child: ThreadKey, seq: u64) {
        self.forks.entry(parent).or_default().push((child, seq));
    }

    pub fn join(&mut self, child: ThreadKey, joiner: ThreadKey, seq: u64) {
        self.joins.entry(child).or_default().push((joiner, seq));
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
            for &(child, at) in self.forks.get(&thread).into_iter().flatten() {
                if at >= from {
                    queue.push_back((child, 0));
                }
            }
            for &(joiner, at) in self.joins.get(&thread).into_iter().flatten() {
                queue.push_back((joiner, at));
            }
        }
        false
    }
}

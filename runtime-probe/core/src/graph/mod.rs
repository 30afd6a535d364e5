//! Graph algorithms over AND / OR / k-of-n wait-for graphs, shared by the live
//! watchdog and the offline analyzer. One algorithm per file:
//!
//! | file | computes | cost |
//! |---|---|---|
//! | [`reduction`] | which nodes can still make progress (Holt's reduction) | O(V + E) |
//! | [`strongly_connected`] | strongly connected components (Tarjan, iterative) | O(V + E) |
//! | [`stuck_cycles`] | deadlocked cycles, victims and unsatisfiable waits among stuck nodes | O(V + E) per cycle |
//!
//! A node is a thread. A running thread (or one whose wait may end by itself: a timed
//! wait, a wait whose providers are unknown) has no clauses. A blocked thread has one or
//! more clauses, all of which must be satisfied; a clause is satisfied once `need`
//! distinct providers can make progress:
//!
//! | wait | clause |
//! |---|---|
//! | exclusive lock | need = number of holders, providers = holders (AND) |
//! | condvar, channel, job still queued | need = 1, providers = notifiers / senders / workers (OR) |
//! | barrier fed by a pool | need = missing arrivals, providers = workers not yet arrived (k-of-n) |
//!
//! ```
//! use waitgraph_core::graph::{WaitGraph, Clause, reduction::reduce};
//! let mut g = WaitGraph::new(3);
//! g.block(0, Clause::all([1]));        // 0 waits for a lock 1 holds
//! g.block(1, Clause::any([0, 2]));     // 1 waits for a notify from 0 or 2
//! let free = reduce(&g);               // 2 runs, so 1 can go, so 0 can go
//! assert_eq!(free, vec![true, true, true]);
//! ```

pub mod reduction;
pub mod strongly_connected;
pub mod stuck_cycles;

/// One requirement of a blocked node: `need` of `providers` must make progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clause {
    pub need: usize,
    /// Distinct node indices (the constructors sort and deduplicate).
    pub providers: Vec<usize>,
}

impl Clause {
    /// Every provider must make progress (AND).
    pub fn all(providers: impl IntoIterator<Item = usize>) -> Clause {
        let providers = sorted_unique(providers);
        Clause {
            need: providers.len(),
            providers,
        }
    }

    /// One provider is enough (OR).
    pub fn any(providers: impl IntoIterator<Item = usize>) -> Clause {
        Clause::at_least(1, providers)
    }

    /// `need` distinct providers must make progress (k-of-n). A clause that needs more
    /// than it has providers can never be satisfied.
    pub fn at_least(need: usize, providers: impl IntoIterator<Item = usize>) -> Clause {
        Clause {
            need,
            providers: sorted_unique(providers),
        }
    }
}

fn sorted_unique(items: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut items: Vec<usize> = items.into_iter().collect();
    items.sort_unstable();
    items.dedup();
    items
}

/// A wait-for graph: node `i` is free to run unless it has clauses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WaitGraph {
    clauses: Vec<Vec<Clause>>,
}

impl WaitGraph {
    /// `nodes` nodes, all running.
    pub fn new(nodes: usize) -> WaitGraph {
        WaitGraph {
            clauses: vec![Vec::new(); nodes],
        }
    }

    pub fn len(&self) -> usize {
        self.clauses.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// Adds a clause node `node` must satisfy before it can run again.
    ///
    /// # Panics
    /// If `node` or a provider is out of range: a bug in the caller.
    pub fn block(&mut self, node: usize, clause: Clause) {
        assert!(
            clause.providers.iter().all(|&p| p < self.clauses.len()),
            "provider out of range"
        );
        self.clauses[node].push(clause);
    }

    pub fn clauses(&self, node: usize) -> &[Clause] {
        &self.clauses[node]
    }

    pub fn is_blocked(&self, node: usize) -> bool {
        !self.clauses[node].is_empty()
    }
}

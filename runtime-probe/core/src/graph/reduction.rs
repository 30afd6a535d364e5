//! Holt's graph reduction, generalised to AND / OR / k-of-n clauses: which nodes can
//! still make progress.
//!
//! A node is free if it has no clauses, or if each of its clauses has `need` distinct
//! free providers. The free set is the least fixed point of that rule, computed with a
//! worklist: each node becomes free at most once and each clause membership is looked at
//! once, so the cost is **O(V + E)** where E is the total number of providers listed.
//!
//! ```
//! use waitgraph_core::graph::{WaitGraph, Clause, reduction::reduce};
//! let mut g = WaitGraph::new(2);
//! g.block(0, Clause::all([1]));
//! g.block(1, Clause::all([0]));        // AB/BA
//! assert_eq!(reduce(&g), vec![false, false]);
//! ```

use super::WaitGraph;

/// `free[i]` is true when node `i` can make progress.
pub fn reduce(graph: &WaitGraph) -> Vec<bool> {
    let nodes = graph.len();
    // For every provider, the (node, clause) pairs it counts towards.
    let mut feeds: Vec<Vec<(usize, usize)>> = vec![Vec::new(); nodes];
    let mut missing: Vec<Vec<usize>> = Vec::with_capacity(nodes);
    let mut open_clauses: Vec<usize> = Vec::with_capacity(nodes);
    let mut free = vec![false; nodes];
    let mut ready = Vec::new();

    for (node, node_free) in free.iter_mut().enumerate() {
        let clauses = graph.clauses(node);
        let mut open = 0;
        let mut node_missing = Vec::with_capacity(clauses.len());
        for (index, clause) in clauses.iter().enumerate() {
            node_missing.push(clause.need);
            if clause.need > 0 {
                open += 1;
                for &provider in &clause.providers {
                    feeds[provider].push((node, index));
                }
            }
        }
        missing.push(node_missing);
        open_clauses.push(open);
        if open == 0 {
            *node_free = true;
            ready.push(node);
        }
    }

    while let Some(provider) = ready.pop() {
        for &(node, clause) in &feeds[provider] {
            if free[node] {
                continue;
            }
            let left = &mut missing[node][clause];
            if *left == 0 {
                continue;
            }
            *left -= 1;
            if *left == 0 {
                open_clauses[node] -= 1;
                if open_clauses[node] == 0 {
                    free[node] = true;
                    ready.push(node);
                }
            }
        }
    }
    free
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Clause;
    use proptest::prelude::*;

    /// The definition, applied until nothing changes: O(V * (V + E)), obviously right.
    fn reference(graph: &WaitGraph) -> Vec<bool> {
        let mut free = vec![false; graph.len()];
        loop {
            let mut changed = false;
            for node in 0..graph.len() {
                if free[node] {
                    continue;
                }
                let satisfied = graph.clauses(node).iter().all(|clause| {
                    clause.providers.iter().filter(|&&p| free[p]).count() >= clause.need
                });
                if satisfied {
                    free[node] = true;
                    changed = true;
                }
            }
            if !changed {
                return free;
            }
        }
    }

    #[test]
    fn k_of_n_needs_k_distinct_free_providers() {
        let mut g = WaitGraph::new(4);
        g.block(0, Clause::at_least(2, [1, 2, 3]));
        g.block(1, Clause::all([0]));
        g.block(2, Clause::all([0]));
        assert_eq!(reduce(&g), vec![false, false, false, true]);
        // One more free worker is enough.
        let mut g = WaitGraph::new(4);
        g.block(0, Clause::at_least(2, [1, 2, 3]));
        g.block(1, Clause::all([0]));
        assert_eq!(reduce(&g), vec![true, true, true, true]);
    }

    #[test]
    fn a_clause_with_too_few_providers_never_frees() {
        let mut g = WaitGraph::new(2);
        g.block(0, Clause::at_least(3, [1]));
        assert_eq!(reduce(&g), vec![false, true]);
    }

    #[test]
    fn every_clause_of_a_node_must_hold() {
        let mut g = WaitGraph::new(3);
        g.block(0, Clause::any([1]));
        g.block(0, Clause::all([2]));
        g.block(2, Clause::all([0]));
        assert_eq!(reduce(&g), vec![false, true, false]);
    }

    fn arbitrary_graph() -> impl Strategy<Value = WaitGraph> {
        (1usize..12).prop_flat_map(|nodes| {
            let clause = (0usize..4, proptest::collection::vec(0..nodes, 0..5));
            let node_clauses = proptest::collection::vec(clause, 0..3);
            proptest::collection::vec(node_clauses, nodes).prop_map(move |all| {
                let mut g = WaitGraph::new(nodes);
                for (node, clauses) in all.into_iter().enumerate() {
                    for (kind, providers) in clauses {
                        let clause = match kind {
                            0 => Clause::all(providers),
                            1 => Clause::any(providers),
                            k => Clause::at_least(k, providers),
                        };
                        g.block(node, clause);
                    }
                }
                g
            })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn matches_the_definition(g in arbitrary_graph()) {
            prop_assert_eq!(reduce(&g), reference(&g));
        }
    }
}

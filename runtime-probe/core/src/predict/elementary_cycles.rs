//! Elementary cycles of a directed graph, bounded: within each strongly connected
//! component (petgraph's Tarjan), a depth-first search from each node for paths back to
//! it through higher-numbered nodes only, so each cycle is found once, from its smallest
//! node.
//!
//! **O((V + E) · (C + 1))** for C cycles found, with the search cut at `max_len` nodes
//! per cycle and `max_cycles` cycles in all (a class graph can hold exponentially many
//! cycles; the short ones are the ones worth reporting, and they come first per start).
//!
//! ```
//! use petgraph::graphmap::DiGraphMap;
//! use waitgraph_core::predict::elementary_cycles::cycles;
//! let mut g = DiGraphMap::<u32, ()>::new();
//! for (a, b) in [(1, 2), (2, 1), (2, 3), (3, 1), (4, 4)] {
//!     g.add_edge(a, b, ());
//! }
//! let mut found = cycles(&g, 8, 100);
//! found.sort();
//! assert_eq!(found, vec![vec![1, 2], vec![1, 2, 3], vec![4]]);
//! ```

use petgraph::algo::tarjan_scc;
use petgraph::graphmap::{DiGraphMap, NodeTrait};
use std::collections::HashSet;

/// The elementary cycles of `graph` with at most `max_len` nodes, at most `max_cycles`
/// of them, each starting at its smallest node, shortest first.
pub fn cycles<N: NodeTrait + Ord>(
    graph: &DiGraphMap<N, ()>,
    max_len: usize,
    max_cycles: usize,
) -> Vec<Vec<N>> {
    let mut found = Vec::new();
    for component in tarjan_scc(graph) {
        let members: HashSet<N> = component.iter().copied().collect();
        let single_without_loop =
            component.len() == 1 && !graph.contains_edge(component[0], component[0]);
        if single_without_loop {
            continue;
        }
        let mut starts = component.clone();
        starts.sort();
        for &start in &starts {
            let mut path = vec![start];
            search(
                graph, &members, start, &mut path, max_len, max_cycles, &mut found,
            );
            if found.len() >= max_cycles {
                break;
            }
        }
        if found.len() >= max_cycles {
            break;
        }
    }
    found.sort_by_key(|cycle: &Vec<N>| cycle.len());
    found
}

fn search<N: NodeTrait + Ord>(
    graph: &DiGraphMap<N, ()>,
    members: &HashSet<N>,
    start: N,
    path: &mut Vec<N>,
    max_len: usize,
    max_cycles: usize,
    found: &mut Vec<Vec<N>>,
) {
    let last = *path.last().expect("a path starts with its start");
    let mut next: Vec<N> = graph
        .neighbors(last)
        .filter(|n| members.contains(n))
        .collect();
    next.sort();
    for node in next {
        if found.len() >= max_cycles {
            return;
        }
        if node == start {
            found.push(path.clone());
        } else if node > start && !path.contains(&node) && path.len() < max_len {
            path.push(node);
            search(graph, members, start, path, max_len, max_cycles, found);
            path.pop();
        }
    }
}

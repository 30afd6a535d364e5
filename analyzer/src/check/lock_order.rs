//! Cycles in the lock-order graph: a node per lock class, an edge `A → B` where some code
//! takes `B` while it holds `A`. Every cycle is a set of paths that deadlock when threads
//! run them at once.
//!
//! For every edge `A → B` inside a strongly connected component, the shortest path back
//! from `B` to `A` (breadth-first) closes the shortest cycle through that edge; cycles
//! are kept once each (by their set of edges, rotated to start at the smallest class).
//! `O(E · (V + E))`, and at most `limit` cycles.
//!
//! ```
//! use waitgraph_analyzer::check::lock_order::cycles;
//! let edge = |a: &str, b: &str| (a.to_string(), b.to_string());
//! let edges = [edge("a", "b"), edge("b", "c"), edge("c", "a"), edge("a", "d")];
//! let found = cycles(&edges, 10);
//! assert_eq!(found, vec![vec![edge("a", "b"), edge("b", "c"), edge("c", "a")]]);
//! ```

use std::collections::{HashMap, HashSet, VecDeque};

pub type EdgeKey = (String, String);

/// The cycles of the graph given by `edges` (in the order given, which decides which
/// of several equal-length cycles is found first).
pub fn cycles(edges: &[EdgeKey], limit: usize) -> Vec<Vec<EdgeKey>> {
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut names: Vec<&str> = Vec::new();
    for (a, b) in edges {
        for name in [a, b] {
            ids.entry(name).or_insert_with(|| {
                names.push(name);
                names.len() - 1
            });
        }
    }
    let mut graph = petgraph::graph::DiGraph::<(), ()>::new();
    for _ in &names {
        graph.add_node(());
    }
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
    for (a, b) in edges {
        let (a, b) = (ids[a.as_str()], ids[b.as_str()]);
        graph.add_edge(
            petgraph::graph::NodeIndex::new(a),
            petgraph::graph::NodeIndex::new(b),
            (),
        );
        out[a].push(b);
    }
    let mut component = vec![usize::MAX; names.len()];
    for (number, members) in petgraph::algo::tarjan_scc(&graph).into_iter().enumerate() {
        for node in members {
            component[node.index()] = number;
        }
    }
    let mut found = Vec::new();
    let mut known: HashSet<Vec<usize>> = HashSet::new();
    for (a, b) in edges {
        if found.len() >= limit {
            break;
        }
        let (a, b) = (ids[a.as_str()], ids[b.as_str()]);
        if component[a] != component[b] {
            continue;
        }
        let Some(back) = shortest_path(&out, &component, b, a) else {
            continue;
        };
        // The cycle's nodes: a, b, ..., (back to a).
        let mut nodes = vec![a];
        nodes.extend(back.iter().take(back.len() - 1));
        let start = (0..nodes.len())
            .min_by_key(|&i| names[nodes[i]])
            .unwrap_or(0);
        nodes.rotate_left(start);
        if !known.insert(nodes.clone()) {
            continue;
        }
        let cycle = (0..nodes.len())
            .map(|i| {
                (
                    names[nodes[i]].to_string(),
                    names[nodes[(i + 1) % nodes.len()]].to_string(),
                )
            })
            .collect();
        found.push(cycle);
    }
    found
}

/// The nodes of a shortest path `from → .. → to` inside one component (`from` first).
fn shortest_path(
    out: &[Vec<usize>],
    component: &[usize],
    from: usize,
    to: usize,
) -> Option<Vec<usize>> {
    let mut parent: HashMap<usize, usize> = HashMap::new();
    let mut queue = VecDeque::from([from]);
    let mut visited = HashSet::from([from]);
    while let Some(node) = queue.pop_front() {
        if node == to {
            let mut path = vec![to];
            let mut at = to;
            while at != from {
                at = parent[&at];
                path.push(at);
            }
            path.reverse();
            return Some(path);
        }
        for &next in &out[node] {
            if component[next] == component[from] && visited.insert(next) {
                parent.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(a: &str, b: &str) -> EdgeKey {
        (a.to_string(), b.to_string())
    }

    #[test]
    fn an_order_without_a_cycle_has_none() {
        let edges = [edge("a", "b"), edge("b", "c"), edge("a", "c")];
        assert!(cycles(&edges, 10).is_empty());
    }

    #[test]
    fn each_cycle_is_found_once() {
        let edges = [
            edge("b", "a"),
            edge("a", "b"),
            edge("c", "d"),
            edge("d", "c"),
        ];
        let found = cycles(&edges, 10);
        assert_eq!(
            found,
            vec![
                vec![edge("a", "b"), edge("b", "a")],
                vec![edge("c", "d"), edge("d", "c")]
            ]
        );
        assert_eq!(cycles(&edges, 1).len(), 1);
    }
}

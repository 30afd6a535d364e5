//! Among the nodes the [reduction](super::reduction) left stuck: which are deadlocked
//! (on a cycle), which wait for something no node can provide, and which are victims
//! (stuck only because they wait, directly or not, on those).
//!
//! Every stuck node has an unsatisfied clause; its stuck providers are its edges. Each
//! cyclic strongly connected component is one deadlock; the cycle reported is the
//! shortest one through the component's smallest node, so the same graph always gives
//! the same cycle starting at the same node. A stuck node whose unsatisfied clause needs
//! more providers than it lists is a root of its own (an unsatisfiable wait). Every other
//! stuck node reaches a root and is that root's victim (the first root found,
//! breadth-first, in node order).
//!
//! **O(V + E)** for the components and the victims, plus one breadth-first search per
//! deadlock for its cycle.
//!
//! ```
//! use waitgraph_core::graph::{WaitGraph, Clause, reduction::reduce, stuck_cycles::find};
//! let mut g = WaitGraph::new(3);
//! g.block(0, Clause::all([1]));
//! g.block(1, Clause::all([0]));
//! g.block(2, Clause::all([1]));            // 2 waits on the cycle
//! let found = find(&g, &reduce(&g));
//! assert_eq!(found[0].cycle, vec![0, 1]);
//! assert_eq!(found[0].victims, vec![2]);
//! ```

use super::strongly_connected::components;
use super::WaitGraph;
use std::collections::VecDeque;

/// One group of stuck nodes with a common cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stuck {
    /// The cycle, starting at its smallest node, each waiting for the next; a single
    /// node for a self-wait or an unsatisfiable wait.
    pub cycle: Vec<usize>,
    /// Deadlocked nodes of the same component that are not on the reported cycle.
    pub also_deadlocked: Vec<usize>,
    /// Nodes stuck behind this group.
    pub victims: Vec<usize>,
    /// The root is a wait that needs more providers than exist, not a cycle.
    pub unsatisfiable: bool,
}

/// The stuck groups of `graph`, given `free` from [`reduce`](super::reduction::reduce),
/// ordered by their smallest node.
pub fn find(graph: &WaitGraph, free: &[bool]) -> Vec<Stuck> {
    let nodes = graph.len();
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); nodes];
    let mut unsatisfiable = vec![false; nodes];
    for node in (0..nodes).filter(|&n| !free[n]) {
        for clause in graph.clauses(node) {
            let free_providers = clause.providers.iter().filter(|&&p| free[p]).count();
            if free_providers >= clause.need {
                continue;
            }
            if clause.need > clause.providers.len() {
                unsatisfiable[node] = true;
            }
            edges[node].extend(clause.providers.iter().copied().filter(|&p| !free[p]));
        }
        edges[node].sort_unstable();
        edges[node].dedup();
    }

    let (comps, component_of) = components(&edges);
    let mut root_of_node = vec![usize::MAX; nodes];
    let mut groups: Vec<Stuck> = Vec::new();
    let mut roots: Vec<&Vec<usize>> = comps
        .iter()
        .filter(|comp| {
            let first = comp[0];
            !free[first]
                && (comp.len() > 1 || edges[first].contains(&first) || unsatisfiable[first])
        })
        .collect();
    roots.sort_by_key(|comp| comp[0]);
    for comp in roots {
        let start = comp[0];
        let is_cycle = comp.len() > 1 || edges[start].contains(&start);
        let cycle = if is_cycle {
            shortest_cycle(&edges, &component_of, start)
        } else {
            vec![start]
        };
        let also_deadlocked = comp
            .iter()
            .copied()
            .filter(|n| !cycle.contains(n))
            .collect();
        for &member in comp {
            root_of_node[member] = groups.len();
        }
        groups.push(Stuck {
            cycle,
            also_deadlocked,
            victims: Vec::new(),
            unsatisfiable: !is_cycle,
        });
    }

    for node in (0..nodes).filter(|&n| !free[n] && root_of_node[n] == usize::MAX) {
        if let Some(group) = first_root_reached(&edges, &root_of_node, node) {
            groups[group].victims.push(node);
        }
    }
    groups
}

/// The shortest cycle through `start` inside its component.
fn shortest_cycle(edges: &[Vec<usize>], component_of: &[usize], start: usize) -> Vec<usize> {
    let component = component_of[start];
    let mut parent = vec![usize::MAX; edges.len()];
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for &next in &edges[node] {
            if component_of[next] != component {
                continue;
            }
            if next == start {
                let mut cycle = vec![node];
                while *cycle.last().unwrap() != start {
                    cycle.push(parent[*cycle.last().unwrap()]);
                }
                cycle.reverse();
                return cycle;
            }
            if parent[next] == usize::MAX {
                parent[next] = node;
                queue.push_back(next);
            }
        }
    }
    unreachable!("a node of a cyclic component lies on a cycle")
}

fn first_root_reached(edges: &[Vec<usize>], root_of_node: &[usize], from: usize) -> Option<usize> {
    let mut seen = vec![false; edges.len()];
    let mut queue = VecDeque::from([from]);
    seen[from] = true;
    while let Some(node) = queue.pop_front() {
        if root_of_node[node] != usize::MAX {
            return Some(root_of_node[node]);
        }
        for &next in &edges[node] {
            if !seen[next] {
                seen[next] = true;
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::reduction::reduce;
    use crate::graph::Clause;

    fn run(g: &WaitGraph) -> Vec<Stuck> {
        find(g, &reduce(g))
    }

    #[test]
    fn the_cycle_starts_at_the_smallest_node_whatever_the_order_of_edges() {
        let mut g = WaitGraph::new(3);
        g.block(2, Clause::all([0]));
        g.block(0, Clause::all([1]));
        g.block(1, Clause::all([2]));
        let found = run(&g);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].cycle, vec![0, 1, 2]);
        assert!(found[0].victims.is_empty());
    }

    #[test]
    fn a_self_wait_is_a_cycle_of_one() {
        let mut g = WaitGraph::new(2);
        g.block(1, Clause::all([1]));
        let found = run(&g);
        assert_eq!(
            found,
            vec![Stuck {
                cycle: vec![1],
                also_deadlocked: vec![],
                victims: vec![],
                unsatisfiable: false
            }]
        );
    }

    #[test]
    fn the_incident_main_and_the_busy_worker_deadlock_and_the_parked_workers_are_victims() {
        // 0 main: waits for 3 more arrivals from workers {1 busy, 2, 3 parked}... here the
        // parked workers already arrived, so main needs 1 more of the one not arrived.
        let mut g = WaitGraph::new(4);
        g.block(0, Clause::at_least(1, [1]));
        g.block(1, Clause::all([0])); // busy worker waits for the gil main holds
        g.block(2, Clause::at_least(1, [1])); // parked at the barrier
        g.block(3, Clause::at_least(1, [1]));
        let found = run(&g);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].cycle, vec![0, 1]);
        assert_eq!(found[0].victims, vec![2, 3]);
    }

    #[test]
    fn an_unsatisfiable_wait_is_its_own_root() {
        let mut g = WaitGraph::new(3);
        g.block(0, Clause::at_least(2, [1]));
        g.block(1, Clause::all([2]));
        g.block(2, Clause::all([1]));
        let found = run(&g);
        assert_eq!(found.len(), 2);
        assert!(found[0].unsatisfiable);
        assert_eq!(found[0].cycle, vec![0]);
        assert_eq!(found[1].cycle, vec![1, 2]);
    }

    #[test]
    fn members_off_the_short_cycle_are_still_deadlocked() {
        // 0 -> {1 or 2}; 1 -> 0; 2 -> 0: one component, cycle 0-1, 2 also deadlocked.
        let mut g = WaitGraph::new(3);
        g.block(0, Clause::any([1, 2]));
        g.block(1, Clause::all([0]));
        g.block(2, Clause::all([0]));
        let found = run(&g);
        assert_eq!(found[0].cycle, vec![0, 1]);
        assert_eq!(found[0].also_deadlocked, vec![2]);
    }

    #[test]
    fn nothing_is_stuck_when_one_provider_of_an_or_runs() {
        let mut g = WaitGraph::new(3);
        g.block(0, Clause::any([1, 2]));
        g.block(1, Clause::all([0]));
        assert!(run(&g).is_empty());
    }
}

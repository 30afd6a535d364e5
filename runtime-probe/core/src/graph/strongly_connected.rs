//! Strongly connected components, by Tarjan's algorithm with an explicit stack (no
//! recursion, so deep wait chains cannot overflow the watchdog's stack).
//!
//! **O(V + E)** time, O(V) extra space. Components come out in reverse topological
//! order (a component is emitted after every component it reaches).
//!
//! ```
//! use waitgraph_core::graph::strongly_connected::components;
//! let edges = vec![vec![1], vec![0], vec![0]];   // 0 <-> 1, 2 -> 0
//! let (comps, _) = components(&edges);
//! assert_eq!(comps, vec![vec![0, 1], vec![2]]);
//! ```

/// The components of the graph given as adjacency lists, each sorted, and for every
/// node the index of its component.
pub fn components(edges: &[Vec<usize>]) -> (Vec<Vec<usize>>, Vec<usize>) {
    const UNSEEN: usize = usize::MAX;
    let nodes = edges.len();
    let mut index = vec![UNSEEN; nodes];
    let mut low = vec![0; nodes];
    let mut on_stack = vec![false; nodes];
    let mut stack = Vec::new();
    let mut component_of = vec![UNSEEN; nodes];
    let mut components = Vec::new();
    let mut next_index = 0;
    // (node, position in its edge list)
    let mut frames: Vec<(usize, usize)> = Vec::new();

    for root in 0..nodes {
        if index[root] != UNSEEN {
            continue;
        }
        frames.push((root, 0));
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;

        while let Some(&mut (node, ref mut position)) = frames.last_mut() {
            if let Some(&next) = edges[node].get(*position) {
                *position += 1;
                if index[next] == UNSEEN {
                    index[next] = next_index;
                    low[next] = next_index;
                    next_index += 1;
                    stack.push(next);
                    on_stack[next] = true;
                    frames.push((next, 0));
                } else if on_stack[next] {
                    low[node] = low[node].min(index[next]);
                }
                continue;
            }
            frames.pop();
            if let Some(&(parent, _)) = frames.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == index[node] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component_of[member] = components.len();
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                component.sort_unstable();
                components.push(component);
            }
        }
    }
    (components, component_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_cycles_and_singletons() {
        // 0 -> 1 -> 2 -> 0, 2 -> 3, 3 -> 3 (self loop), 4 alone
        let edges = vec![vec![1], vec![2], vec![0, 3], vec![3], vec![]];
        let (comps, of) = components(&edges);
        assert_eq!(comps, vec![vec![3], vec![0, 1, 2], vec![4]]);
        assert_eq!(of[0], of[2]);
        assert_ne!(of[3], of[4]);
    }

    #[test]
    fn a_long_chain_does_not_overflow() {
        let n = 200_000;
        let edges: Vec<Vec<usize>> = (0..n).map(|i| vec![(i + 1) % n]).collect();
        let (comps, _) = components(&edges);
        assert_eq!(comps.len(), 1);
        assert_eq!(comps[0].len(), n);
    }
}

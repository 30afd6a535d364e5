//! Which of the threads a finished trace left waiting could not have gone on: the
//! wait-for graph of the end state, reduced with the watchdog's own code
//! ([`crate::graph::reduction`]). A cycle is `confirmed` only when its threads are
//! stuck here, so a trace finished while a thread merely waited (its provider still
//! running) confirms nothing.
//!
//! | the thread waits for | it can go on if |
//! |---|---|
//! | a lock | every thread holding that instance can (AND) |
//! | a free worker of an executor | one of its workers can (an idle worker can) |
//! | a declared event, a barrier's arrivals | one of the threads that owe it can |
//! | a notification, a send, a job, an exit | one of the threads that produced it before can |
//! | an event that comes from jobs of an executor (or is fed by one) | also, one of that executor's workers can |
//! | nothing known | it may be satisfied: it is not stuck |
//!
//! Providers are looked for among the threads of the waiting thread's own trace (traces
//! analysed together are separate runs). Timed waits and threads not waiting can go on. **O(T + W)** for T threads and W
//! providers, plus the reduction's O(V + E).

use super::classes::Node;
use super::dependency_graph::Owed;
use super::{OpenWait, Predictor};
use crate::graph::reduction::reduce;
use crate::graph::{Clause, WaitGraph};
use crate::model::ThreadKey;
use std::collections::{HashMap, HashSet};

/// The threads of `blocked` that cannot go on.
pub(super) fn stuck(p: &Predictor, blocked: &[(ThreadKey, OpenWait)]) -> HashSet<ThreadKey> {
    let keys: Vec<ThreadKey> = p.threads.keys().copied().collect();
    let index: HashMap<ThreadKey, usize> = keys.iter().enumerate().map(|(i, &k)| (k, i)).collect();
    let mut graph = WaitGraph::new(keys.len());
    for (thread, open) in blocked {
        let Some(node) = open.node else { continue };
        if open.timed {
            continue;
        }
        // Only threads of the same run (traces analysed together are separate runs).
        let run = p.threads[thread].trace;
        let same_run = |key: &ThreadKey| p.threads[key].trace == run;
        let clause = match node {
            Node::Release(..) => {
                let holders: Vec<usize> = p
                    .threads
                    .iter()
                    .filter(|(key, state)| {
                        same_run(key) && state.held.iter().any(|h| h.resource == open.resource)
                    })
                    .map(|(key, _)| index[key])
                    .collect();
                (!holders.is_empty()).then(|| Clause::all(holders))
            }
            _ => {
                let mut providers = owers(p, node);
                // What the event needs first (a job picked up, a fed barrier's workers).
                for next in p.graph.graph.neighbors(node) {
                    let through_work = p.graph.evidence(node, next).iter().any(|e| {
                        matches!(e.owed, Owed::InJob { .. } | Owed::Declared | Owed::QueuedTo)
                    });
                    if through_work {
                        providers.extend(owers(p, next));
                    }
                }
                let providers: Vec<usize> = providers
                    .iter()
                    .filter(|k| same_run(k))
                    .map(|k| index[k])
                    .collect();
                (!providers.is_empty()).then(|| Clause::any(providers))
            }
        };
        if let Some(clause) = clause {
            graph.block(index[thread], clause);
        }
    }
    let progress = reduce(&graph);
    blocked
        .iter()
        .map(|(thread, _)| *thread)
        .filter(|thread| !progress[index[thread]])
        .collect()
}

/// The threads that owe `node` now, or produced it before.
fn owers(p: &Predictor, node: Node) -> HashSet<ThreadKey> {
    p.threads
        .iter()
        .filter(|(_, state)| match node {
            Node::Free(executor) => {
                state.busy.is_some_and(|(e, _)| e == executor) || state.idle == Some(executor)
            }
            // Only the thread itself ends by exiting.
            Node::Exit(class) => {
                state.name.as_deref() == Some(p.classes.info(class).label.as_str())
            }
            _ => {
                state.producing.iter().any(|&(_, owed, _)| owed == node)
                    || state.produced.contains_key(&node)
            }
        })
        .map(|(&key, _)| key)
        .collect()
}

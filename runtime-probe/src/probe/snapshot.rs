//! One scan: the live registry turned into a wait-for graph, reduced, and its stuck
//! groups described as findings.

use super::providers::{Provision, ThreadView, World};
use crate::graph::reduction::reduce;
use crate::graph::stuck_cycles::{find, Stuck};
use crate::graph::{Clause, WaitGraph};
use crate::model::{Site, ThreadKey};
use crate::report::{Finding, FindingKind, Held, Severity, Step, WaitsFor};
use std::borrow::Cow;
use std::time::Instant;

/// A scan's result: what it saw, and what is stuck.
pub struct Scan {
    pub world: World,
    pub provisions: Vec<Provision>,
    pub groups: Vec<Stuck>,
    pub taken: Instant,
}

impl Scan {
    pub fn take() -> Scan {
        Scan::of(World::observe())
    }

    pub fn of(world: World) -> Scan {
        let provisions: Vec<Provision> = world.threads.iter().map(|t| world.provision(t)).collect();
        let mut graph = WaitGraph::new(world.threads.len());
        for (node, provision) in provisions.iter().enumerate() {
            let Provision::Needs(clauses) = provision else {
                continue;
            };
            let mut mapped = Vec::with_capacity(clauses.len());
            for (need, providers) in clauses {
                // A provider the scan did not see (exited, never instrumented) may end
                // the wait: count it as free by lowering what the clause needs.
                let known: Vec<usize> = providers
                    .iter()
                    .filter_map(|&p| world.index_of(p))
                    .collect();
                let unseen = providers.len() - known.len();
                mapped.push(Clause::at_least(need.saturating_sub(unseen), known));
            }
            for clause in mapped {
                graph.block(node, clause);
            }
        }
        let free = reduce(&graph);
        let groups = find(&graph, &free);
        Scan {
            world,
            provisions,
            groups,
            taken: Instant::now(),
        }
    }

    pub fn thread(&self, node: usize) -> &ThreadView {
        &self.world.threads[node]
    }

    /// Holds left out of full held-lock tables, over every thread seen (a probe error).
    pub fn held_overflow(&self) -> usize {
        self.world
            .threads
            .iter()
            .map(|t| t.slot.held_overflow())
            .sum()
    }

    /// The (thread, wait epoch) pairs a group's verdict rests on.
    pub fn fingerprint(&self, group: &Stuck) -> Vec<(ThreadKey, u64)> {
        let mut nodes: Vec<usize> = group
            .cycle
            .iter()
            .chain(&group.also_deadlocked)
            .copied()
            .collect();
        nodes.sort_unstable();
        nodes
            .into_iter()
            .map(|n| {
                let thread = self.thread(n);
                (thread.key(), thread.wait.map_or(0, |w| w.epoch))
            })
            .collect()
    }

    /// The keys of every thread currently blocked with its wait epoch.
    pub fn epochs(&self) -> impl Iterator<Item = (ThreadKey, u64)> + '_ {
        self.world
            .threads
            .iter()
            .filter_map(|t| t.wait.map(|w| (t.key(), w.epoch)))
    }

    /// Describes one blocked thread.
    pub fn step(&self, node: usize, with_backtrace: bool) -> Step {
        let thread = self.thread(node);
        let contexts = thread.slot.contexts();
        let (waits_for, site, waited_ms) = match &thread.wait {
            Some(wait) => {
                let (resource, kind, created) = match self.world.entry(wait.resource) {
                    Some(entry) => (
                        self.world.label(wait.resource),
                        entry.info.kind.as_str().to_string(),
                        Some(entry.info.created.clone()),
                    ),
                    None => (
                        format!("resource #{}", wait.resource.0),
                        "unknown".to_string(),
                        None,
                    ),
                };
                let mut site = Site::from_location(wait.site);
                site.function = contexts.last().map(|c| c.name.clone());
                let waited = self.taken.saturating_duration_since(wait.since).as_millis() as u64;
                (
                    WaitsFor {
                        resource,
                        kind,
                        wait: wait.kind.as_str().to_string(),
                        created,
                    },
                    Some(site),
                    Some(waited),
                )
            }
            None => (
                WaitsFor {
                    resource: "nothing".into(),
                    kind: "running".into(),
                    wait: "running".into(),
                    created: None,
                },
                None,
                None,
            ),
        };
        let holds = thread
            .held
            .iter()
            .map(|held| Held {
                resource: self.world.label(held.resource),
                mode: held.mode.as_str().to_string(),
                site: held.site.map(Site::from_location),
            })
            .collect();
        let blocked_by = match &self.provisions[node] {
            Provision::Needs(clauses) => {
                let mut names: Vec<String> = clauses
                    .iter()
                    .flat_map(|(_, providers)| providers)
                    .filter_map(|&p| self.world.index_of(p))
                    .map(|i| self.thread(i).slot.display_name())
                    .collect();
                names.dedup();
                names
            }
            _ => Vec::new(),
        };
        Step {
            thread: thread.slot.display_name(),
            thread_key: Some(thread.key().0),
            waits_for,
            holds,
            site,
            blocked_by,
            waited_ms,
            context: contexts.iter().map(|c| c.name.to_string()).collect(),
            backtrace: if with_backtrace {
                thread.slot.backtrace().map(|b| b.to_string())
            } else {
                None
            },
            event: None,
        }
    }

    /// A stuck group as a finding.
    pub fn deadlock_finding(&self, group: &Stuck, confirmed: bool) -> Finding {
        let cycle: Vec<Step> = group.cycle.iter().map(|&n| self.step(n, true)).collect();
        let also_deadlocked: Vec<Step> = group
            .also_deadlocked
            .iter()
            .map(|&n| self.step(n, false))
            .collect();
        let victims: Vec<Step> = group.victims.iter().map(|&n| self.step(n, false)).collect();
        let summary = if group.unsatisfiable {
            format!(
                "thread `{}` waits for `{}`, which no live thread can provide",
                cycle[0].thread, cycle[0].waits_for.resource
            )
        } else if cycle.len() == 1 && !group.also_deadlocked.is_empty() {
            format!(
                "{} threads wait on each other: each waits for `{}`, which only these threads can provide",
                1 + group.also_deadlocked.len(),
                cycle[0].waits_for.resource
            )
        } else if cycle.len() == 1 {
            format!(
                "thread `{}` waits for `{}`, which only it can provide",
                cycle[0].thread, cycle[0].waits_for.resource
            )
        } else {
            let names: Vec<Cow<str>> = cycle
                .iter()
                .map(|s| Cow::Borrowed(s.thread.as_str()))
                .collect();
            format!(
                "{} threads wait on each other in a cycle: {}",
                cycle.len(),
                names.join(" -> ")
            )
        };
        Finding {
            kind: FindingKind::Deadlock,
            severity: Severity::Error,
            confirmed,
            summary,
            cycle,
            also_deadlocked,
            victims,
            scenario: Vec::new(),
        }
    }
}

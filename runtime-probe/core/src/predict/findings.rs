//! From the dependency graph to findings: the cycles that can close (the filters in the
//! module docs), told step by step with an interleaving that would hang; double locks;
//! waits under a lock; waits nothing could end.

use super::classes::{ClassId, Node};
use super::dependency_graph::{Evidence, Owed};
use super::elementary_cycles::cycles;
use super::{OpenWait, Predictor, MAX_CYCLE, MAX_CYCLES};
use crate::model::{LockMode, ThreadKey, WaitKind};
use crate::report::{Finding, FindingKind, Held, Severity, Step, WaitsFor};
use std::collections::{BTreeSet, HashSet};

/// How many findings of each kind are reported at most.
const MAX_FINDINGS: usize = 64;
/// How many choices of evidence are tried per cycle.
const MAX_CHOICES: usize = 512;

/// An edge of a cycle with the evidence chosen for it.
struct Link<'p> {
    from: Node,
    to: Node,
    evidence: &'p Evidence,
}

fn blocking(evidence: &Evidence) -> bool {
    matches!(
        evidence.owed,
        Owed::Hold { .. } | Owed::Work | Owed::Produced { .. } | Owed::Producer { .. }
    )
}

pub(super) fn report(p: &Predictor, blocked: &[(ThreadKey, OpenWait)]) -> Vec<Finding> {
    // Only the threads that could not go on are where the run hung.
    let stuck = super::stuck_at_end::stuck(p, blocked);
    let left_waiting = blocked;
    let stuck: Vec<(ThreadKey, OpenWait)> = blocked
        .iter()
        .filter(|(thread, _)| stuck.contains(thread))
        .cloned()
        .collect();
    let blocked = stuck.as_slice();
    let mut findings = Vec::new();
    let mut reported: Vec<BTreeSet<Node>> = Vec::new();
    let mut on_cycles: HashSet<Node> = HashSet::new();
    for cycle in cycles(&p.graph.graph, MAX_CYCLE, MAX_CYCLES) {
        if findings.len() >= MAX_FINDINGS {
            break;
        }
        let nodes: BTreeSet<Node> = cycle.iter().copied().collect();
        if reported.iter().any(|smaller| smaller.is_subset(&nodes)) {
            continue;
        }
        let Some(links) = choose(p, &cycle) else {
            continue;
        };
        if pool_feeds_its_own_barrier(p, &links) {
            continue;
        }
        on_cycles.extend(nodes.iter().copied());
        reported.push(nodes);
        findings.push(cycle_finding(p, &links, blocked));
    }
    findings.extend(double_locks(p, blocked));
    findings.extend(under_lock(p, &on_cycles));
    // Whether anything later could have ended a wait is about the trace, not about who
    // was stuck: every wait it ended in counts.
    findings.extend(orphaned(p, left_waiting, &findings));
    findings
}

/// Picks one piece of evidence per edge so that the cycle can close, or `None`.
fn choose<'p>(p: &'p Predictor, cycle: &[Node]) -> Option<Vec<Link<'p>>> {
    let edges: Vec<(Node, Node, &[Evidence])> = (0..cycle.len())
        .map(|i| {
            let (from, to) = (cycle[i], cycle[(i + 1) % cycle.len()]);
            (from, to, p.graph.evidence(from, to))
        })
        .collect();
    let mut chosen: Vec<&Evidence> = Vec::new();
    let mut tries = 0;
    let mut best: Option<Vec<&Evidence>> = None;
    search(p, &edges, &mut chosen, &mut tries, &mut best);
    let chosen = best?;
    Some(
        edges
            .iter()
            .zip(chosen)
            .map(|(&(from, to, _), evidence)| Link { from, to, evidence })
            .collect(),
    )
}

/// Depth-first over the evidence of each edge; keeps the first full choice that passes,
/// preferring untimed waits (tried first).
fn search<'p>(
    p: &Predictor,
    edges: &[(Node, Node, &'p [Evidence])],
    chosen: &mut Vec<&'p Evidence>,
    tries: &mut usize,
    best: &mut Option<Vec<&'p Evidence>>,
) {
    if best.as_ref().is_some_and(|b| !b.iter().any(|e| e.timed)) || *tries >= MAX_CHOICES {
        return;
    }
    let index = chosen.len();
    if index == edges.len() {
        *tries += 1;
        let timed = chosen.iter().any(|e| e.timed);
        if can_close(p, edges, chosen)
            && best
                .as_ref()
                .is_none_or(|b| b.iter().any(|e| e.timed) && !timed)
        {
            *best = Some(chosen.clone());
        }
        return;
    }
    let mut options: Vec<&Evidence> = edges[index].2.iter().collect();
    options.sort_by_key(|e| e.timed);
    for evidence in options {
        // A thread blocks in one wait at a time.
        if blocking(evidence)
            && chosen
                .iter()
                .any(|c| blocking(c) && c.thread == evidence.thread && c.seq != evidence.seq)
        {
            continue;
        }
        chosen.push(evidence);
        search(p, edges, chosen, tries, best);
        chosen.pop();
    }
}

fn can_close(p: &Predictor, edges: &[(Node, Node, &[Evidence])], chosen: &[&Evidence]) -> bool {
    let waits: Vec<&Evidence> = chosen.iter().copied().filter(|e| blocking(e)).collect();
    let threads: BTreeSet<ThreadKey> = waits.iter().map(|e| e.thread).collect();
    let through_executor = edges
        .iter()
        .any(|(from, _, _)| matches!(from, Node::Free(_) | Node::Job(_)));
    if waits.is_empty() || (threads.len() < 2 && !through_executor) {
        return false;
    }
    // Waits ordered by a fork or a join never overlap.
    for (i, a) in waits.iter().enumerate() {
        for b in &waits[i + 1..] {
            if a.thread != b.thread
                && (p.order.ordered((a.thread, a.seq), (b.thread, b.since))
                    || p.order.ordered((b.thread, b.seq), (a.thread, a.since)))
            {
                return false;
            }
        }
    }
    // A free worker is missing only when every worker runs a job stuck on the cycle:
    // a pool with more workers than the run's jobs that waited for the cycle's events
    // always has one left.
    // (Not through a barrier: its arrivals hold workers too, while they wait at it.)
    let nodes: Vec<Node> = edges.iter().map(|&(from, _, _)| from).collect();
    let through_barrier = nodes.iter().any(|node| matches!(node, Node::Arrive(_)));
    for &(from, _, _) in edges.iter().filter(|_| !through_barrier) {
        if let Node::Free(executor) = from {
            let workers = p.classes.info(executor).workers.len();
            let stuck_runs: std::collections::HashSet<(ThreadKey, u64)> = nodes
                .iter()
                .filter_map(|&node| p.busy_waits.get(&(executor, node)))
                .flatten()
                .copied()
                .collect();
            if workers > 0 && stuck_runs.len() < workers {
                return false;
            }
        }
    }
    // One lock held by every waiting thread around its wait lets one in at a time.
    if threads.len() >= 2 {
        let mut common: Option<BTreeSet<_>> = None;
        for wait in &waits {
            let gates: BTreeSet<_> = wait.gates.iter().copied().collect();
            common = Some(match common {
                None => gates,
                Some(c) => c.intersection(&gates).copied().collect(),
            });
        }
        if common.is_some_and(|c| !c.is_empty()) {
            return false;
        }
    }
    true
}

/// A pool whose jobs arrive at a barrier and wait there: it can only hang if the
/// barrier needs more arrivals than the pool has workers (unknown parties: no report).
fn pool_feeds_its_own_barrier(p: &Predictor, links: &[Link]) -> bool {
    let [a, b] = links else { return false };
    let (free, arrive) = match (a.from, b.from) {
        (Node::Free(e), Node::Arrive(bar)) | (Node::Arrive(bar), Node::Free(e)) => (e, bar),
        _ => return false,
    };
    let parties = p.classes.info(arrive).parties;
    let workers = p.classes.info(free).workers.len() as u64;
    parties == 0 || parties <= workers
}

fn label(p: &Predictor, class: ClassId) -> String {
    p.classes.info(class).label.clone()
}

fn node_class(node: Node) -> ClassId {
    super::classes::Classes::class_of(node)
}

fn wait_kind_of(node: Node) -> &'static str {
    match node {
        Node::Release(..) => "lock",
        Node::Free(_) => "job-wait",
        Node::Arrive(_) => "barrier-wait",
        Node::Notify(_) => "condvar-wait",
        Node::Send(_) => "recv",
        Node::Job(_) => "job-wait",
        Node::Exit(_) => "join",
        Node::Event(_) => "event-wait",
    }
}

/// What the thread owed while it waited, in words.
fn owed_words(p: &Predictor, from: Node, evidence: &Evidence) -> String {
    match (&evidence.owed, from) {
        (Owed::Hold { mode, .. }, Node::Release(class, _)) => match mode {
            LockMode::Exclusive => format!("holding `{}`", label(p, class)),
            mode => format!("holding `{}` ({})", label(p, class), mode.as_str()),
        },
        (Owed::Work, Node::Free(class)) => format!("running a job of `{}`", label(p, class)),
        (Owed::Producer { .. }, node) => {
            format!("which is to give {}", p.classes.describe_node(node))
        }
        (Owed::Produced { .. }, node) => {
            format!("before it gives {}", p.classes.describe_node(node))
        }
        _ => p.classes.describe_node(from),
    }
}

fn site_words(evidence: &Evidence) -> String {
    match &evidence.site {
        Some(site) => format!(" at {site}"),
        None => String::new(),
    }
}

fn step(p: &Predictor, link: &Link, next: Option<String>) -> Step {
    let e = link.evidence;
    let target = node_class(link.to);
    let info = p.classes.info(target);
    let mut holds = Vec::new();
    if let Owed::Hold { mode, site, .. } = &e.owed {
        holds.push(Held {
            resource: label(p, node_class(link.from)),
            mode: mode.as_str().to_string(),
            site: site.clone(),
        });
    }
    Step {
        thread: p.thread_name(e.thread),
        thread_key: Some(e.thread.0),
        waits_for: WaitsFor {
            resource: info.label.clone(),
            kind: info.kind.as_str().to_string(),
            wait: if e.wait == "produce" {
                wait_kind_of(link.to).to_string()
            } else {
                e.wait.to_string()
            },
            created: info.created.clone(),
        },
        holds,
        site: e.site.clone(),
        blocked_by: next.into_iter().collect(),
        waited_ms: None,
        context: e.context.clone(),
        backtrace: None,
        event: Some(e.seq),
    }
}

fn cycle_finding(p: &Predictor, links: &[Link], blocked: &[(ThreadKey, OpenWait)]) -> Finding {
    let waits: Vec<&Link> = links.iter().filter(|l| blocking(l.evidence)).collect();
    let names: Vec<String> = waits
        .iter()
        .map(|l| p.thread_name(l.evidence.thread))
        .collect();
    let cycle: Vec<Step> = waits
        .iter()
        .enumerate()
        .map(|(i, link)| step(p, link, Some(names[(i + 1) % names.len()].clone())))
        .collect();
    let executors: Vec<String> = links
        .iter()
        .filter_map(|l| match l.from {
            Node::Free(class) => Some(format!("`{}`", label(p, class))),
            _ => None,
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let kind = if !executors.is_empty() || links.iter().any(|l| matches!(l.from, Node::Job(_))) {
        FindingKind::QueuedWorkSelfStall
    } else if links.iter().all(|l| matches!(l.from, Node::Release(..))) {
        FindingKind::LockOrderInversion
    } else {
        FindingKind::PotentialDeadlock
    };
    let timed = links.iter().any(|l| l.evidence.timed);
    let confirmed = !timed
        && waits.iter().all(|link| {
            blocked.iter().any(|(thread, open)| {
                *thread == link.evidence.thread
                    && open
                        .node
                        .is_some_and(|n| node_class(n) == node_class(link.to))
            })
        });
    // The story, one clause per edge.
    let clauses: Vec<String> = links
        .iter()
        .map(|link| {
            let e = link.evidence;
            match &e.owed {
                Owed::InJob { site, .. } => format!(
                    "{} comes from jobs of `{}`{}",
                    p.classes.describe_node(link.from),
                    label(p, node_class(link.to)),
                    site.as_ref().map(|s| format!(" ({s})")).unwrap_or_default()
                ),
                Owed::QueuedTo | Owed::Declared => format!(
                    "{} needs {}",
                    p.classes.describe_node(link.from),
                    p.classes.describe_node(link.to)
                ),
                _ => format!(
                    "`{}` ({}) waits for {}",
                    p.thread_name(e.thread),
                    owed_words(p, link.from, e),
                    p.classes.describe_node(link.to)
                ),
            }
        })
        .collect();
    let what = match kind {
        FindingKind::QueuedWorkSelfStall => {
            format!("a cycle through work queued to {}", executors.join(", "))
        }
        FindingKind::LockOrderInversion => "locks taken in orders that form a cycle".to_string(),
        _ => "waits that form a cycle".to_string(),
    };
    let how = if confirmed {
        "; this run hung in it"
    } else if timed {
        "; a wait on it times out, so it stalls rather than hangs"
    } else {
        "; this run did not hang, another interleaving can"
    };
    let summary = format!("{what}: {}{how}", clauses.join("; "));
    Finding {
        kind,
        severity: if timed {
            Severity::Warning
        } else {
            Severity::Error
        },
        confirmed,
        summary,
        cycle,
        also_deadlocked: Vec::new(),
        victims: Vec::new(),
        scenario: scenario(p, links),
    }
}

/// An interleaving that hangs: every thread gets what it owes first, then each waits.
fn scenario(p: &Predictor, links: &[Link]) -> Vec<String> {
    let mut lines = Vec::new();
    for link in links.iter().filter(|l| blocking(l.evidence)) {
        let e = link.evidence;
        let thread = p.thread_name(e.thread);
        match (&e.owed, link.from) {
            (Owed::Hold { site, .. }, Node::Release(class, _)) => lines.push(format!(
                "`{thread}` takes `{}`{}",
                label(p, class),
                site.as_ref()
                    .map(|s| format!(" at {s}"))
                    .unwrap_or_default()
            )),
            (Owed::Work, Node::Free(class)) => {
                lines.push(format!("`{thread}` starts a job of `{}`", label(p, class)))
            }
            (Owed::Producer { .. }, node) => lines.push(format!(
                "`{thread}` is to give {}",
                p.classes.describe_node(node)
            )),
            _ => {}
        }
    }
    for link in links {
        let e = link.evidence;
        let thread = p.thread_name(e.thread);
        let line = match &e.owed {
            Owed::InJob { .. } => format!(
                "{} can only come from a job of `{}`, and no worker of it is free",
                p.classes.describe_node(link.from),
                label(p, node_class(link.to))
            ),
            Owed::QueuedTo => format!(
                "{} needs {}",
                p.classes.describe_node(link.from),
                p.classes.describe_node(link.to)
            ),
            Owed::Declared => format!(
                "{} can only come from jobs of `{}` (declared), and no worker of it is free",
                p.classes.describe_node(link.from),
                label(p, node_class(link.to))
            ),
            Owed::Produced { .. } => format!(
                "`{thread}` waits for {}{} before it would give {}",
                p.classes.describe_node(link.to),
                site_words(e),
                p.classes.describe_node(link.from)
            ),
            _ => format!(
                "`{thread}` waits ({}) for {}{}",
                e.wait,
                p.classes.describe_node(link.to),
                site_words(e)
            ),
        };
        lines.push(line);
    }
    lines.push(if links.iter().any(|l| l.evidence.timed) {
        "none of them can go on until a timed wait gives up: each waits for what the next one owes"
            .to_string()
    } else {
        "none of them can go on: each waits for what the next one owes".to_string()
    });
    lines
        .into_iter()
        .enumerate()
        .map(|(i, line)| format!("{}. {line}", i + 1))
        .collect()
}

fn double_locks(p: &Predictor, blocked: &[(ThreadKey, OpenWait)]) -> Vec<Finding> {
    let mut seen = HashSet::new();
    let mut findings = Vec::new();
    for (thread, hold, evidence) in &p.double_locks {
        if !seen.insert((hold.class, evidence.site.clone())) || findings.len() >= MAX_FINDINGS {
            continue;
        }
        let name = p.thread_name(*thread);
        let lock = label(p, hold.class);
        let confirmed = blocked.iter().any(|(t, open)| {
            t == thread
                && open.resource == hold.resource
                && matches!(open.kind, WaitKind::Lock(_) | WaitKind::ReadRecursive)
        });
        let link = Link {
            from: Node::Release(hold.class, hold.mode),
            to: Node::Release(hold.class, hold.mode),
            evidence,
        };
        let mut step = step(p, &link, Some(name.clone()));
        step.holds = vec![Held {
            resource: lock.clone(),
            mode: hold.mode.as_str().to_string(),
            site: hold.site.clone(),
        }];
        findings.push(Finding {
            kind: FindingKind::DoubleLock,
            severity: Severity::Error,
            confirmed,
            summary: format!(
                "{}{}",
                double_lock_words(&name, &lock, hold, evidence),
                if confirmed {
                    "; this run hung in it"
                } else {
                    ""
                }
            ),
            cycle: vec![step],
            also_deadlocked: Vec::new(),
            victims: Vec::new(),
            scenario: Vec::new(),
        });
    }
    findings
}

fn double_lock_words(name: &str, lock: &str, hold: &super::Hold, evidence: &Evidence) -> String {
    let taken = hold
        .site
        .as_ref()
        .map(|s| format!(" at {s}"))
        .unwrap_or_default();
    if hold.mode == LockMode::Shared {
        format!(
            "`{name}` reads `{lock}`{} again while it reads it (since{taken}): a writer queued in between waits for `{name}`, and `{name}` waits behind the writer",
            site_words(evidence)
        )
    } else {
        format!(
            "`{name}` takes `{lock}`{} while it holds it (taken{taken}): it waits for itself",
            site_words(evidence)
        )
    }
}

fn under_lock(p: &Predictor, on_cycles: &HashSet<Node>) -> Vec<Finding> {
    p.under_lock
        .iter()
        .filter(|((class, target), _)| {
            !(on_cycles.contains(target)
                && on_cycles.contains(&Node::Release(*class, LockMode::Exclusive)))
        })
        .take(MAX_FINDINGS)
        .map(|((class, target), evidence)| {
            let name = p.thread_name(evidence.thread);
            let link = Link {
                from: Node::Release(*class, LockMode::Exclusive),
                to: *target,
                evidence,
            };
            Finding {
                kind: FindingKind::BlockingUnderLock,
                severity: Severity::Warning,
                confirmed: false,
                summary: format!(
                    "`{name}` waits ({}) for {}{} while holding `{}`: every thread that needs `{}` waits as long",
                    evidence.wait,
                    p.classes.describe_node(*target),
                    site_words(evidence),
                    label(p, *class),
                    label(p, *class)
                ),
                cycle: vec![step(p, &link, None)],
                also_deadlocked: Vec::new(),
                victims: Vec::new(),
                scenario: Vec::new(),
            }
        })
        .collect()
}

fn orphaned(p: &Predictor, blocked: &[(ThreadKey, OpenWait)], found: &[Finding]) -> Vec<Finding> {
    let on_confirmed: HashSet<u64> = found
        .iter()
        .filter(|f| f.confirmed)
        .flat_map(|f| f.cycle.iter().filter_map(|s| s.thread_key))
        .collect();
    let mut findings = Vec::new();
    for (thread, open) in blocked {
        // A timed wait ends by itself: never orphaned.
        if on_confirmed.contains(&thread.0) || open.kind != WaitKind::Condvar || open.timed {
            continue;
        }
        let later = p
            .last_signal
            .get(&open.resource)
            .is_some_and(|&at| at > open.seq);
        if later {
            continue;
        }
        let Some(node) = open.node else { continue };
        let name = p.thread_name(*thread);
        let state = &p.threads[thread];
        let step = Step {
            thread: name.clone(),
            thread_key: Some(thread.0),
            waits_for: WaitsFor {
                resource: label(p, node_class(node)),
                kind: p.classes.info(node_class(node)).kind.as_str().to_string(),
                wait: open.kind.as_str().to_string(),
                created: p.classes.info(node_class(node)).created.clone(),
            },
            holds: Vec::new(),
            site: None,
            blocked_by: Vec::new(),
            waited_ms: None,
            context: state.contexts.clone(),
            backtrace: None,
            event: Some(open.seq),
        };
        findings.push(Finding {
            kind: FindingKind::OrphanedWait,
            severity: Severity::Error,
            confirmed: true,
            summary: format!(
                "`{name}` was still waiting for {} when the trace ended, and nothing notified it after its wait began",
                p.classes.describe_node(node)
            ),
            cycle: vec![step],
            also_deadlocked: Vec::new(),
            victims: Vec::new(),
            scenario: Vec::new(),
        });
    }
    findings
}

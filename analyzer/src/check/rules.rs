//! The rules: from the walked bodies and their summaries to findings in the one model.
//!
//! | rule | kind | severity |
//! |---|---|---|
//! | a lock taken again by its holder (directly or through calls) | `double-lock` | error (read then read on an `RwLock` that has writers: warning) |
//! | locks taken in orders that form a cycle (any length) | `lock-order-inversion` | error |
//! | a condvar wait holding a lock that a function notifying that condvar takes first | `blocking-under-lock` | error |
//! | `recv`, `join`, `sleep`, a barrier's `wait`, `block_on`, rayon's `install`/`join`/`scope` with a lock held | `blocking-under-lock` | warning |
//! | a wait on a condvar that nothing in the checked code notifies | `orphaned-wait` | warning |
//! | an untimed condvar wait outside a loop; a notify by code that never takes the waiters' mutex | `condvar-misuse` | warning |
//! | waiting, with a lock held, for work queued to an executor whose workers take that lock | `queued-work-self-stall` | error (a bounded wait: warning) |
//! | a worker of an executor waiting for work it queued to the same executor | `queued-work-self-stall` | warning |
//!
//! Identity the walk could not resolve makes no edge: a guess would be a false alarm.

use super::call_graph::{into_caller, Await, CallPath, Reached, Summary};
use super::facts::{Body, Event, Held, LockRef, Mode, Place, Span};
use super::index::LockKind;
use std::collections::{BTreeSet, HashMap, HashSet};
use waitgraph_core::model::Site;
use waitgraph_core::report::{Finding, FindingKind, Severity, Step, WaitsFor};

/// A call's receiver and arguments, as its caller names them.
type CallSite<'a> = (Option<&'a Place>, &'a [Option<Place>]);
/// A blocking call seen from a body: what, where, the calls on the way, the locks held.
type Blocked<'h> = (&'static str, Span, CallPath, &'h [Held]);
/// A lock a body takes before some point: the lock, how, where, the calls on the way.
type Taken = (LockRef, Mode, Span, CallPath);
/// A body that notifies a condvar: the body, what it took before, the notify's site.
type Notifier = (usize, Vec<Taken>, Span);

/// At most this many places are kept per ordered pair of lock classes.
const EVIDENCE: usize = 8;

/// At most this many lock-order cycles are reported (the shortest per pair of edges).
pub const MAX_CYCLES: usize = 100;

pub struct Rules<'a> {
    pub bodies: &'a [Body],
    pub summaries: &'a [Summary],
    pub by_function: &'a HashMap<usize, usize>,
    /// Display paths of the checked files.
    pub files: &'a [String],
}

/// One observation: `body` takes `lock` (at `site`, through `path`) while holding `held`.
struct Taking<'a> {
    body: usize,
    /// Where in the body's events: the acquire, or the call that leads to it.
    pos: usize,
    held: &'a [Held],
    lock: LockRef,
    mode: Mode,
    site: Span,
    path: CallPath,
}

impl Taking<'_> {
    /// The order this taking makes after `held`, one of the locks it holds.
    fn edge(&self, held: &Held) -> Edge {
        Edge {
            body: self.body,
            pos: self.pos,
            held: held.clone(),
            lock: self.lock.clone(),
            mode: self.mode,
            site: self.site,
            path: self.path.clone(),
        }
    }
}

/// One ordered pair of lock classes, and a place it was seen.
#[derive(Clone)]
struct Edge {
    body: usize,
    pos: usize,
    held: Held,
    lock: LockRef,
    mode: Mode,
    site: Span,
    path: CallPath,
}

impl Rules<'_> {
    pub fn findings(&self) -> Vec<Finding> {
        let takings = self.takings();
        // Per lock class, the bodies that write it: a read-read stalls only behind a
        // writer that another body (another thread) queues.
        let mut writers: HashMap<&str, HashSet<usize>> = HashMap::new();
        let direct = self.bodies.iter().enumerate().flat_map(|(body, b)| {
            b.events.iter().filter_map(move |e| match e {
                Event::Acquire {
                    lock,
                    mode: Mode::Exclusive,
                    ..
                } => Some((lock.class.as_str(), body)),
                _ => None,
            })
        });
        let through_calls = takings
            .iter()
            .filter(|t| t.mode == Mode::Exclusive)
            .map(|t| (t.lock.class.as_str(), t.body));
        for (class, body) in direct.chain(through_calls) {
            writers.entry(class).or_default().insert(body);
        }
        let mut findings = Vec::new();
        let mut seen = HashSet::new();
        // Each ordered pair of classes with up to `EVIDENCE` places it was seen: a cycle
        // needs places that can run at the same time.
        let mut edges: HashMap<(String, String), Vec<Edge>> = HashMap::new();
        let mut edge_order: Vec<(String, String)> = Vec::new();
        let mut add_edge = |edge: Edge| {
            let key = (edge.held.lock.class.clone(), edge.lock.class.clone());
            let seen = edges.entry(key.clone()).or_default();
            if seen.is_empty() {
                edge_order.push(key);
            }
            if seen.len() < EVIDENCE {
                seen.push(edge);
            }
        };
        for taking in &takings {
            for held in taking.held {
                if held.lock.class == taking.lock.class && held.lock.inst.same_as(&taking.lock.inst)
                {
                    if let Some(severity) = double_lock_severity(held, taking, &writers) {
                        if seen.insert((taking.body, held.site, taking.site)) {
                            findings.push(self.double_lock(taking, held, severity));
                        }
                    }
                } else if held.lock.class != taking.lock.class
                    && held.lock.class_from_param.is_none()
                    && taking.lock.class_from_param.is_none()
                {
                    add_edge(taking.edge(held));
                }
            }
        }
        // Orders between parameters become edges where a call says which locks they are.
        let mut by_body: Vec<Vec<&Taking>> = vec![Vec::new(); self.bodies.len()];
        for taking in &takings {
            by_body[taking.body].push(taking);
        }
        let mut memo = vec![None; self.bodies.len()];
        let mut on_stack = vec![false; self.bodies.len()];
        for body in 0..self.bodies.len() {
            self.param_orders(body, &by_body, &mut memo, &mut on_stack, &mut add_edge);
        }
        for cycle in super::lock_order::cycles(&edge_order, MAX_CYCLES) {
            let evidence: Vec<&[Edge]> = cycle.iter().map(|key| edges[key].as_slice()).collect();
            if let Some(steps) = self.at_once(&evidence) {
                findings.push(self.inversion(&steps));
            }
        }
        findings.extend(self.blocking_under_lock());
        findings.extend(self.condvar_findings());
        findings.extend(self.queued_work_self_stalls());
        // A blocking call that is a step of a cycle is reported with the cycle only.
        let on_cycles: HashSet<(String, u32, u32)> = findings
            .iter()
            .filter(|f| f.kind != FindingKind::BlockingUnderLock || f.severity == Severity::Error)
            .flat_map(|f| f.cycle.iter().filter_map(|s| s.site.as_ref()))
            .map(|s| (s.file.to_string(), s.line, s.column))
            .collect();
        findings.retain(|f| {
            f.kind != FindingKind::BlockingUnderLock
                || f.severity == Severity::Error
                || !on_cycles.contains(&first_site(f))
        });
        // Errors first, then by where they are.
        findings.sort_by_key(|f| (f.severity, first_site(f)));
        findings
    }

    /// The locks a call at `site` takes, in the callee or deeper, named in the caller's
    /// frame: each with how and where it is taken, and the calls on the way (this one
    /// first). Nothing for a callee the checker has no body of.
    fn taken_by_call(
        &self,
        callee: usize,
        site: Span,
        receiver: Option<&Place>,
        args: &[Option<Place>],
    ) -> Vec<(LockRef, &Reached, CallPath)> {
        let Some(&callee_body) = self.by_function.get(&callee) else {
            return Vec::new();
        };
        let name = &self.bodies[callee_body].name;
        self.summaries[callee_body]
            .reached
            .iter()
            .filter_map(|reached| {
                let lock = into_caller(&reached.lock, receiver, args)?;
                let mut path = vec![(site, name.clone())];
                path.extend(reached.path.iter().cloned());
                Some((lock, reached, path))
            })
            .collect()
    }

    /// Every lock taken that waits, directly or through a call, with what is held.
    fn takings(&self) -> Vec<Taking<'_>> {
        let mut takings = Vec::new();
        for (body, b) in self.bodies.iter().enumerate() {
            for (pos, event) in b.events.iter().enumerate() {
                match event {
                    Event::Acquire {
                        lock,
                        mode,
                        site,
                        waits: true,
                        held,
                    } if !held.is_empty() => takings.push(Taking {
                        body,
                        pos,
                        held,
                        lock: lock.clone(),
                        mode: *mode,
                        site: *site,
                        path: Vec::new(),
                    }),
                    Event::Call {
                        callee,
                        site,
                        receiver,
                        args,
                        held,
                    } if !held.is_empty() => {
                        let taken = self.taken_by_call(*callee, *site, receiver.as_ref(), args);
                        for (lock, reached, path) in taken {
                            if reached.waits {
                                takings.push(Taking {
                                    body,
                                    pos,
                                    held,
                                    lock,
                                    mode: reached.mode,
                                    site: reached.site,
                                    path,
                                });
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        takings
    }

    /// One place per edge of a cycle such that no two are ordered one after the other
    /// (see [`Rules::ordered`]); `None` when every choice has two that cannot overlap.
    /// Tries every choice for cycles of up to four edges, the first places beyond.
    fn at_once<'e>(&self, evidence: &[&'e [Edge]]) -> Option<Vec<&'e Edge>> {
        if evidence.len() > 4 {
            return Some(evidence.iter().map(|e| &e[0]).collect());
        }
        let mut choice = vec![0usize; evidence.len()];
        loop {
            let picked: Vec<&Edge> = choice.iter().zip(evidence).map(|(&i, e)| &e[i]).collect();
            let overlaps = picked.iter().enumerate().all(|(i, a)| {
                picked[i + 1..]
                    .iter()
                    .all(|b| !self.ordered((a.body, a.pos), (b.body, b.pos)))
            });
            if overlaps {
                return Some(picked);
            }
            // The next choice, like an odometer.
            let mut digit = 0;
            loop {
                if digit == choice.len() {
                    return None;
                }
                choice[digit] += 1;
                if choice[digit] < evidence[digit].len() {
                    break;
                }
                choice[digit] = 0;
                digit += 1;
            }
        }
    }

    /// Whether two events (body, position) can never run at the same time: both in a body
    /// that runs once on one thread, or one in a thread started by a body that runs once,
    /// the other in that body before the start or after the join.
    fn ordered(&self, a: (usize, usize), b: (usize, usize)) -> bool {
        if a.0 == b.0 {
            return self.bodies[a.0].runs_once;
        }
        let started = |child: (usize, usize), parent: (usize, usize)| {
            let (Some((by, start, join)), parent_body) =
                (&self.bodies[child.0].started_by, &self.bodies[parent.0])
            else {
                return false;
            };
            *by == parent_body.name
                && parent_body.runs_once
                && (parent.1 < *start || join.is_some_and(|join| parent.1 >= join))
        };
        started(a, b) || started(b, a)
    }

    /// The orders `body` makes between two locks one of which is a parameter's (so its
    /// class is the caller's), directly or through calls; calls that name both locks
    /// turn them into edges (`add_edge`). Memoised; recursion contributes nothing more.
    fn param_orders(
        &self,
        body: usize,
        takings: &[Vec<&Taking>],
        memo: &mut Vec<Option<Vec<Edge>>>,
        on_stack: &mut Vec<bool>,
        add_edge: &mut dyn FnMut(Edge),
    ) -> Vec<Edge> {
        if let Some(done) = &memo[body] {
            return done.clone();
        }
        if on_stack[body] {
            return Vec::new();
        }
        on_stack[body] = true;
        let mut orders: Vec<Edge> = Vec::new();
        for taking in &takings[body] {
            for held in taking.held {
                let by_param =
                    held.lock.class_from_param.is_some() || taking.lock.class_from_param.is_some();
                if by_param
                    && !(held.lock.class == taking.lock.class
                        && held.lock.inst.same_as(&taking.lock.inst))
                {
                    orders.push(taking.edge(held));
                }
            }
        }
        for (pos, event) in self.bodies[body].events.iter().enumerate() {
            let Event::Call {
                callee,
                site,
                receiver,
                args,
                ..
            } = event
            else {
                continue;
            };
            let Some(&callee_body) = self.by_function.get(callee) else {
                continue;
            };
            let name = &self.bodies[callee_body].name;
            for order in self.param_orders(callee_body, takings, memo, on_stack, add_edge) {
                let (Some(held), Some(lock)) = (
                    into_caller(&order.held.lock, receiver.as_ref(), args),
                    into_caller(&order.lock, receiver.as_ref(), args),
                ) else {
                    continue;
                };
                if held.class == lock.class {
                    continue;
                }
                let mut path = vec![(*site, name.clone())];
                path.extend(order.path.iter().cloned());
                let edge = Edge {
                    body,
                    pos,
                    held: Held {
                        lock: held,
                        ..order.held.clone()
                    },
                    lock,
                    path,
                    ..order.clone()
                };
                if edge.held.lock.class_from_param.is_none() && edge.lock.class_from_param.is_none()
                {
                    add_edge(edge);
                } else {
                    orders.push(edge);
                }
            }
        }
        on_stack[body] = false;
        memo[body] = Some(orders.clone());
        orders
    }

    fn site(&self, span: Span, function: &str) -> Site {
        Site {
            file: self.files[span.file].clone().into(),
            line: span.line,
            column: span.column,
            function: Some(function.to_string().into()),
        }
    }

    /// The function a taking's lock is taken in (the body, or the last callee).
    fn taker(&self, body: usize, path: &[(Span, String)]) -> String {
        path.last()
            .map_or_else(|| self.bodies[body].name.clone(), |(_, name)| name.clone())
    }

    fn context(&self, body: usize, path: &[(Span, String)]) -> Vec<String> {
        let mut context = vec![self.bodies[body].name.clone()];
        context.extend(path.iter().map(|(_, name)| name.clone()));
        context
    }

    fn via(&self, path: &[(Span, String)]) -> String {
        if path.is_empty() {
            return String::new();
        }
        let calls: Vec<String> = path
            .iter()
            .map(|(span, name)| format!("`{name}` (called at {})", self.at(*span)))
            .collect();
        format!(" through {}", calls.join(", "))
    }

    /// The calls on the way, by name only (summaries; the scenario gives the sites).
    fn through(&self, path: &[(Span, String)]) -> String {
        if path.is_empty() {
            return String::new();
        }
        let names: Vec<String> = path.iter().map(|(_, name)| format!("`{name}`")).collect();
        format!(" (through {})", names.join(" → "))
    }

    fn at(&self, span: Span) -> String {
        format!("{}:{}:{}", self.files[span.file], span.line, span.column)
    }

    fn held_entry(&self, held: &Held, body: usize) -> waitgraph_core::report::Held {
        waitgraph_core::report::Held {
            resource: held.lock.class.clone(),
            mode: held.mode.as_str().to_string(),
            site: Some(self.site(held.site, &self.bodies[body].name)),
        }
    }

    fn double_lock(&self, taking: &Taking, held: &Held, severity: Severity) -> Finding {
        let body = &self.bodies[taking.body];
        let thread = format!("a thread in {}", body.name);
        let taker = self.taker(taking.body, &taking.path);
        let summary = if severity == Severity::Error {
            format!(
                "`{}` takes `{}` at {}{} while it already holds it (taken at {}): the second {} waits for the thread itself, for ever",
                body.name,
                taking.lock.class,
                self.at(taking.site),
                self.through(&taking.path),
                self.at(held.site),
                taking.mode.as_str()
            )
        } else {
            format!(
                "`{}` reads `{}` at {}{} while it already reads it (since {}): a writer queued in between blocks the second read, and the writer waits for the first",
                body.name,
                taking.lock.class,
                self.at(taking.site),
                self.through(&taking.path),
                self.at(held.site)
            )
        };
        finding(
            FindingKind::DoubleLock,
            severity,
            summary,
            vec![step(
                thread.clone(),
                waits(
                    taking.lock.class.clone(),
                    kind_name(taking.lock.kind).to_string(),
                    taking.mode.as_str().to_string(),
                ),
                vec![self.held_entry(held, taking.body)],
                self.site(taking.site, &taker),
                vec![thread],
                self.context(taking.body, &taking.path),
            )],
            Vec::new(),
        )
    }

    fn inversion(&self, edges: &[&Edge]) -> Finding {
        let threads: Vec<String> = edges
            .iter()
            .enumerate()
            .map(|(i, e)| format!("thread {} in {}", i + 1, self.bodies[e.body].name))
            .collect();
        let mut steps = Vec::new();
        let mut scenario = Vec::new();
        for (i, edge) in edges.iter().enumerate() {
            let next = &threads[(i + 1) % threads.len()];
            scenario.push(format!(
                "{} takes `{}` at {}",
                threads[i],
                edge.held.lock.class,
                self.at(edge.held.site)
            ));
            steps.push(step(
                threads[i].clone(),
                waits(
                    edge.lock.class.clone(),
                    kind_name(edge.lock.kind).to_string(),
                    edge.mode.as_str().to_string(),
                ),
                vec![self.held_entry(&edge.held, edge.body)],
                self.site(edge.site, &self.taker(edge.body, &edge.path)),
                vec![next.clone()],
                self.context(edge.body, &edge.path),
            ));
        }
        for (i, edge) in edges.iter().enumerate() {
            let next = &threads[(i + 1) % threads.len()];
            scenario.push(format!(
                "{} then waits for `{}` at {}{}, held by {next}",
                threads[i],
                edge.lock.class,
                self.at(edge.site),
                self.via(&edge.path)
            ));
        }
        let order: Vec<String> = edges
            .iter()
            .map(|e| format!("`{}`", e.held.lock.class))
            .collect();
        finding(FindingKind::LockOrderInversion, Severity::Error, format!(
                "locks {} are taken in orders that form a cycle: threads running these paths at once can deadlock",
                order.join(" → ")
            ), steps, scenario)
    }

    fn blocking_under_lock(&self) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut seen = HashSet::new();
        for (body, b) in self.bodies.iter().enumerate() {
            for event in &b.events {
                let blocking: Vec<Blocked> = match event {
                    Event::Block {
                        what, site, held, ..
                    } if !held.is_empty() => {
                        vec![(*what, *site, Vec::new(), held)]
                    }
                    Event::Call {
                        callee, site, held, ..
                    } if !held.is_empty() => {
                        let Some(&callee_body) = self.by_function.get(callee) else {
                            continue;
                        };
                        let name = &self.bodies[callee_body].name;
                        self.summaries[callee_body]
                            .blocking
                            .iter()
                            .map(|blocking| {
                                let mut path = vec![(*site, name.clone())];
                                path.extend(blocking.path.iter().cloned());
                                // A `waits_for` role waits where its function is called.
                                let mut at = blocking.site;
                                if blocking.executor.is_some() {
                                    if let Some((call, _)) = path.pop() {
                                        at = call;
                                    }
                                }
                                (blocking.what, at, path, held.as_slice())
                            })
                            .collect()
                    }
                    _ => continue,
                };
                for (what, site, path, held) in blocking {
                    if !seen.insert((body, site)) {
                        continue;
                    }
                    let locks: Vec<String> =
                        held.iter().map(|h| format!("`{}`", h.lock.class)).collect();
                    let thread = format!("a thread in {}", b.name);
                    findings.push(finding(FindingKind::BlockingUnderLock, Severity::Warning, format!(
                            "`{}` blocks ({what}) at {}{} while it holds {}: every thread that needs {} waits as long",
                            b.name,
                            self.at(site),
                            self.through(&path),
                            locks.join(", "),
                            if locks.len() == 1 { "it" } else { "them" }
                        ), vec![step(thread, waits(awaited(what), "blocking call", what), held.iter().map(|h| self.held_entry(h, body)).collect(), self.site(site, &self.taker(body, &path)), Vec::new(), self.context(body, &path))], Vec::new()));
                }
            }
        }
        findings
    }

    /// Waits for work queued to an executor, with a lock held that the executor's
    /// workers take (the incident's shape); a worker waiting on its own executor.
    fn queued_work_self_stalls(&self) -> Vec<Finding> {
        // What each executor's workers may take: the locks every body that serves it
        // reaches.
        // A job function's lock that is one of its parameters is the lock its callers
        // pass (`Box::new(move || fetch(&cache, id))`).
        let mut calls_into: HashMap<usize, Vec<CallSite>> = HashMap::new();
        for b in self.bodies {
            for event in &b.events {
                if let Event::Call {
                    callee,
                    receiver,
                    args,
                    ..
                } = event
                {
                    if let Some(&callee_body) = self.by_function.get(callee) {
                        calls_into
                            .entry(callee_body)
                            .or_default()
                            .push((receiver.as_ref(), args));
                    }
                }
            }
        }
        let mut needs: HashMap<&str, Vec<(usize, Reached)>> = HashMap::new();
        let mut serves: HashMap<usize, Vec<&str>> = HashMap::new();
        for (body, b) in self.bodies.iter().enumerate() {
            for event in &b.events {
                // A function given to an executor as its work (`for_each(f)`): what it
                // takes, the executor's work needs.
                if let Event::RunsOn { executor, callee } = event {
                    if let Some(&job) = self.by_function.get(callee) {
                        let reached = self.summaries[job].reached.iter();
                        needs.entry(executor).or_default().extend(
                            reached
                                .filter(|r| r.waits && r.lock.class_from_param.is_none())
                                .map(|r| (job, r.clone())),
                        );
                    }
                    continue;
                }
                let Event::Serve { executor, .. } = event else {
                    continue;
                };
                serves.entry(body).or_default().push(executor);
                let needed = needs.entry(executor).or_default();
                for reached in self.summaries[body].reached.iter().filter(|r| r.waits) {
                    if reached.lock.class_from_param.is_none() {
                        needed.push((body, reached.clone()));
                        continue;
                    }
                    for (receiver, args) in calls_into.get(&body).into_iter().flatten() {
                        if let Some(lock) = into_caller(&reached.lock, *receiver, args) {
                            if lock.class_from_param.is_none() {
                                needed.push((
                                    body,
                                    Reached {
                                        lock,
                                        ..reached.clone()
                                    },
                                ));
                            }
                        }
                    }
                }
            }
        }
        let mut findings = Vec::new();
        let mut seen = HashSet::new();
        for (body, summary) in self.summaries.iter().enumerate() {
            for wait in &summary.awaits {
                let sites: Vec<Span> = wait.path.iter().map(|(s, _)| *s).collect();
                for held in &wait.held_here {
                    let needed = needs
                        .get(wait.executor.as_str())
                        .into_iter()
                        .flatten()
                        .find(|(_, r)| r.lock.class == held.lock.class);
                    let Some((worker, reached)) = needed else {
                        continue;
                    };
                    if seen.insert((body, held.lock.class.clone(), wait.site, sites.clone())) {
                        findings.push(self.self_stall(body, wait, held, *worker, reached));
                    }
                }
                let own = serves
                    .get(&body)
                    .is_some_and(|e| e.contains(&wait.executor.as_str()));
                if own
                    && wait.queued.is_some()
                    && seen.insert((body, String::new(), wait.site, sites.clone()))
                {
                    findings.push(self.waits_on_own_executor(body, wait));
                }
            }
        }
        findings
    }

    fn self_stall(
        &self,
        body: usize,
        wait: &Await,
        held: &Held,
        worker: usize,
        reached: &Reached,
    ) -> Finding {
        let waiter = format!("thread 1 in {}", self.bodies[body].name);
        let working = format!(
            "thread 2 in {}, a worker of {}",
            self.bodies[worker].name, wait.executor
        );
        // The summary names functions; the snippets and the scenario give the sites.
        let queued = match &wait.queued {
            Some(_) => format!(" for work it queued to `{}`", wait.executor),
            None => format!(" for `{}`'s work", wait.executor),
        };
        let outcome = if wait.bounded {
            "the wait gives up after its bound: a stall each time, not a deadlock"
        } else if wait.executor == "rayon" {
            "a rayon thread waiting here runs other rayon work meanwhile, and if it picks up that work it waits for a lock it holds itself; a thread outside rayon waits for rayon threads stuck on the lock"
        } else {
            "the work never runs to the end and the wait never ends"
        };
        let mut scenario = vec![format!(
            "thread 1 takes `{}` at {}",
            held.lock.class,
            self.at(held.site)
        )];
        if let Some((site, path)) = &wait.queued {
            scenario.push(format!(
                "thread 1 queues work to `{}` at {}{}",
                wait.executor,
                self.at(*site),
                self.via(path)
            ));
        }
        scenario.push(format!(
            "thread 1 waits ({}) at {}{} for that work, still holding `{}`",
            wait.what,
            self.at(wait.site),
            self.via(&wait.path),
            held.lock.class
        ));
        scenario.push(format!(
            "thread 2, a worker of `{}`, takes `{}` at {}{} first: it waits for thread 1, and the work waits for it",
            wait.executor,
            held.lock.class,
            self.at(reached.site),
            self.via(&reached.path)
        ));
        // A `waits_for` role waits where its function is called.
        let (wait_site, wait_path) = match (&wait.queued, wait.path.split_last()) {
            (None, Some(((call, _), outer))) => (*call, outer.to_vec()),
            _ => (wait.site, wait.path.clone()),
        };
        finding(FindingKind::QueuedWorkSelfStall, if wait.bounded { Severity::Warning } else { Severity::Error }, format!(
                "`{}` holds `{}` while it waits ({}){}{queued}; `{}`, which runs that work, takes `{}`{}: {outcome}",
                self.bodies[body].name,
                held.lock.class,
                wait.what,
                self.through(&wait.path),
                self.bodies[worker].name,
                held.lock.class,
                self.through(&reached.path),
            ), vec![
                step(waiter.clone(), waits(format!("work queued to {}", wait.executor), "executor".to_string(), wait.what.to_string()), vec![self.held_entry(held, body)], self.site(wait_site, &self.taker(body, &wait_path)), vec![working.clone()], self.context(body, &wait.path)),
                step(working, waits(held.lock.class.clone(), kind_name(reached.lock.kind).to_string(), reached.mode.as_str().to_string()), Vec::new(), self.site(reached.site, &self.taker(worker, &reached.path)), vec![waiter], self.context(worker, &reached.path)),
            ], scenario)
    }

    fn waits_on_own_executor(&self, body: usize, wait: &Await) -> Finding {
        let thread = format!(
            "a thread in {}, a worker of {}",
            self.bodies[body].name, wait.executor
        );
        let queued = wait.queued.as_ref().map_or(String::new(), |(site, path)| {
            format!(" it queued at {}{}", self.at(*site), self.through(path))
        });
        finding(FindingKind::QueuedWorkSelfStall, Severity::Warning, format!(
                "`{}` runs on `{}` and waits ({}) at {}{} for work{queued} to the same executor: when every worker does this at once, none is left to run the work",
                self.bodies[body].name,
                wait.executor,
                wait.what,
                self.at(wait.site),
                self.through(&wait.path),
            ), vec![step(thread.clone(), waits(format!("work queued to {}", wait.executor), "executor".to_string(), wait.what.to_string()), Vec::new(), self.site(wait.site, &self.taker(body, &wait.path)), vec![thread], self.context(body, &wait.path))], Vec::new())
    }

    /// Condvar waits holding a lock the notifier needs first; waits nothing notifies.
    fn condvar_findings(&self) -> Vec<Finding> {
        let mut notified: BTreeSet<&str> = BTreeSet::new();
        let mut unknown_notify = false;
        // Per condvar class: (body, locks the body takes before it notifies, notify site).
        let mut notifiers: HashMap<&str, Vec<Notifier>> = HashMap::new();
        for (body, b) in self.bodies.iter().enumerate() {
            let mut taken = Vec::new();
            for event in &b.events {
                match event {
                    Event::Acquire {
                        lock,
                        mode,
                        site,
                        waits: true,
                        ..
                    } => taken.push((lock.clone(), *mode, *site, Vec::new())),
                    Event::Call {
                        callee,
                        site,
                        receiver,
                        args,
                        ..
                    } => {
                        let by_call = self.taken_by_call(*callee, *site, receiver.as_ref(), args);
                        taken.extend(
                            by_call.into_iter().map(|(lock, reached, path)| {
                                (lock, reached.mode, reached.site, path)
                            }),
                        );
                    }
                    Event::Notify {
                        condvar: Some(class),
                        site,
                    } => {
                        notified.insert(class);
                        notifiers
                            .entry(class)
                            .or_default()
                            .push((body, taken.clone(), *site));
                    }
                    Event::Notify { condvar: None, .. } => unknown_notify = true,
                    _ => {}
                }
            }
        }
        let mut findings = Vec::new();
        let mut seen = HashSet::new();
        for (body, b) in self.bodies.iter().enumerate() {
            for event in &b.events {
                let Event::Wait {
                    condvar: Some(condvar),
                    releases,
                    site,
                    held,
                    timed,
                    ..
                } = event
                else {
                    continue;
                };
                if !notified.contains(condvar.as_str()) && !unknown_notify && !timed {
                    if seen.insert((body, *site)) {
                        findings.push(self.orphaned_wait(
                            body,
                            condvar,
                            releases.as_ref(),
                            *site,
                            held,
                        ));
                    }
                    continue;
                }
                for held in held {
                    for (notifier, taken, notify_site) in
                        notifiers.get(condvar.as_str()).into_iter().flatten()
                    {
                        let Some((lock, mode, taken_site, path)) = taken
                            .iter()
                            .find(|(lock, ..)| lock.class == held.lock.class)
                        else {
                            continue;
                        };
                        if !seen.insert((body, *site)) {
                            continue;
                        }
                        let mut finding = self.wait_holding(
                            body,
                            condvar,
                            *site,
                            held,
                            (*notifier, lock, *mode, *taken_site, path, *notify_site),
                        );
                        if *timed {
                            // It times out: a stall each time, not a deadlock.
                            finding.severity = Severity::Warning;
                        }
                        findings.push(finding);
                    }
                }
            }
        }
        findings.extend(self.condvar_misuse(&notifiers));
        findings
    }

    /// Waits outside a loop; notifications sent by code that never takes the waiters'
    /// mutex (nor is called with it held).
    fn condvar_misuse(&self, notifiers: &HashMap<&str, Vec<Notifier>>) -> Vec<Finding> {
        let mut findings = Vec::new();
        // The mutexes each condvar's waits give back.
        let mut mutexes: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        // The locks held at the calls into each body.
        let mut held_by_callers: HashMap<usize, HashSet<&str>> = HashMap::new();
        for (body, b) in self.bodies.iter().enumerate() {
            for event in &b.events {
                match event {
                    Event::Wait {
                        condvar: Some(condvar),
                        releases,
                        site,
                        timed,
                        rechecked,
                        ..
                    } => {
                        if let Some(mutex) = releases {
                            mutexes.entry(condvar).or_default().insert(&mutex.class);
                        }
                        if !timed && !rechecked {
                            findings.push(self.misuse(
                                body,
                                *site,
                                condvar,
                                format!(
                                    "`{}` waits on `{condvar}` once, outside a loop: a spurious wake-up, or a notification meant for another waiter, returns before the condition holds; wait in a loop on the condition, or with `wait_while`",
                                    b.name
                                ),
                                "condvar-wait",
                            ));
                        }
                    }
                    Event::Call { callee, held, .. } => {
                        if let Some(&callee_body) = self.by_function.get(callee) {
                            held_by_callers
                                .entry(callee_body)
                                .or_default()
                                .extend(held.iter().map(|h| h.lock.class.as_str()));
                        }
                    }
                    _ => {}
                }
            }
        }
        for (condvar, notifying) in notifiers {
            let Some(wanted) = mutexes.get(condvar) else {
                continue;
            };
            for (body, taken, site) in notifying {
                let took = taken
                    .iter()
                    .any(|(lock, ..)| wanted.contains(lock.class.as_str()));
                let callers_hold = held_by_callers
                    .get(body)
                    .is_some_and(|held| wanted.iter().any(|m| held.contains(m)));
                if took || callers_hold {
                    continue;
                }
                let mutex: Vec<String> = wanted.iter().map(|m| format!("`{m}`")).collect();
                findings.push(self.misuse(
                    *body,
                    *site,
                    condvar,
                    format!(
                        "`{}` notifies `{condvar}` without having taken {}, the mutex its waiters check their condition under: a waiter that has checked it and not yet started waiting misses this notification (a lost wake-up); change the condition under the mutex, then notify",
                        self.bodies[*body].name,
                        mutex.join(" or ")
                    ),
                    "notify",
                ));
            }
        }
        findings
    }

    fn misuse(
        &self,
        body: usize,
        site: Span,
        condvar: &str,
        summary: String,
        wait: &str,
    ) -> Finding {
        let thread = format!("a thread in {}", self.bodies[body].name);
        finding(
            FindingKind::CondvarMisuse,
            Severity::Warning,
            summary,
            vec![step(
                thread,
                waits(condvar.to_string(), "condvar".to_string(), wait.to_string()),
                Vec::new(),
                self.site(site, &self.bodies[body].name),
                Vec::new(),
                vec![self.bodies[body].name.clone()],
            )],
            Vec::new(),
        )
    }

    #[allow(clippy::type_complexity)]
    fn wait_holding(
        &self,
        body: usize,
        condvar: &str,
        site: Span,
        held: &Held,
        notifier: (usize, &LockRef, Mode, Span, &CallPath, Span),
    ) -> Finding {
        let (notifier, lock, mode, taken_site, path, notify_site) = notifier;
        let waiter = format!("thread 1 in {}", self.bodies[body].name);
        let notifying = format!("thread 2 in {}", self.bodies[notifier].name);
        finding(FindingKind::BlockingUnderLock, Severity::Error, format!(
                "`{}` waits on `{condvar}` at {} holding `{}`; `{}` takes `{}` at {}{} before it notifies `{condvar}` at {}: the wait never ends",
                self.bodies[body].name,
                self.at(site),
                held.lock.class,
                self.bodies[notifier].name,
                lock.class,
                self.at(taken_site),
                self.through(path),
                self.at(notify_site)
            ), vec![
                step(waiter.clone(), waits(condvar.to_string(), "condvar".to_string(), "condvar-wait".to_string()), vec![self.held_entry(held, body)], self.site(site, &self.bodies[body].name), vec![notifying.clone()], vec![self.bodies[body].name.clone()]),
                step(notifying, waits(lock.class.clone(), kind_name(lock.kind).to_string(), mode.as_str().to_string()), Vec::new(), self.site(taken_site, &self.taker(notifier, path)), vec![waiter], self.context(notifier, path)),
            ], Vec::new())
    }

    fn orphaned_wait(
        &self,
        body: usize,
        condvar: &str,
        releases: Option<&LockRef>,
        site: Span,
        held: &[Held],
    ) -> Finding {
        let thread = format!("a thread in {}", self.bodies[body].name);
        let mutex = releases.map_or(String::new(), |l| format!(" (with `{}`)", l.class));
        finding(FindingKind::OrphanedWait, Severity::Warning, format!(
                "`{}` waits on `{condvar}`{mutex} at {}, and nothing in the checked code notifies `{condvar}`",
                self.bodies[body].name,
                self.at(site)
            ), vec![step(thread, waits(condvar.to_string(), "condvar".to_string(), "condvar-wait".to_string()), held.iter().map(|h| self.held_entry(h, body)).collect(), self.site(site, &self.bodies[body].name), Vec::new(), vec![self.bodies[body].name.clone()])], Vec::new())
    }
}

/// A step of a static finding: no thread key, time, backtrace or event (a run's).
fn step(
    thread: String,
    waits_for: WaitsFor,
    holds: Vec<waitgraph_core::report::Held>,
    site: Site,
    blocked_by: Vec<String>,
    context: Vec<String>,
) -> Step {
    Step {
        thread,
        thread_key: None,
        waits_for,
        holds,
        site: Some(site),
        blocked_by,
        waited_ms: None,
        context,
        backtrace: None,
        event: None,
    }
}

fn waits(
    resource: impl Into<String>,
    kind: impl Into<String>,
    wait: impl Into<String>,
) -> WaitsFor {
    WaitsFor {
        resource: resource.into(),
        kind: kind.into(),
        wait: wait.into(),
        created: None,
    }
}

/// A static finding: a prediction, never seen to happen; no thread stuck behind it.
fn finding(
    kind: FindingKind,
    severity: Severity,
    summary: String,
    cycle: Vec<Step>,
    scenario: Vec<String>,
) -> Finding {
    Finding {
        kind,
        severity,
        confirmed: false,
        summary,
        cycle,
        also_deadlocked: Vec::new(),
        victims: Vec::new(),
        scenario,
    }
}

/// Whether taking `taking` while holding `held` (the same lock) never returns (error),
/// can stall behind a writer (warning), or is fine (a reentrant lock, recursive reads).
fn double_lock_severity(
    held: &Held,
    taking: &Taking,
    writers: &HashMap<&str, HashSet<usize>>,
) -> Option<Severity> {
    match taking.lock.kind {
        LockKind::Reentrant => None,
        LockKind::Mutex => Some(Severity::Error),
        LockKind::RwLock => match (held.mode, taking.mode) {
            (_, Mode::ReadRecursive) => None,
            (Mode::Read | Mode::ReadRecursive, Mode::Read) => writers
                .get(taking.lock.class.as_str())
                .is_some_and(|bodies| bodies.iter().any(|&b| b != taking.body))
                .then_some(Severity::Warning),
            _ => Some(Severity::Error),
        },
    }
}

/// What a blocking call waits for, in words (the call's name is the wait).
fn awaited(what: &str) -> &'static str {
    match what {
        "channel receive" => "a message",
        "join" => "the joined thread to end",
        "barrier wait" => "the barrier's other threads",
        "job wait" => "the job to be run",
        "spin-wait" => "the spin's condition",
        "sleep" => "the time to pass",
        "block_on" => "the future",
        "install on a thread pool" | "rayon::join" | "rayon::scope" => "the pool's work",
        _ => "another thread",
    }
}

fn kind_name(kind: LockKind) -> &'static str {
    match kind {
        LockKind::Mutex => "mutex",
        LockKind::RwLock => "rwlock",
        LockKind::Reentrant => "reentrant-mutex",
    }
}

fn first_site(finding: &Finding) -> (String, u32, u32) {
    finding
        .cycle
        .first()
        .and_then(|s| s.site.as_ref())
        .map_or((String::new(), 0, 0), |s| {
            (s.file.to_string(), s.line, s.column)
        })
}

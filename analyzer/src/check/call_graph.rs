//! What each function does through the functions it calls: every lock it may take and
//! every blocking call it may make, named in its own frame, with the call path to it.
//!
//! Computed once per function by a depth-first walk of the call graph, memoised;
//! a recursive call contributes nothing more (its effects are already being gathered).
//! Each summary keeps at most [`MAX_REACHED`] entries (distinct lock and mode, distinct
//! blocking site), so the cost is `O(calls × MAX_REACHED)` over the crate.
//!
//! A callee's lock is renamed into the caller's frame by [`into_caller`]:
//!
//! | in the callee | in the caller |
//! |---|---|
//! | a static | the same static |
//! | `self.x` | the receiver's place, then `.x` (unknown receiver: same class, unknown instance) |
//! | a parameter that is a lock | the argument (unknown argument: dropped, its class is the caller's) |
//! | `p.x`, `p` a struct parameter | the argument's place, then `.x` |
//! | a local of the callee | same class, a fresh instance |

use super::facts::{Body, Event, Held, Inst, LockRef, Mode, Place, Root, Span};
use std::collections::HashMap;

/// The calls on the way to something, outermost first: (call site, callee's name).
pub type CallPath = Vec<(Span, String)>;

/// At most this many distinct locks (and as many blocking sites) per function summary.
pub const MAX_REACHED: usize = 256;

/// A lock a function may take, directly or through calls.
#[derive(Clone, Debug)]
pub struct Reached {
    pub lock: LockRef,
    pub mode: Mode,
    pub waits: bool,
    /// Where it is taken (in the function that takes it).
    pub site: Span,
    /// The calls on the way there, outermost first: (call site, callee's name).
    pub path: CallPath,
}

/// A blocking call a function may make, directly or through calls.
#[derive(Clone, Debug)]
pub struct Blocking {
    pub what: &'static str,
    pub site: Span,
    pub path: CallPath,
    pub bounded: bool,
    /// `waits_for = "name"`: the executor it waits for.
    pub executor: Option<String>,
}

/// Work a function queues to an executor, directly or through calls.
#[derive(Clone, Debug)]
pub struct Queued {
    pub executor: String,
    pub site: Span,
    pub path: CallPath,
    /// The branches (of `if`s and `match`es) the queueing is in: a wait pairs with it
    /// only in the same branches or nested ones.
    pub branch: Vec<(u32, u32)>,
}

/// A wait for an executor's work: after queueing work to it, a blocking wait (a spin,
/// a barrier, a job's `wait`, a receive, a condvar...), or a `waits_for` role.
#[derive(Clone, Debug)]
pub struct Await {
    pub executor: String,
    /// Where the work was queued (`None` for a `waits_for` role).
    pub queued: Option<(Span, CallPath)>,
    pub what: &'static str,
    pub site: Span,
    pub path: CallPath,
    pub bounded: bool,
    /// The locks the summarised function itself holds at the wait (at the call that
    /// leads to it): what the executor's workers must not need.
    pub held_here: Vec<Held>,
}

#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub reached: Vec<Reached>,
    pub blocking: Vec<Blocking>,
    pub queues: Vec<Queued>,
    pub awaits: Vec<Await>,
}

/// Renames a lock of a callee's frame into its caller's, given the call's receiver and
/// arguments (see the module's table).
pub fn into_caller(
    lock: &LockRef,
    receiver: Option<&Place>,
    args: &[Option<Place>],
) -> Option<LockRef> {
    let unknown = || LockRef {
        inst: Inst::new(Root::Unknown),
        ..lock.clone()
    };
    match &lock.inst.root {
        Root::Static => Some(lock.clone()),
        Root::Receiver => Some(match receiver.and_then(Place::inst) {
            Some(base) => rebased(lock, base),
            None => unknown(),
        }),
        Root::Param(i) => {
            let arg = args.get(*i).and_then(Option::as_ref);
            if lock.class_from_param.is_some() {
                // The parameter is the lock: the argument says which.
                return match arg {
                    Some(Place::Lock(arg)) => Some(arg.clone()),
                    _ => None,
                };
            }
            Some(match arg.and_then(Place::inst) {
                Some(base) => rebased(lock, base),
                None => unknown(),
            })
        }
        Root::Local(_) | Root::Unknown => Some(unknown()),
    }
}

/// `lock`, whose instance is relative to the callee's `self` or a parameter, relative
/// to `base`, the caller's place for it.
fn rebased(lock: &LockRef, base: &Inst) -> LockRef {
    LockRef {
        inst: Inst {
            root: base.root.clone(),
            path: format!("{}{}", base.path, lock.inst.path),
        },
        ..lock.clone()
    }
}

/// The summaries of every function body (indexed like `bodies`); spawned closures get
/// theirs too (they are roots, never callees).
pub fn summarise(bodies: &[Body], by_function: &HashMap<usize, usize>) -> Vec<Summary> {
    let mut memo: Vec<Option<Summary>> = vec![None; bodies.len()];
    let mut on_stack = vec![false; bodies.len()];
    for body in 0..bodies.len() {
        summary(body, bodies, by_function, &mut memo, &mut on_stack);
    }
    memo.into_iter().map(Option::unwrap_or_default).collect()
}

fn summary(
    body: usize,
    bodies: &[Body],
    by_function: &HashMap<usize, usize>,
    memo: &mut Vec<Option<Summary>>,
    on_stack: &mut Vec<bool>,
) -> Summary {
    if let Some(done) = &memo[body] {
        return done.clone();
    }
    if on_stack[body] {
        return Summary::default();
    }
    on_stack[body] = true;
    let mut result = Summary::default();
    // The work queued so far in this body, in order: a later wait may wait for it.
    let mut queued: Vec<Queued> = Vec::new();
    let mut branch: Vec<(u32, u32)> = Vec::new();
    for event in &bodies[body].events {
        match event {
            Event::EnterBranch { construct, arm } => branch.push((*construct, *arm)),
            Event::LeaveBranch => {
                branch.pop();
            }
            Event::Acquire {
                lock,
                mode,
                site,
                waits,
                ..
            } => add_reached(
                &mut result,
                Reached {
                    lock: lock.clone(),
                    mode: *mode,
                    waits: *waits,
                    site: *site,
                    path: Vec::new(),
                },
            ),
            Event::Block {
                what,
                site,
                held,
                bounded,
                executor,
            } => {
                let blocking = Blocking {
                    what,
                    site: *site,
                    path: Vec::new(),
                    bounded: *bounded,
                    executor: executor.clone(),
                };
                add_awaits(&mut result, &queued, &branch, &blocking, held);
                add_blocking(&mut result, blocking);
            }
            Event::Wait { site, held, .. } => {
                let blocking = Blocking {
                    what: "condvar wait",
                    site: *site,
                    path: Vec::new(),
                    bounded: false,
                    executor: None,
                };
                add_awaits(&mut result, &queued, &branch, &blocking, held);
            }
            Event::Queue { executor, site } => {
                let work = Queued {
                    executor: executor.clone(),
                    site: *site,
                    path: Vec::new(),
                    branch: branch.clone(),
                };
                queued.push(work.clone());
                if result.queues.len() < MAX_REACHED {
                    result.queues.push(work);
                }
            }
            Event::Call {
                callee,
                site,
                receiver,
                args,
                held,
            } => {
                let Some(&callee_body) = by_function.get(callee) else {
                    continue;
                };
                let inner = summary(callee_body, bodies, by_function, memo, on_stack);
                let name = bodies[callee_body].name.clone();
                for reached in inner.reached {
                    let Some(lock) = into_caller(&reached.lock, receiver.as_ref(), args) else {
                        continue;
                    };
                    let mut path = vec![(*site, name.clone())];
                    path.extend(reached.path);
                    add_reached(
                        &mut result,
                        Reached {
                            lock,
                            path,
                            ..reached
                        },
                    );
                }
                let via = |path: &CallPath| {
                    let mut full = vec![(*site, name.clone())];
                    full.extend(path.iter().cloned());
                    full
                };
                for blocking in inner.blocking {
                    let blocking = Blocking {
                        path: via(&blocking.path),
                        ..blocking
                    };
                    // Work queued here, waited for in the callee (its own awaits pair
                    // the work it queued itself).
                    add_awaits(&mut result, &queued, &branch, &blocking, held);
                    add_blocking(&mut result, blocking);
                }
                for wait in inner.awaits {
                    if result.awaits.len() < MAX_REACHED {
                        result.awaits.push(Await {
                            queued: wait.queued.map(|(site, path)| (site, via(&path))),
                            path: via(&wait.path),
                            held_here: held.clone(),
                            ..wait
                        });
                    }
                }
                for work in inner.queues {
                    let work = Queued {
                        path: via(&work.path),
                        branch: branch.clone(),
                        ..work
                    };
                    queued.push(work.clone());
                    if result.queues.len() < MAX_REACHED {
                        result.queues.push(work);
                    }
                }
            }
            Event::Notify { .. } | Event::Serve { .. } | Event::RunsOn { .. } => {}
        }
    }
    on_stack[body] = false;
    memo[body] = Some(result.clone());
    result
}

/// The waits `blocking` is for the executors of the work queued before it (and, for a
/// `waits_for` role, for its executor). A sleep waits for nobody.
fn add_awaits(
    summary: &mut Summary,
    queued: &[Queued],
    branch: &[(u32, u32)],
    blocking: &Blocking,
    held: &[Held],
) {
    if blocking.what == "sleep" {
        return;
    }
    let direct = blocking.executor.iter().map(|e| (e.clone(), None));
    // Only work queued on every path to this wait: in its branch or an enclosing one.
    let after_queueing = queued
        .iter()
        .filter(|q| branch.starts_with(&q.branch))
        .map(|q| (q.executor.clone(), Some((q.site, q.path.clone()))));
    for (executor, queued) in direct.chain(after_queueing) {
        let known = summary
            .awaits
            .iter()
            .any(|a| a.executor == executor && a.site == blocking.site && a.path == blocking.path);
        if !known && summary.awaits.len() < MAX_REACHED {
            summary.awaits.push(Await {
                executor,
                queued,
                what: blocking.what,
                site: blocking.site,
                path: blocking.path.clone(),
                bounded: blocking.bounded,
                held_here: held.to_vec(),
            });
        }
    }
}

fn add_reached(summary: &mut Summary, reached: Reached) {
    let known = summary
        .reached
        .iter()
        .any(|r| r.lock == reached.lock && r.mode == reached.mode && r.waits == reached.waits);
    if !known && summary.reached.len() < MAX_REACHED {
        summary.reached.push(reached);
    }
}

fn add_blocking(summary: &mut Summary, blocking: Blocking) {
    let known = summary
        .blocking
        .iter()
        .any(|b| b.site == blocking.site && b.path == blocking.path);
    if !known && summary.blocking.len() < MAX_REACHED {
        summary.blocking.push(blocking);
    }
}

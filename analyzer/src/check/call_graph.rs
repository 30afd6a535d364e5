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

use super::facts::{Body, Event, Inst, LockRef, Mode, Place, Root, Span};
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
}

#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub reached: Vec<Reached>,
    pub blocking: Vec<Blocking>,
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
            Some(base) => LockRef {
                inst: Inst {
                    root: base.root.clone(),
                    path: format!("{}{}", base.path, lock.inst.path),
                },
                ..lock.clone()
            },
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
                Some(base) => LockRef {
                    inst: Inst {
                        root: base.root.clone(),
                        path: format!("{}{}", base.path, lock.inst.path),
                    },
                    ..lock.clone()
                },
                None => unknown(),
            })
        }
        Root::Local(_) | Root::Unknown => Some(unknown()),
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
    for event in &bodies[body].events {
        match event {
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
            Event::Block { what, site, .. } => add_blocking(
                &mut result,
                Blocking {
                    what,
                    site: *site,
                    path: Vec::new(),
                },
            ),
            Event::Call {
                callee,
                site,
                receiver,
                args,
                ..
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
                for blocking in inner.blocking {
                    let mut path = vec![(*site, name.clone())];
                    path.extend(blocking.path);
                    add_blocking(&mut result, Blocking { path, ..blocking });
                }
            }
            Event::Wait { .. } | Event::Notify { .. } => {}
        }
    }
    on_stack[body] = false;
    memo[body] = Some(result.clone());
    result
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
    let known = summary.blocking.iter().any(|b| b.site == blocking.site);
    if !known && summary.blocking.len() < MAX_REACHED {
        summary.blocking.push(blocking);
    }
}

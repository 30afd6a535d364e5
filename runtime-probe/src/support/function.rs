//! The function context every instrumented function enters, and the role arguments.
//!
//! | argument | on entry | on return |
//! |---|---|---|
//! | (always) | context entered (`Enter`) | context left (`Exit`), a panic included |
//! | `name = "n"` | the context is called `n` | |
//! | `acquires = "r"` | a lock wait on the named resource `r` is published | `r` is held (not after a panic) |
//! | `releases = "r"` | | `r` is released |
//! | `waits_for = "e"` | the body is a wait for `e`: a live barrier, job, event or executor of that name, else an event `e` | the wait ends |
//! | `schedules = "x"` | a job queued to executor `x` (`JobQueued`); the caller's next receive on a std channel, in the same function, is a wait for `x`'s work | |
//! | `job = "x"` | the thread serves `x`; a job of `x` starts (`JobStarted`) | the job finishes (`JobFinished`) |
//! | `serves = "x"` | the thread serves `x` from now on | |
//!
//! Named things are looked up by name among the resources the program created (a
//! `waitgraph::sync::Executor::new("x")` is the executor `x`); a name nothing carries yet
//! gets its own resource, created on first use and kept for the life of the process.

use crate::context::{self, Context, Entered};
use crate::model::{EventKind, LockMode, ResourceKey, ResourceKind, WaitKind};
use crate::probe::registry;
use crate::record;
use crate::sync::hooks::{self, Shared, WaitScope};
use crate::sync::{BarrierShared, Executor, ExecutorShared};
use parking_lot::Mutex;
use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::Location;
use std::sync::Arc;

/// One instrumented function: a `static` the attribute generates.
pub struct Function {
    pub context: Context,
    pub roles: Roles,
}

/// The role arguments given to the attribute.
#[derive(Debug, Default)]
pub struct Roles {
    pub acquires: Option<&'static str>,
    pub releases: Option<&'static str>,
    pub waits_for: Option<&'static str>,
    pub schedules: Option<&'static str>,
    pub job: Option<&'static str>,
    pub serves: Option<&'static str>,
}

impl Roles {
    pub const NONE: Roles = Roles {
        acquires: None,
        releases: None,
        waits_for: None,
        schedules: None,
        job: None,
        serves: None,
    };

    fn any(&self) -> bool {
        self.acquires.is_some()
            || self.releases.is_some()
            || self.waits_for.is_some()
            || self.schedules.is_some()
            || self.job.is_some()
            || self.serves.is_some()
    }
}

/// The instrumented function is running on this thread until it drops.
pub struct Scope {
    // Fields drop in order: the roles' effects are recorded inside the context.
    _roles: Option<RoleScope>,
    _context: Entered,
}

struct RoleScope {
    function: &'static Function,
    site: &'static Location<'static>,
    wait: Option<WaitScope>,
    job: Option<ResourceKey>,
}

/// Enters `function`: its context, then its roles.
#[inline]
#[track_caller]
pub fn enter(function: &'static Function) -> Scope {
    let context = context::enter(&function.context);
    let roles = (function.roles.any() && hooks::enabled())
        .then(|| RoleScope::enter(function, Location::caller()));
    Scope {
        _roles: roles,
        _context: context,
    }
}

impl RoleScope {
    #[cold]
    fn enter(function: &'static Function, site: &'static Location<'static>) -> RoleScope {
        let roles = &function.roles;
        if let Some(name) = roles.schedules {
            // The caller (one context out: this function's is entered) now has work
            // queued to `name`: its next receive is for that work.
            if let Some(depth) = crate::probe::slot::with_current(|slot| slot.context_depth()) {
                let _ = SCHEDULED
                    .try_with(|scheduled| scheduled.set(Some((name, depth.saturating_sub(1)))));
            }
            let executor = executor(name).shared.key();
            record::note(
                || EventKind::JobQueued {
                    job: ResourceKey(0),
                    executor,
                },
                Some(site),
            );
        }
        let mut job = None;
        for name in [roles.serves, roles.job].into_iter().flatten() {
            serve(&executor(name));
        }
        if let Some(name) = roles.job {
            let executor = executor(name).shared.key();
            record::note(
                || EventKind::JobStarted {
                    job: ResourceKey(0),
                    executor,
                },
                Some(site),
            );
            job = Some(executor);
        }
        let wait = if let Some(name) = roles.acquires {
            let key = named_lock(name, site);
            Some(WaitScope::begin(
                key,
                WaitKind::Lock(LockMode::Exclusive),
                site,
                false,
            ))
        } else {
            roles.waits_for.map(|name| {
                let (key, kind, token) = wait_target(name);
                WaitScope::begin_with_token(key, kind, site, false, token)
            })
        };
        RoleScope {
            function,
            site,
            wait,
            job,
        }
    }
}

impl Drop for RoleScope {
    fn drop(&mut self) {
        drop(self.wait.take());
        let roles = &self.function.roles;
        if let Some(name) = roles.acquires {
            // A function that panicked did not take the resource.
            if !std::thread::panicking() {
                hooks::acquired(named_lock(name, self.site), LockMode::Exclusive, self.site);
            }
        }
        if let Some(name) = roles.releases {
            hooks::released(named_lock(name, self.site), LockMode::Exclusive);
        }
        if let Some(executor) = self.job {
            record::note(
                || EventKind::JobFinished {
                    job: ResourceKey(0),
                    executor,
                },
                None,
            );
        }
    }
}

/// Resources the attribute created for names the program does not carry.
#[derive(Default)]
struct Named {
    locks: HashMap<&'static str, ResourceKey>,
    executors: HashMap<&'static str, Executor>,
    events: HashMap<&'static str, crate::sync::Event>,
}

static NAMED: Mutex<Option<Named>> = Mutex::new(None);

fn with_named<R>(f: impl FnOnce(&mut Named) -> R) -> R {
    f(NAMED.lock().get_or_insert_with(Named::default))
}

/// The named resource `acquires` / `releases` refer to.
fn named_lock(name: &'static str, site: &'static Location<'static>) -> ResourceKey {
    with_named(|named| {
        *named.locks.entry(name).or_insert_with(|| {
            registry::register_named(ResourceKind::Mutex, name, site, Shared::Lock)
        })
    })
}

/// The executor called `name`: the program's own if it has one, else the attribute's.
fn executor(name: &'static str) -> Executor {
    if let Some(entry) = registry::find_named(name, ResourceKind::Executor) {
        if let Some(shared) = entry.shared.state_as::<ExecutorShared>() {
            return Executor { shared };
        }
    }
    with_named(|named| {
        named
            .executors
            .entry(name)
            .or_insert_with(|| Executor::new(name))
            .clone()
    })
}

/// The wait a blocking receive on this thread is, when the function it is in queued
/// work through a `schedules` function and has not received since: a wait for that
/// executor's work (as `waits_for` would declare), at the receive's own site.
pub fn receive_after_scheduling() -> Option<(ResourceKey, WaitKind, u64)> {
    let (name, depth) = SCHEDULED.try_with(|scheduled| scheduled.get()).ok()??;
    let here = crate::probe::slot::with_current(|slot| slot.context_depth())?;
    if here < depth {
        // The function that queued the work has returned: the mark is stale.
        let _ = SCHEDULED.try_with(|scheduled| scheduled.set(None));
        return None;
    }
    if here != depth {
        return None;
    }
    let _ = SCHEDULED.try_with(|scheduled| scheduled.set(None));
    Some(wait_target(name))
}

thread_local! {
    /// The executor a `schedules` function of this thread last queued work to, and the
    /// context depth of the function that called it.
    static SCHEDULED: std::cell::Cell<Option<(&'static str, usize)>> =
        const { std::cell::Cell::new(None) };

    /// Executors this thread serves through a role, for the rest of its life.
    static SERVING: RefCell<Vec<(Arc<ExecutorShared>, crate::sync::Enrolled)>> =
        const { RefCell::new(Vec::new()) };
}

fn serve(executor: &Executor) {
    let _ = SERVING.try_with(|serving| {
        let mut serving = serving.borrow_mut();
        if !serving
            .iter()
            .any(|(shared, _)| Arc::ptr_eq(shared, &executor.shared))
        {
            serving.push((executor.shared.clone(), executor.enroll()));
        }
    });
}

/// What `waits_for = "name"` waits on: the key, the kind of wait, and the state it
/// started from.
fn wait_target(name: &'static str) -> (ResourceKey, WaitKind, u64) {
    for kind in [
        ResourceKind::Barrier,
        ResourceKind::Job,
        ResourceKind::Event,
        ResourceKind::Executor,
    ] {
        if let Some(entry) = registry::find_named(name, kind) {
            let token = entry
                .shared
                .state_as::<BarrierShared>()
                .map_or(0, |barrier| barrier.state.lock().generation);
            let wait = match kind {
                ResourceKind::Barrier | ResourceKind::Job => WaitKind::Spin,
                _ => WaitKind::Event,
            };
            return (entry.info.key, wait, token);
        }
    }
    let event = with_named(|named| {
        named
            .events
            .entry(name)
            .or_insert_with(|| crate::sync::Event::new(name))
            .clone()
    });
    (event.key(), WaitKind::Event, 0)
}

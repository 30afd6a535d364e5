//! The model every mode shares: who waits (threads), for what (resources and the
//! events that end waits), and where (sites).
//!
//! No threads, no I/O and no dependency but `serde`: the offline analyzer and the
//! probe share it.

mod context;
mod event;
mod trace;

pub use context::{last_name, Context};
pub use event::{Event, EventKind, WaitEnd};
pub use trace::{ThreadInfo, TraceEnd, TraceHeader, TraceLine, TRACE_SCHEMA};

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// A thread, as waitgraph numbers it: small, never reused within a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ThreadKey(pub u64);

/// One resource instance (a lock, a barrier, a channel, a job...): never reused within
/// a process, so a dropped lock and a new one at the same address stay apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResourceKey(pub u64);

/// A place in the source.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Site {
    pub file: Cow<'static, str>,
    pub line: u32,
    #[serde(default)]
    pub column: u32,
    /// The enclosing function, where known (from the attribute or a function context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<Cow<'static, str>>,
}

impl Site {
    /// The site of a `#[track_caller]` location.
    pub fn from_location(location: &'static std::panic::Location<'static>) -> Site {
        Site {
            file: Cow::Borrowed(location.file()),
            line: location.line(),
            column: location.column(),
            function: None,
        }
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)?;
        if let Some(function) = &self.function {
            write!(f, " in {function}")?;
        }
        Ok(())
    }
}

/// What kind of thing a resource is. It decides who can end a wait on it (see
/// `DESIGN.md`: AND for locks and barriers, OR for condvars, channels and queued jobs,
/// k-of-n for a barrier fed by a pool).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    Mutex,
    RwLock,
    Condvar,
    Barrier,
    Channel,
    /// A thread, waited for by `join`.
    Thread,
    /// A job queued to an executor, waited for until it completes.
    Job,
    /// An executor (a pool, an event loop): the threads that run queued jobs.
    Executor,
    /// A named event that a spin-wait or a custom wait declares.
    Event,
    /// A shared variable (read and written; traces from other tools).
    Variable,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Mutex => "mutex",
            ResourceKind::RwLock => "rwlock",
            ResourceKind::Condvar => "condvar",
            ResourceKind::Barrier => "barrier",
            ResourceKind::Channel => "channel",
            ResourceKind::Thread => "thread",
            ResourceKind::Job => "job",
            ResourceKind::Executor => "executor",
            ResourceKind::Event => "event",
            ResourceKind::Variable => "variable",
        }
    }
}

/// How a lock is requested or held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockMode {
    Exclusive,
    Shared,
    Upgradable,
}

impl LockMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::Exclusive => "exclusive",
            LockMode::Shared => "shared",
            LockMode::Upgradable => "upgradable",
        }
    }
}

/// What a blocked thread is doing. Together with the resource it decides the wait's
/// providers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaitKind {
    /// Acquiring a lock.
    Lock(LockMode),
    /// A shared acquire that does not yield to waiting writers (`read_recursive`).
    ReadRecursive,
    /// Waiting on a condition variable for a notification.
    Condvar,
    /// Waiting at a barrier for the other parties.
    Barrier,
    /// Joining a thread.
    Join,
    /// Waiting for a queued job to complete.
    Job,
    /// Receiving from a channel.
    Recv,
    /// Sending on a full bounded channel.
    Send,
    /// A busy loop that polls for an instance (a barrier) or a named event.
    Spin,
    /// A custom blocking wait for a named event.
    Event,
    /// A worker waiting for work on its own executor: never part of a deadlock, since
    /// it runs the next queued job.
    Idle,
}

impl WaitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WaitKind::Lock(LockMode::Exclusive) => "lock",
            WaitKind::Lock(LockMode::Shared) => "read",
            WaitKind::Lock(LockMode::Upgradable) => "upgradable-read",
            WaitKind::ReadRecursive => "read-recursive",
            WaitKind::Condvar => "condvar-wait",
            WaitKind::Barrier => "barrier-wait",
            WaitKind::Join => "join",
            WaitKind::Job => "job-wait",
            WaitKind::Recv => "recv",
            WaitKind::Send => "send",
            WaitKind::Spin => "spin-wait",
            WaitKind::Event => "event-wait",
            WaitKind::Idle => "idle",
        }
    }
}

/// A resource's class: the name the user gave it, or else its creation site. Classes
/// group instances for prediction; live reports name both.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "by", content = "value")]
pub enum Class {
    Named(Cow<'static, str>),
    Site(Site),
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Class::Named(name) => f.write_str(name),
            Class::Site(site) => write!(f, "{}:{}:{}", site.file, site.line, site.column),
        }
    }
}

/// What a report says about one resource instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceInfo {
    pub key: ResourceKey,
    pub kind: ResourceKind,
    pub class: Class,
    /// Where the instance was created.
    pub created: Site,
}

impl ResourceInfo {
    /// How reports name the resource: its name, or its kind and creation site.
    pub fn label(&self) -> String {
        match &self.class {
            Class::Named(name) => name.to_string(),
            Class::Site(site) => format!(
                "{} created at {}:{}",
                self.kind.as_str(),
                site.file,
                site.line
            ),
        }
    }
}

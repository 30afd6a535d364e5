use super::{LockMode, ResourceKey, Site, ThreadKey, WaitKind};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// One thing a thread did that matters for waits: the unit of a recorded trace.
///
/// | event | who emits it | meaning for the model |
/// |---|---|---|
/// | `LockRequested` | a thread about to acquire | it may block until the holders release |
/// | `LockAcquired` / `LockReleased` | the holder | it now owes (no longer owes) a release |
/// | `WaitBegin` / `WaitEnd` | the waiter | blocked on an event, ended woken or timed out |
/// | `Notify` | a condvar notifier | the notifier provides the condvar's event |
/// | `BarrierArrive` | a party | one arrival of the barrier's count (`parties` of them open it) |
/// | `Send` | a channel sender | provides a receive |
/// | `BarrierFedBy` | a thread about to wait for the barrier | its arrivals come from jobs of the executor (k free workers of n) |
/// | `ProducerDeclared` / `ProducerDropped` | a declared producer of a named event | it owes the event meanwhile |
/// | `Enroll` / `Leave` | a worker of an executor, a party of a barrier | it serves the executor (owes a free worker when not idle), it owes arrivals |
/// | `JobQueued` / `JobStarted` / `JobFinished` | submitter / worker / worker | the worker owes the job's completion while it runs |
/// | `ThreadStart` / `ThreadExit` | the thread itself | join waits end at exit |
/// | `Fork` / `Join` | the parent / the joiner | the child starts after the fork; the joiner goes on after the child's end (happens-before) |
/// | `Read` / `Write` | an access to a shared variable (traces from other tools) | ordering through memory |
/// | `Enter` / `Exit` | instrumented functions | context for reports |
/// | `Lost` | the recorder, first in a thread's events after some of them were dropped | what the thread held and did is unknown from here back |
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Monotonic order within one recording.
    pub seq: u64,
    pub thread: ThreadKey,
    #[serde(flatten)]
    pub kind: EventKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<Site>,
}

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaitEnd {
    Woken,
    TimedOut,
    Cancelled,
}

/// The kinds of [`Event`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum EventKind {
    LockRequested {
        resource: ResourceKey,
        mode: LockMode,
    },
    LockAcquired {
        resource: ResourceKey,
        mode: LockMode,
    },
    LockReleased {
        resource: ResourceKey,
        mode: LockMode,
    },
    WaitBegin {
        resource: ResourceKey,
        wait: WaitKind,
        timed: bool,
    },
    WaitEnd {
        resource: ResourceKey,
        end: WaitEnd,
    },
    Notify {
        resource: ResourceKey,
        all: bool,
    },
    BarrierArrive {
        resource: ResourceKey,
        /// How many arrivals open the barrier (0: not known, a std barrier's).
        #[serde(default)]
        parties: u64,
    },
    Send {
        resource: ResourceKey,
    },
    /// Arrivals at `barrier` come from jobs queued to `executor`.
    BarrierFedBy {
        barrier: ResourceKey,
        executor: ResourceKey,
    },
    /// This thread will produce the named event `resource` (until `ProducerDropped`).
    ProducerDeclared {
        resource: ResourceKey,
    },
    ProducerDropped {
        resource: ResourceKey,
    },
    /// This thread now serves the executor, or is a party of the barrier, `resource`.
    Enroll {
        resource: ResourceKey,
    },
    /// It no longer does.
    Leave {
        resource: ResourceKey,
    },
    JobQueued {
        job: ResourceKey,
        executor: ResourceKey,
    },
    JobStarted {
        job: ResourceKey,
        executor: ResourceKey,
    },
    JobFinished {
        job: ResourceKey,
        executor: ResourceKey,
    },
    ThreadStart {
        name: Option<Cow<'static, str>>,
    },
    ThreadExit,
    /// This thread started `child`.
    Fork {
        child: ThreadKey,
    },
    /// This thread's join of `child` returned.
    Join {
        child: ThreadKey,
    },
    Read {
        resource: ResourceKey,
    },
    Write {
        resource: ResourceKey,
    },
    Enter {
        function: Cow<'static, str>,
    },
    Exit {
        function: Cow<'static, str>,
    },
    /// `events` of this thread, just before this point, were dropped by the recorder.
    Lost {
        events: u64,
    },
}

impl EventKind {
    /// The resources the event names (a job's event names the job and its executor).
    pub fn resources(&self) -> impl Iterator<Item = ResourceKey> {
        let (first, second) = match self {
            EventKind::LockRequested { resource, .. }
            | EventKind::LockAcquired { resource, .. }
            | EventKind::LockReleased { resource, .. }
            | EventKind::WaitBegin { resource, .. }
            | EventKind::WaitEnd { resource, .. }
            | EventKind::Notify { resource, .. }
            | EventKind::BarrierArrive { resource, .. }
            | EventKind::Send { resource }
            | EventKind::Read { resource }
            | EventKind::Write { resource }
            | EventKind::ProducerDeclared { resource }
            | EventKind::ProducerDropped { resource }
            | EventKind::Enroll { resource }
            | EventKind::Leave { resource } => (Some(*resource), None),
            EventKind::BarrierFedBy { barrier, executor } => (Some(*barrier), Some(*executor)),
            EventKind::JobQueued { job, executor }
            | EventKind::JobStarted { job, executor }
            | EventKind::JobFinished { job, executor } => (Some(*job), Some(*executor)),
            EventKind::ThreadStart { .. }
            | EventKind::ThreadExit
            | EventKind::Fork { .. }
            | EventKind::Join { .. }
            | EventKind::Enter { .. }
            | EventKind::Exit { .. }
            | EventKind::Lost { .. } => (None, None),
        };
        first.into_iter().chain(second).filter(|key| key.0 != 0)
    }

    /// Renumbers the resources and threads the event names (what keeps the keys of
    /// several traces apart when they are analysed together).
    pub fn rekey(
        &mut self,
        thread: impl Fn(ThreadKey) -> ThreadKey,
        resource: impl Fn(ResourceKey) -> ResourceKey,
    ) {
        match self {
            EventKind::LockRequested { resource: r, .. }
            | EventKind::LockAcquired { resource: r, .. }
            | EventKind::LockReleased { resource: r, .. }
            | EventKind::WaitBegin { resource: r, .. }
            | EventKind::WaitEnd { resource: r, .. }
            | EventKind::Notify { resource: r, .. }
            | EventKind::BarrierArrive { resource: r, .. }
            | EventKind::Send { resource: r }
            | EventKind::Read { resource: r }
            | EventKind::Write { resource: r }
            | EventKind::ProducerDeclared { resource: r }
            | EventKind::ProducerDropped { resource: r }
            | EventKind::Enroll { resource: r }
            | EventKind::Leave { resource: r } => *r = resource(*r),
            EventKind::BarrierFedBy {
                barrier: a,
                executor: b,
            }
            | EventKind::JobQueued {
                job: a,
                executor: b,
            }
            | EventKind::JobStarted {
                job: a,
                executor: b,
            }
            | EventKind::JobFinished {
                job: a,
                executor: b,
            } => {
                *a = resource(*a);
                *b = resource(*b);
            }
            EventKind::Fork { child } | EventKind::Join { child } => *child = thread(*child),
            EventKind::ThreadStart { .. }
            | EventKind::ThreadExit
            | EventKind::Enter { .. }
            | EventKind::Exit { .. }
            | EventKind::Lost { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_json_with_a_flat_tag() {
        let event = Event {
            seq: 7,
            thread: ThreadKey(2),
            kind: EventKind::LockAcquired {
                resource: ResourceKey(9),
                mode: LockMode::Shared,
            },
            site: None,
        };
        let text = serde_json::to_string(&event).unwrap();
        assert_eq!(
            text,
            r#"{"seq":7,"thread":2,"event":"lock-acquired","resource":9,"mode":"shared"}"#
        );
        assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), event);
    }
}

//! The findings model every mode reports in (`DESIGN.md`, "Report contract").
//!
//! One model, many printers: the watchdog writes it as JSON; the analyzer's printers
//! render it as text, JSON, DOT, HTML and SARIF.

use crate::model::Site;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The JSON schema version. Bump it when a field changes meaning or goes away.
pub const SCHEMA: u32 = 1;

/// A whole report: what one run of the watchdog, the trace analyzer or the static
/// analyzer found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: u32,
    pub tool: String,
    pub version: String,
    pub mode: Mode,
    pub findings: Vec<Finding>,
    /// The probe's own troubles (a held-lock table that overflowed, a report file that
    /// could not be written...): counted, never a panic in the host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probe_errors: Vec<String>,
    /// Findings left out to keep the report bounded (the oldest first), counted by kind.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub omitted: BTreeMap<FindingKind, u64>,
}

impl Report {
    pub fn new(mode: Mode, findings: Vec<Finding>) -> Report {
        Report {
            schema: SCHEMA,
            tool: "waitgraph".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            mode,
            findings,
            probe_errors: Vec::new(),
            omitted: BTreeMap::new(),
        }
    }
}

/// Where the findings come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Live,
    Trace,
    Static,
}

/// What was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// Threads that are blocked for good: it happened.
    Deadlock,
    /// A cycle that did not happen in this run but can in another interleaving.
    PotentialDeadlock,
    LockOrderInversion,
    DoubleLock,
    BlockingUnderLock,
    QueuedWorkSelfStall,
    /// A wait that nothing later in the run could have ended.
    OrphanedWait,
    /// A condition variable used so that a wake-up can be lost or taken for the
    /// condition (found by `waitgraph check`).
    CondvarMisuse,
    /// A wait that has lasted longer than the threshold.
    Stall,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Deadlock => "deadlock",
            FindingKind::PotentialDeadlock => "potential-deadlock",
            FindingKind::LockOrderInversion => "lock-order-inversion",
            FindingKind::DoubleLock => "double-lock",
            FindingKind::BlockingUnderLock => "blocking-under-lock",
            FindingKind::QueuedWorkSelfStall => "queued-work-self-stall",
            FindingKind::OrphanedWait => "orphaned-wait",
            FindingKind::CondvarMisuse => "condvar-misuse",
            FindingKind::Stall => "stall",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding: a cycle (or, for a stall, a wait chain) and the threads stuck behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    /// True when it was seen to happen (a live deadlock confirmed by two scans), false
    /// for a prediction.
    pub confirmed: bool,
    pub summary: String,
    /// The cycle, starting at a fixed thread (the one first registered), each step
    /// waiting for something the next step provides; for a stall, the wait chain.
    pub cycle: Vec<Step>,
    /// Threads deadlocked with the cycle (in the same knot of waits) but not on the
    /// cycle reported: for example the other workers of a pool, each of which could
    /// have ended the wait.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_deadlocked: Vec<Step>,
    /// Threads blocked on the cycle without being part of it.
    #[serde(default)]
    pub victims: Vec<Step>,
    /// For a prediction: an interleaving that would hang, in plain words, one line per
    /// step (what each thread does, in an order that closes the cycle).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scenario: Vec<String>,
}

/// One blocked thread: what it waits for, where, and what it holds meanwhile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub thread: String,
    /// The probe's number for the thread (stable within one process).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_key: Option<u64>,
    pub waits_for: WaitsFor,
    #[serde(default)]
    pub holds: Vec<Held>,
    /// Where the thread waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<Site>,
    /// The threads that could end the wait (the next step of the cycle among them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked_by: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waited_ms: Option<u64>,
    /// The function contexts the thread is in, outermost first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backtrace: Option<String>,
    /// For a prediction: the event of the trace this step is taken from (its `seq`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<u64>,
}

/// The event a step waits for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaitsFor {
    /// The resource's name, or its kind and creation site.
    pub resource: String,
    /// The resource's kind (`mutex`, `barrier`, `job`...).
    pub kind: String,
    /// What the thread does (`lock`, `read`, `barrier-wait`, `spin-wait`...).
    pub wait: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Site>,
}

/// A lock a blocked thread holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Held {
    pub resource: String,
    pub mode: String,
    /// Where it was acquired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<Site>,
}

impl Finding {
    /// The cycle in plain words, one line per thread, as a person would say it.
    pub fn describe(&self) -> String {
        let mut text = format!("{}: {}\n", self.kind.as_str(), self.summary);
        for (index, step) in self.cycle.iter().enumerate() {
            let next = &self.cycle[(index + 1) % self.cycle.len()].thread;
            let _ = write!(text, "  thread `{}` ", step.thread);
            if !step.holds.is_empty() {
                let held: Vec<&str> = step.holds.iter().map(|h| h.resource.as_str()).collect();
                let _ = write!(text, "holds {} and ", held.join(", "));
            }
            let _ = write!(
                text,
                "waits ({}) for `{}`",
                step.waits_for.wait, step.waits_for.resource
            );
            if let Some(site) = &step.site {
                let _ = write!(text, " at {site}");
            }
            // Only along a cycle: a stall's chain, an orphaned wait or a process in which
            // every thread waits has no next thread to name.
            if self.kind != FindingKind::Stall && step.blocked_by.contains(next) {
                let _ = write!(text, ", which needs `{next}`");
            }
            text.push('\n');
        }
        for group in self.others() {
            let _ = writeln!(text, "  {group}");
        }
        text
    }

    /// The threads deadlocked with the cycle and those stuck behind it, grouped by role
    /// and by what they wait for: a pool's worth of clients is one group.
    pub fn others(&self) -> Vec<Others<'_>> {
        let mut groups: Vec<Others> = Vec::new();
        let also = self.also_deadlocked.iter().map(|s| ("also deadlocked", s));
        for (role, other) in also.chain(self.victims.iter().map(|s| ("victims", s))) {
            let (wait, resource) = (
                other.waits_for.wait.as_str(),
                other.waits_for.resource.as_str(),
            );
            match groups
                .iter_mut()
                .find(|g| g.role == role && g.wait == wait && g.resource == resource)
            {
                Some(group) => group.threads.push(&other.thread),
                None => groups.push(Others {
                    role,
                    wait,
                    resource,
                    threads: vec![&other.thread],
                }),
            }
        }
        groups
    }
}

/// Threads in one role (`also deadlocked`, `victims`) waiting the same way for the same
/// resource. Displayed as one line that names the first few.
#[derive(Clone, Debug, PartialEq)]
pub struct Others<'a> {
    pub role: &'static str,
    pub wait: &'a str,
    pub resource: &'a str,
    pub threads: Vec<&'a str>,
}

impl Others<'_> {
    /// How many threads a line names before it says "and N more".
    pub const SHOWN: usize = 6;
}

impl std::fmt::Display for Others<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let who = if self.threads.len() == 1 {
            "thread waits"
        } else {
            "threads wait"
        };
        write!(
            f,
            "{}: {} {who} ({}) for `{}`: ",
            self.role,
            self.threads.len(),
            self.wait,
            self.resource
        )?;
        for (index, thread) in self.threads.iter().take(Self::SHOWN).enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "`{thread}`")?;
        }
        if self.threads.len() > Self::SHOWN {
            write!(f, ", and {} more", self.threads.len() - Self::SHOWN)?;
        }
        Ok(())
    }
}

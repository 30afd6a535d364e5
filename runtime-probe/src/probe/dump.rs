//! [`dump`]: the wait-for graph as it is now, for a process that seems hung.

use super::registry;
use super::snapshot::Scan;
use crate::report::{Finding, Step};
use serde::{Deserialize, Serialize};

/// Every live instrumented thread and what it is doing, with the deadlocks one scan sees
/// (unconfirmed: a single scan may see a torn view).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GraphDump {
    pub threads: Vec<Step>,
    pub findings: Vec<Finding>,
    /// Resources the registry knows (bounded by what is alive).
    pub resources: usize,
    /// Failures of the probe itself (for example a thread holding more locks than its
    /// table keeps).
    pub probe_errors: usize,
}

impl GraphDump {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// The current graph, on demand.
///
/// ```
/// let dump = waitgraph::dump();
/// assert!(dump.findings.is_empty());
/// ```
pub fn dump() -> GraphDump {
    let scan = Scan::take();
    let threads = (0..scan.world.threads.len())
        .map(|n| scan.step(n, false))
        .collect();
    let findings = scan
        .groups
        .iter()
        .map(|g| scan.deadlock_finding(g, false))
        .collect();
    let overflow: usize = scan.held_overflow();
    GraphDump {
        threads,
        findings,
        resources: registry::resource_count(),
        probe_errors: registry::probe_errors() + overflow,
    }
}

//! SARIF 2.1.0 for code scanning (GitHub's upload, editors' SARIF viewers), built through
//! `serde-sarif`'s typed model: one rule per finding kind with its help text, one result
//! per finding. A result's location is where the first thread of the cycle waits; every
//! step (each wait, each lock held and where it was taken) is a related location with
//! its message, so a viewer walks the cycle. Paths stay relative to the source root
//! (`%SRCROOT%`) as the program's sites give them; absolute ones become `file://` URIs.

use serde_sarif::sarif::{
    ArtifactLocation, Location, Message, MultiformatMessageString, PhysicalLocation, Region,
    ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif, Tool, ToolComponent,
    SCHEMA_URL,
};
use std::io::{self, Write};
use waitgraph_core::model::Site;
use waitgraph_core::report::{Finding, FindingKind, Report, Severity};

/// Every kind a report may hold, in the order the rules are listed.
const KINDS: [FindingKind; 9] = [
    FindingKind::Deadlock,
    FindingKind::PotentialDeadlock,
    FindingKind::LockOrderInversion,
    FindingKind::DoubleLock,
    FindingKind::BlockingUnderLock,
    FindingKind::QueuedWorkSelfStall,
    FindingKind::OrphanedWait,
    FindingKind::CondvarMisuse,
    FindingKind::Stall,
];

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &sarif(report)).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// The SARIF log of `report`.
pub fn sarif(report: &Report) -> Sarif {
    let rules: Vec<ReportingDescriptor> = KINDS.iter().map(|kind| rule(*kind)).collect();
    let driver = ToolComponent::builder()
        .name(report.tool.clone())
        .version(report.version.clone())
        .information_uri("https://example.invalid/waitgraph".to_owned())
        .rules(rules)
        .build();
    let results: Vec<SarifResult> = report.findings.iter().map(result).collect();
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .build();
    Sarif::builder()
        .schema(SCHEMA_URL.to_owned())
        .version(serde_json::json!("2.1.0"))
        .runs(vec![run])
        .build()
}

fn rule(kind: FindingKind) -> ReportingDescriptor {
    let (name, short, help) = describe(kind);
    ReportingDescriptor::builder()
        .id(kind.as_str().to_owned())
        .name(name.to_owned())
        .short_description(text(short))
        .full_description(text(short))
        .help(text(help))
        .build()
}

/// A rule's name, one-line description and help text.
fn describe(kind: FindingKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        FindingKind::Deadlock => (
            "Deadlock",
            "Threads blocked for good, each waiting for something only another of them can provide.",
            "The program hung here: every thread of the cycle waits for a lock, barrier, condition, channel, join or queued job that only the next thread can release or provide, and that thread waits too. Break the cycle: release what you hold before you wait (or wait with a bound and give back the lock on time-out), take locks in one global order, or do not block on work queued to threads that cannot run it while you wait.",
        ),
        FindingKind::PotentialDeadlock => (
            "PotentialDeadlock",
            "A cycle of waits that another interleaving of this run can close: the program can hang.",
            "The recorded run did not hang, but its threads took and waited for these resources in orders that form a cycle; the interleaving given with the finding hangs. Fix it as a deadlock: one order for locks, no blocking wait while holding what the provider of that wait needs.",
        ),
        FindingKind::LockOrderInversion => (
            "LockOrderInversion",
            "Two locks taken in both orders by different threads.",
            "One thread takes A then B, another B then A: run together they can deadlock. Pick one order for the pair and keep to it everywhere, or merge the locks.",
        ),
        FindingKind::DoubleLock => (
            "DoubleLock",
            "A thread takes a lock it already holds.",
            "A non-reentrant lock taken twice by one thread waits for itself forever. Pass the guard down instead of locking again, or split the function so the inner part takes the guard.",
        ),
        FindingKind::BlockingUnderLock => (
            "BlockingUnderLock",
            "A blocking wait while a lock is held.",
            "Waiting (on a condition, a channel, a join, a barrier or a spin) while holding a lock stalls every thread that needs the lock, and deadlocks if the awaited thread needs it. Release the lock before waiting, or wait with a bound.",
        ),
        FindingKind::QueuedWorkSelfStall => (
            "QueuedWorkSelfStall",
            "A thread waits for work it queued to threads that it is itself stalling.",
            "The thread queued a job (or expects workers to reach a barrier) and waits for it while holding what those workers need, or while being the only thread that could run it. Release what the workers need before waiting for them, wait with a bound, or run the work inline.",
        ),
        FindingKind::OrphanedWait => (
            "OrphanedWait",
            "A wait that nothing left in the program can end.",
            "Every thread that could notify, send or arrive has ended or is blocked: the wait never returns. Make sure a notifier outlives the waiter, or wait with a bound.",
        ),
        FindingKind::CondvarMisuse => (
            "CondvarMisuse",
            "A condition variable used so that a wake-up can be lost or mistaken.",
            "A wait outside a loop returns on a spurious wake-up or on a notification meant for another waiter, before its condition holds: wait in a loop on the condition, or with `wait_while`. A notification sent without the waiters' mutex, by a thread that changed the condition without it, reaches no one when the waiter has checked the condition and not yet started waiting: change the condition under the mutex.",
        ),
        FindingKind::Stall => (
            "Stall",
            "A wait that lasted longer than the threshold.",
            "A thread waited longer than the watchdog's threshold for a resource whose provider keeps running: not a deadlock, but a chain of waits worth shortening (hold locks for less time, avoid waiting under a lock).",
        ),
    }
}

fn text(text: &str) -> MultiformatMessageString {
    MultiformatMessageString::builder()
        .text(text.to_owned())
        .build()
}

fn message(text: String) -> Message {
    Message::builder().text(text).build()
}

fn result(finding: &Finding) -> SarifResult {
    let level = match finding.severity {
        Severity::Error => ResultLevel::Error,
        Severity::Warning => ResultLevel::Warning,
    };
    let rule_index = KINDS.iter().position(|k| *k == finding.kind).unwrap_or(0) as i64;
    let mut related = Vec::new();
    for (index, step) in finding.cycle.iter().enumerate() {
        if let Some(site) = &step.site {
            let mut said = format!(
                "`{}` waits ({}) for `{}`",
                step.thread, step.waits_for.wait, step.waits_for.resource
            );
            let next = &finding.cycle[(index + 1) % finding.cycle.len()].thread;
            if finding.cycle.len() > 1
                && finding.kind != FindingKind::Stall
                && step.blocked_by.contains(next)
            {
                said.push_str(&format!(", which needs `{next}`"));
            }
            related.push(location(site, said));
        }
        for held in &step.holds {
            if let Some(site) = &held.site {
                let said = format!(
                    "`{}` holds `{}` ({}), taken here",
                    step.thread, held.resource, held.mode
                );
                related.push(location(site, said));
            }
        }
    }
    for (id, location) in related.iter_mut().enumerate() {
        location.id = Some(id as i64);
    }
    let primary = finding
        .cycle
        .iter()
        .find_map(|step| step.site.as_ref().map(|site| (step, site)))
        .map(|(step, site)| {
            location(
                site,
                format!("`{}` waits for `{}`", step.thread, step.waits_for.resource),
            )
        });
    let mut said = format!("{}: {}", finding.kind.as_str(), finding.summary);
    for group in finding.others() {
        said.push_str(&format!("\n{group}"));
    }
    if !finding.scenario.is_empty() {
        said.push_str("\nAn interleaving that hangs:");
        for line in &finding.scenario {
            said.push_str(&format!("\n{line}"));
        }
    }
    let builder = SarifResult::builder()
        .rule_id(finding.kind.as_str().to_owned())
        .rule_index(rule_index)
        .level(level)
        .message(message(said))
        .related_locations(related);
    match primary {
        Some(primary) => builder.locations(vec![primary]).build(),
        None => builder.build(),
    }
}

fn location(site: &Site, said: String) -> Location {
    let artifact = if site.file.starts_with('/') {
        ArtifactLocation::builder()
            .uri(format!("file://{}", uri_path(&site.file)))
            .build()
    } else {
        ArtifactLocation::builder()
            .uri(uri_path(&site.file))
            .uri_base_id("%SRCROOT%".to_owned())
            .build()
    };
    let region = if site.column > 0 {
        Region::builder()
            .start_line(i64::from(site.line.max(1)))
            .start_column(i64::from(site.column))
            .build()
    } else {
        Region::builder()
            .start_line(i64::from(site.line.max(1)))
            .build()
    };
    Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(artifact)
                .region(region)
                .build(),
        )
        .message(message(said))
        .build()
}

/// A path as a URI path: `\` as `/` (a Windows build's sites), and every byte outside
/// the unreserved set and `/` percent-encoded.
fn uri_path(path: &str) -> String {
    let mut uri = String::with_capacity(path.len());
    for byte in path.replace('\\', "/").bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                uri.push(byte as char)
            }
            _ => uri.push_str(&format!("%{byte:02X}")),
        }
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_paths() {
        assert_eq!(uri_path("src/a b.rs"), "src/a%20b.rs");
        assert_eq!(uri_path("src\\pool.rs"), "src/pool.rs");
        assert_eq!(uri_path("crates/é.rs"), "crates/%C3%A9.rs");
    }

    #[test]
    fn every_kind_has_a_rule() {
        let report = Report::new(waitgraph_core::report::Mode::Trace, Vec::new());
        let log = sarif(&report);
        let rules = log.runs[0].tool.driver.rules.as_ref().unwrap();
        assert_eq!(rules.len(), KINDS.len());
        for kind in KINDS {
            assert!(rules.iter().any(|r| r.id == kind.as_str()), "{kind:?}");
        }
    }
}

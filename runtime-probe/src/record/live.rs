//! Prediction inside the running program: the trace analyzer's engine
//! ([`Predictor`]) fed from the recorder's buffers on the writer thread, no file needed.
//! Turned on by [`WatchdogBuilder::predict`](crate::WatchdogBuilder::predict) or
//! `WAITGRAPH_PREDICT=1`; the watchdog reports what it finds.
//!
//! | step | where | cost |
//! |---|---|---|
//! | each event | the recording thread | what a streaming recording costs (the writer takes it) |
//! | feeding | the writer thread | the engine's streaming pass (about 70 ns an event) |
//! | a check, every [`CHECK_EVERY`] when events came | the writer thread | a copy of the engine's state (bounded by classes, threads and instances, not events) and its cycle search |
//! | a new potential cycle | the watchdog's next scan | reported once, as a warning (report file, standard error, `tracing`, callback) |
//!
//! A finding is new when its kind and the resources its cycle waits for were not
//! reported before: the same cycle seen again through other threads is not repeated.

use crate::model::{Event, ResourceKey, ThreadInfo, ThreadKey, TraceLine};
use crate::predict::Predictor;
use crate::probe::registry;
use crate::report::{Finding, Severity};
use parking_lot::Mutex;
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};
use waitgraph_core::binary::IdHasher;

/// How often the engine looks for cycles, while events come.
pub const CHECK_EVERY: Duration = Duration::from_millis(250);

struct Live {
    predictor: Predictor,
    threads: HashSet<ThreadKey, IdHasher>,
    resources: HashSet<ResourceKey, IdHasher>,
    reported: HashSet<(String, BTreeSet<String>)>,
    fed_since_check: u64,
    checked: Instant,
}

static LIVE: Mutex<Option<Live>> = Mutex::new(None);
static PREDICTED: Mutex<Vec<Finding>> = Mutex::new(Vec::new());

/// Turns in-process prediction on: from now on the writer thread feeds the engine.
pub(crate) fn start() -> std::io::Result<()> {
    LIVE.lock().get_or_insert_with(|| Live {
        predictor: Predictor::default(),
        threads: HashSet::default(),
        resources: HashSet::default(),
        reported: HashSet::new(),
        fed_since_check: 0,
        checked: Instant::now(),
    });
    super::file::record_for_prediction()
}

/// Feeds `thread`'s batch to the engine, if prediction is on; gives the batch back when
/// `keep` (a file takes it next).
pub(crate) fn feed(thread: &ThreadInfo, batch: Vec<Event>, keep: bool) -> Vec<Event> {
    let mut live = LIVE.lock();
    let Some(live) = live.as_mut() else {
        return batch;
    };
    if live.threads.insert(thread.key) {
        live.predictor.feed(TraceLine::Thread(thread.clone()));
    }
    live.fed_since_check += batch.len() as u64;
    let feed = |live: &mut Live, event: Event| {
        for key in event.kind.resources() {
            if live.resources.insert(key) {
                if let Some(info) = registry::describe(key) {
                    live.predictor.feed(TraceLine::Resource(info));
                }
            }
        }
        live.predictor.feed(TraceLine::Event(event));
    };
    if keep {
        for event in &batch {
            feed(live, event.clone());
        }
        batch
    } else {
        for event in batch {
            feed(live, event);
        }
        Vec::new()
    }
}

/// Looks for cycles if it is time (or the recording ends) and events came since the
/// last look; new ones wait for the watchdog.
pub(crate) fn check(last: bool) {
    let mut live = LIVE.lock();
    let Some(live) = live.as_mut() else {
        return;
    };
    if live.fed_since_check == 0 || (!last && live.checked.elapsed() < CHECK_EVERY) {
        return;
    }
    live.fed_since_check = 0;
    live.checked = Instant::now();
    let prediction = live.predictor.clone().finish();
    let mut new = Vec::new();
    for mut finding in prediction.findings {
        let waits_for = finding
            .cycle
            .iter()
            .map(|step| step.waits_for.resource.clone())
            .collect();
        if live
            .reported
            .insert((format!("{:?}", finding.kind), waits_for))
        {
            finding.severity = Severity::Warning;
            new.push(finding);
        }
    }
    if !new.is_empty() {
        PREDICTED.lock().extend(new);
    }
}

/// The potential cycles found since the last call: what the watchdog reports.
pub(crate) fn take_predicted() -> Vec<Finding> {
    std::mem::take(&mut *PREDICTED.lock())
}

/// The process exits: what was predicted and not yet reported is said on standard error
/// (the watchdog will not scan again).
pub(crate) fn say_unreported() {
    for finding in take_predicted() {
        eprintln!("waitgraph: {}", finding.describe());
    }
}

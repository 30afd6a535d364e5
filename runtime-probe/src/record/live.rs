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

use super::file::{Described, Raw};
use crate::model::{ThreadInfo, TraceLine};
use crate::predict::Predictor;
use crate::report::{Finding, Severity};
use parking_lot::Mutex;
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

/// How often the engine looks for cycles, while events come.
pub const CHECK_EVERY: Duration = Duration::from_millis(250);

struct Live {
    predictor: Predictor,
    described: Described,
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
        described: Described::default(),
        reported: HashSet::new(),
        fed_since_check: 0,
        checked: Instant::now(),
    });
    let recording = super::file::record_for_prediction();
    if recording.is_err() {
        LIVE.lock().take();
    }
    recording
}

/// Turns in-process prediction off (the watchdog that wanted it stopped): what it had
/// not reported is dropped, and a recording kept only for it ends.
pub(crate) fn stop() {
    LIVE.lock().take();
    PREDICTED.lock().clear();
    super::file::stop_prediction_only();
}

/// Prediction ends without a word: the process exits on a deadlock.
pub(crate) fn stop_quietly() {
    LIVE.lock().take();
    PREDICTED.lock().clear();
}

/// Feeds `thread`'s events to the engine, if prediction is on.
pub(crate) fn feed(thread: &ThreadInfo, raws: &[Raw]) {
    let mut live = LIVE.lock();
    let Some(live) = live.as_mut() else {
        return;
    };
    if let Some(line) = live.described.thread(thread) {
        live.predictor.feed(line);
    }
    live.fed_since_check += raws.len() as u64;
    for raw in raws {
        for line in live.described.resources(&raw.kind) {
            live.predictor.feed(line);
        }
        live.predictor
            .feed(TraceLine::Event(raw.to_event(thread.key)));
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

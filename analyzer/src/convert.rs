//! `waitgraph convert`: a trace into another format.
//!
//! | `--to` | what | opened by |
//! |---|---|---|
//! | `perfetto` | Chrome trace-event JSON: one track per thread; holds, waits, jobs and instrumented functions as slices named by resource and site; each job a flow from the thread that queued it to the worker that ran it; notifications, sends and arrivals as instants; the steps of every cycle the prediction finds in the trace as instants named by the finding | <https://ui.perfetto.dev>, `chrome://tracing` |
//! | `jsonl` | waitgraph's JSON lines (from binary or RAPID STD): every thread and resource described, then the events in time order, then the end line | `waitgraph analyze`, `jq` |
//!
//! Slices on one track must nest. Locks are not always released in the reverse order of
//! their taking, so a release that is not the innermost slice ends the slices above it
//! and begins them again at the same instant (marked `"continued": true`): every begin
//! has its end, in order, and no hold is cut short.

use crate::trace::Trace;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{self, Write};
use waitgraph_core::model::{EventKind, ResourceKey, ThreadKey, TraceLine};
use waitgraph_core::report::Report;

/// The one process every thread of a trace belongs to.
const PID: u64 = 1;

/// Writes `trace` as JSON lines.
pub fn jsonl(trace: &Trace, out: &mut dyn Write) -> io::Result<()> {
    let mut line = |line: &TraceLine| -> io::Result<()> {
        serde_json::to_writer(&mut *out, line).map_err(io::Error::other)?;
        out.write_all(b"\n")
    };
    line(&TraceLine::Trace(trace.header.clone()))?;
    for thread in trace.threads.values() {
        line(&TraceLine::Thread(thread.clone()))?;
    }
    for resource in trace.resources.values() {
        line(&TraceLine::Resource(resource.clone()))?;
    }
    for event in &trace.events {
        line(&TraceLine::Event(event.clone()))?;
    }
    if let Some(end) = &trace.end {
        line(&TraceLine::End(end.clone()))?;
    }
    Ok(())
}

/// What an open slice on a thread's track stands for (how its end is recognised).
#[derive(Clone, PartialEq)]
enum Open {
    Hold(ResourceKey),
    Wait(ResourceKey),
    Job(ResourceKey),
    Function(String),
}

#[derive(Clone)]
struct Slice {
    open: Open,
    name: String,
    category: &'static str,
    args: Value,
}

/// Builds the events, keeping each thread's open slices so that they nest.
struct Timeline<'a> {
    trace: &'a Trace,
    events: Vec<Value>,
    open: HashMap<ThreadKey, Vec<Slice>>,
    /// Per job: the flow waiting for its start (queued, not started), and the thread
    /// that started it last (a job forwarded to another executor starts again).
    flows: HashMap<ResourceKey, u64>,
    ran_on: HashMap<ResourceKey, ThreadKey>,
    next_flow: u64,
}

impl Timeline<'_> {
    fn resource(&self, key: ResourceKey) -> String {
        self.trace
            .resources
            .get(&key)
            .map_or_else(|| format!("resource {}", key.0), |r| r.label())
    }

    fn begin(&mut self, thread: ThreadKey, ts: f64, slice: Slice) {
        self.events.push(json!({
            "ph": "B", "pid": PID, "tid": thread.0, "ts": ts,
            "name": slice.name, "cat": slice.category, "args": slice.args,
        }));
        self.open.entry(thread).or_default().push(slice);
    }

    /// Begins a slice that `open` will end.
    fn open(
        &mut self,
        thread: ThreadKey,
        ts: f64,
        open: Open,
        name: String,
        category: &'static str,
        args: Value,
    ) {
        let slice = Slice {
            open,
            name,
            category,
            args,
        };
        self.begin(thread, ts, slice);
    }

    /// Ends the innermost open slice that is `open`, if any; slices above it are ended
    /// and begun again.
    fn end(&mut self, thread: ThreadKey, ts: f64, open: &Open, args: Value) {
        let Some(stack) = self.open.get_mut(&thread) else {
            return;
        };
        let Some(at) = stack.iter().rposition(|s| &s.open == open) else {
            return;
        };
        let above: Vec<Slice> = stack.drain(at + 1..).collect();
        let ended = stack.pop().expect("the slice found");
        for slice in above.iter().rev() {
            self.events.push(end_event(thread, ts, slice, Value::Null));
        }
        self.events.push(end_event(thread, ts, &ended, args));
        for mut slice in above {
            slice.args["continued"] = json!(true);
            self.begin(thread, ts, slice);
        }
    }

    /// Ends every open slice of `thread` (it ended, or the trace did).
    fn end_all(&mut self, thread: ThreadKey, ts: f64) {
        let stack = self.open.remove(&thread).unwrap_or_default();
        for slice in stack.iter().rev() {
            self.events.push(end_event(thread, ts, slice, Value::Null));
        }
    }

    /// Starts a new flow on `thread`'s track; its id.
    fn flow_from(&mut self, thread: ThreadKey, ts: f64) -> u64 {
        self.next_flow += 1;
        self.events.push(json!({
            "ph": "s", "pid": PID, "tid": thread.0, "ts": ts, "id": self.next_flow,
            "name": "job", "cat": "job",
        }));
        self.next_flow
    }

    fn instant(&mut self, thread: ThreadKey, ts: f64, name: String, category: &str, args: Value) {
        self.events.push(json!({
            "ph": "i", "s": "t", "pid": PID, "tid": thread.0, "ts": ts,
            "name": name, "cat": category, "args": args,
        }));
    }
}

fn end_event(thread: ThreadKey, ts: f64, slice: &Slice, args: Value) -> Value {
    let mut event = json!({
        "ph": "E", "pid": PID, "tid": thread.0, "ts": ts,
        "name": slice.name, "cat": slice.category,
    });
    if !args.is_null() {
        event["args"] = args;
    }
    event
}

/// Microseconds, the unit of the format, from a recording's nanoseconds.
fn micros(seq: u64) -> f64 {
    seq as f64 / 1000.0
}

/// Writes `trace` as Chrome trace-event JSON; `report` (the prediction on the same trace)
/// adds the steps of its findings as instants.
pub fn perfetto(trace: &Trace, report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut timeline = Timeline {
        trace,
        events: Vec::new(),
        open: HashMap::new(),
        flows: HashMap::new(),
        ran_on: HashMap::new(),
        next_flow: 0,
    };
    timeline.events.push(json!({
        "ph": "M", "pid": PID, "name": "process_name", "args": {"name": "waitgraph trace"},
    }));
    let mut named: Vec<ThreadKey> = trace.threads.keys().copied().collect();
    for event in &trace.events {
        if !named.contains(&event.thread) {
            named.push(event.thread);
        }
    }
    for key in &named {
        let name = trace
            .threads
            .get(key)
            .and_then(|t| t.name.clone())
            .unwrap_or_else(|| format!("thread {}", key.0));
        timeline.events.push(json!({
            "ph": "M", "pid": PID, "tid": key.0, "name": "thread_name", "args": {"name": name},
        }));
    }
    let mut last = 0.0f64;
    for event in &trace.events {
        let (thread, ts) = (event.thread, micros(event.seq));
        last = last.max(ts);
        let site = event
            .site
            .as_ref()
            .map(|s| format!("{}:{}:{}", s.file, s.line, s.column));
        let at = |what: String| match &site {
            Some(site) => format!("{what} at {site}"),
            None => what,
        };
        let args = json!({ "site": site, "seq": event.seq });
        match &event.kind {
            EventKind::LockRequested { resource, mode } => {
                let name = at(format!(
                    "wait for {} ({mode:?})",
                    timeline.resource(*resource)
                ));
                timeline.open(thread, ts, Open::Wait(*resource), name, "wait", args);
            }
            EventKind::LockAcquired { resource, mode } => {
                timeline.end(thread, ts, &Open::Wait(*resource), Value::Null);
                let name = at(format!("hold {} ({mode:?})", timeline.resource(*resource)));
                timeline.open(thread, ts, Open::Hold(*resource), name, "hold", args);
            }
            EventKind::LockReleased { resource, .. } => {
                timeline.end(thread, ts, &Open::Hold(*resource), Value::Null);
            }
            EventKind::WaitBegin {
                resource,
                wait,
                timed,
            } => {
                let name = at(format!(
                    "{} {}",
                    wait.as_str(),
                    timeline.resource(*resource)
                ));
                let mut args = args;
                args["timed"] = json!(timed);
                timeline.open(thread, ts, Open::Wait(*resource), name, "wait", args);
            }
            EventKind::WaitEnd { resource, end } => {
                let args = json!({ "end": format!("{end:?}") });
                timeline.end(thread, ts, &Open::Wait(*resource), args);
            }
            EventKind::JobQueued { job, executor } => {
                let name = format!(
                    "queue {} to {}",
                    timeline.resource(*job),
                    timeline.resource(*executor)
                );
                timeline.events.push(json!({
                    "ph": "X", "pid": PID, "tid": thread.0, "ts": ts, "dur": 0.001,
                    "name": at(name), "cat": "job", "args": args,
                }));
                let flow = timeline.flow_from(thread, ts);
                timeline.flows.insert(*job, flow);
            }
            EventKind::JobStarted { job, executor } => {
                let name = format!(
                    "job {} of {}",
                    timeline.resource(*job),
                    timeline.resource(*executor)
                );
                timeline.open(thread, ts, Open::Job(*job), name, "job", args);
                // From where it was queued, or, started again, from where it ran before.
                let flow = match timeline.flows.remove(job) {
                    Some(flow) => Some(flow),
                    None => match timeline.ran_on.get(job) {
                        Some(before) if *before != thread => Some(timeline.flow_from(*before, ts)),
                        _ => None,
                    },
                };
                if let Some(flow) = flow {
                    timeline.events.push(json!({
                        "ph": "f", "bp": "e", "pid": PID, "tid": thread.0, "ts": ts, "id": flow,
                        "name": "job", "cat": "job",
                    }));
                }
                timeline.ran_on.insert(*job, thread);
            }
            EventKind::JobFinished { job, .. } => {
                timeline.end(thread, ts, &Open::Job(*job), Value::Null);
            }
            EventKind::Enter { function } => {
                timeline.open(
                    thread,
                    ts,
                    Open::Function(function.to_string()),
                    function.to_string(),
                    "function",
                    args,
                );
            }
            EventKind::Exit { function } => {
                timeline.end(
                    thread,
                    ts,
                    &Open::Function(function.to_string()),
                    Value::Null,
                );
            }
            EventKind::Notify { resource, all } => {
                let what = if *all { "notify all" } else { "notify one" };
                let name = at(format!("{what} {}", timeline.resource(*resource)));
                timeline.instant(thread, ts, name, "signal", args);
            }
            EventKind::Send { resource } => {
                let name = at(format!("send on {}", timeline.resource(*resource)));
                timeline.instant(thread, ts, name, "signal", args);
            }
            EventKind::BarrierArrive { resource, .. } => {
                let name = at(format!("arrive at {}", timeline.resource(*resource)));
                timeline.instant(thread, ts, name, "signal", args);
            }
            EventKind::Lost { events } => {
                // What it held before is unknown from here: its slices end.
                timeline.end_all(thread, ts);
                let name = format!("{events} events lost by the recorder");
                timeline.instant(thread, ts, name, "lost", args);
            }
            EventKind::ThreadExit => timeline.end_all(thread, ts),
            _ => {}
        }
    }
    for thread in named {
        timeline.end_all(thread, last);
    }
    // Each step of each finding, where the trace has its event.
    let seqs: HashMap<u64, ThreadKey> = trace.events.iter().map(|e| (e.seq, e.thread)).collect();
    for finding in &report.findings {
        for step in &finding.cycle {
            let Some((seq, thread)) = step.event.and_then(|seq| Some((seq, *seqs.get(&seq)?)))
            else {
                continue;
            };
            let name = format!(
                "{}: `{}` waits ({}) for `{}`",
                finding.kind.as_str(),
                step.thread,
                step.waits_for.wait,
                step.waits_for.resource
            );
            let args = json!({ "finding": finding.summary });
            timeline.instant(thread, micros(seq), name, "finding", args);
        }
    }
    let document = json!({ "traceEvents": timeline.events, "displayTimeUnit": "ns" });
    serde_json::to_writer(&mut *out, &document).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

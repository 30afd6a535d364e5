//! The timeline of a finding's threads around its evidence, from the trace it was found
//! in, drawn in SVG for the HTML report: a row per thread of the cycle, the locks it holds
//! (blue) and its waits (red) as bars, the events the finding's steps are taken from
//! marked. The window spans those events, widened by half their span (at least a
//! millisecond) on each side.
//!
//! Cost: O(e) per finding for the e events of its threads up to the window's end.

use super::html::escape;
use crate::trace::Trace;
use std::collections::HashMap;
use std::fmt::Write as _;
use waitgraph_core::model::{Event, EventKind, ResourceKey, ThreadKey};
use waitgraph_core::report::Finding;

/// Most threads drawn per finding.
const ROWS: usize = 16;
const LABEL: f64 = 150.0;
const WIDTH: f64 = 760.0;
const ROW: f64 = 30.0;

/// A trace, indexed for drawing timelines.
pub struct Timeline {
    names: HashMap<String, ThreadKey>,
    events: HashMap<ThreadKey, Vec<Event>>,
    resources: HashMap<ResourceKey, String>,
}

struct Bar {
    from: u64,
    to: u64,
    hold: bool,
    label: String,
}

impl Timeline {
    pub fn new(trace: &Trace) -> Timeline {
        let mut events: HashMap<ThreadKey, Vec<Event>> = HashMap::new();
        for event in &trace.events {
            events.entry(event.thread).or_default().push(event.clone());
        }
        Timeline {
            names: trace
                .threads
                .values()
                .filter_map(|t| Some((t.name.clone()?, t.key)))
                .collect(),
            events,
            resources: trace
                .resources
                .iter()
                .map(|(key, info)| (*key, info.label()))
                .collect(),
        }
    }

    fn resource(&self, key: ResourceKey) -> String {
        self.resources
            .get(&key)
            .cloned()
            .unwrap_or_else(|| format!("resource {}", key.0))
    }

    /// The thread of a step: its key when the trace has it, else by name.
    fn thread(&self, key: Option<u64>, name: &str) -> Option<ThreadKey> {
        key.map(ThreadKey)
            .filter(|k| self.events.contains_key(k))
            .or_else(|| self.names.get(name).copied())
    }

    /// The timeline of `finding`'s threads, if its steps name events of this trace.
    pub fn svg(&self, finding: &Finding) -> Option<String> {
        let steps: Vec<(ThreadKey, &str, Option<u64>)> = finding
            .cycle
            .iter()
            .filter_map(|s| {
                Some((
                    self.thread(s.thread_key, &s.thread)?,
                    s.thread.as_str(),
                    s.event,
                ))
            })
            .take(ROWS)
            .collect();
        let evidence: Vec<u64> = steps.iter().filter_map(|(_, _, e)| *e).collect();
        let (first, last) = (*evidence.iter().min()?, *evidence.iter().max()?);
        let pad = ((last - first) / 2).max(1_000_000);
        let (from, to) = (first.saturating_sub(pad), last + pad);
        let x = |t: u64| LABEL + (t.clamp(from, to) - from) as f64 / (to - from) as f64 * WIDTH;
        let height = steps.len() as f64 * ROW + 40.0;
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {:.0} {height:.0}\" width=\"{:.0}\" role=\"img\" aria-label=\"timeline of the cycle's threads\">",
            LABEL + WIDTH + 50.0,
            LABEL + WIDTH + 50.0
        );
        for (row, (thread, name, event)) in steps.iter().enumerate() {
            let y = row as f64 * ROW + 6.0;
            let _ = writeln!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                LABEL - 8.0,
                y + 15.0,
                escape(name)
            );
            for bar in self.bars(*thread, from, to) {
                let (x1, x2) = (x(bar.from), x(bar.to).max(x(bar.from) + 1.5));
                let (fill, top) = if bar.hold {
                    ("#5b8cc0", y)
                } else {
                    ("#d9534f", y + 11.0)
                };
                let _ = writeln!(
                    svg,
                    "<rect class=\"{}\" x=\"{x1:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"10\" fill=\"{fill}\"><title>{}</title></rect>",
                    if bar.hold { "hold" } else { "wait" },
                    x2 - x1,
                    escape(&bar.label)
                );
            }
            if let Some(seq) = event {
                let at = x(*seq);
                let _ = writeln!(
                    svg,
                    "<path class=\"evidence\" d=\"M{at:.1},{:.1} l-5,-7 h10 z\" fill=\"#111\"><title>the event this step is taken from</title></path>",
                    y + 24.0
                );
            }
        }
        let axis = steps.len() as f64 * ROW + 14.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{LABEL}\" y1=\"{axis:.1}\" x2=\"{:.1}\" y2=\"{axis:.1}\" stroke=\"#999\"/>",
            LABEL + WIDTH
        );
        for tick in 0..=4 {
            let t = from + (to - from) / 4 * tick;
            let _ = writeln!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#666\" font-size=\"11\">{:.2} ms</text>",
                x(t),
                axis + 16.0,
                t as f64 / 1e6
            );
        }
        svg.push_str("</svg>\n");
        Some(svg)
    }

    /// The holds and waits of `thread` that overlap `from..to`.
    fn bars(&self, thread: ThreadKey, from: u64, to: u64) -> Vec<Bar> {
        let mut bars = Vec::new();
        let mut holds: Vec<(ResourceKey, u64)> = Vec::new();
        let mut waits: Vec<(ResourceKey, u64, &'static str)> = Vec::new();
        let end = |bars: &mut Vec<Bar>, start: u64, stop: u64, hold: bool, label: String| {
            if stop >= from && start <= to {
                bars.push(Bar {
                    from: start,
                    to: stop,
                    hold,
                    label,
                });
            }
        };
        for event in self.events.get(&thread).into_iter().flatten() {
            if event.seq > to {
                break;
            }
            match &event.kind {
                EventKind::LockRequested { resource, .. } => {
                    waits.push((*resource, event.seq, "lock"))
                }
                EventKind::WaitBegin { resource, wait, .. } => {
                    waits.push((*resource, event.seq, wait.as_str()))
                }
                EventKind::LockAcquired { resource, .. } | EventKind::WaitEnd { resource, .. } => {
                    if let Some(at) = waits.iter().rposition(|(r, _, _)| r == resource) {
                        let (_, start, how) = waits.remove(at);
                        let label = format!("{how} {}", self.resource(*resource));
                        end(&mut bars, start, event.seq, false, label);
                    }
                    if let EventKind::LockAcquired { .. } = event.kind {
                        holds.push((*resource, event.seq));
                    }
                }
                EventKind::LockReleased { resource, .. } => {
                    if let Some(at) = holds.iter().rposition(|(r, _)| r == resource) {
                        let (_, start) = holds.remove(at);
                        end(
                            &mut bars,
                            start,
                            event.seq,
                            true,
                            format!("holds {}", self.resource(*resource)),
                        );
                    }
                }
                EventKind::Lost { .. } => {
                    holds.clear();
                    waits.clear();
                }
                _ => {}
            }
        }
        // Still open where the window ends (or where the run hung).
        for (resource, start) in holds {
            end(
                &mut bars,
                start,
                to,
                true,
                format!("holds {}", self.resource(resource)),
            );
        }
        for (resource, start, how) in waits {
            end(
                &mut bars,
                start,
                to,
                false,
                format!("{how} {}", self.resource(resource)),
            );
        }
        coalesce(bars, (to - from) / WIDTH as u64)
    }
}

/// Bars of one kind closer than `pixel` (in nanoseconds) merged into one, so a busy
/// thread draws a few hundred rectangles at most, not one per lock taken.
fn coalesce(mut bars: Vec<Bar>, pixel: u64) -> Vec<Bar> {
    bars.sort_by_key(|b| (b.hold, b.from));
    let mut merged: Vec<(Bar, usize)> = Vec::new();
    for bar in bars {
        match merged.last_mut() {
            Some((last, count)) if last.hold == bar.hold && bar.from <= last.to + pixel => {
                last.to = last.to.max(bar.to);
                *count += 1;
            }
            _ => merged.push((bar, 1)),
        }
    }
    merged
        .into_iter()
        .map(|(mut bar, count)| {
            if count > 1 {
                bar.label = format!(
                    "{} (and {} more, too close to draw apart)",
                    bar.label,
                    count - 1
                );
            }
            bar
        })
        .collect()
}

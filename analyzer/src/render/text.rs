//! Text, like a compiler's diagnostic (rendered by `annotate-snippets`, what rustc and
//! cargo use): `error[kind]: summary`, then the program's source with each step of the
//! cycle marked where it happens (`^^^` where a thread waits, `---` where it took what it
//! holds), then notes: the steps whose source could not be read, the threads stuck
//! behind the cycle grouped by what they wait for, and an interleaving that hangs.

use super::source::Sources;
use super::Options;
use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};
use std::io::{self, Write};
use waitgraph_core::model::Site;
use waitgraph_core::report::{Finding, FindingKind, Report, Severity, Step};

pub fn render(report: &Report, options: &Options, out: &mut dyn Write) -> io::Result<()> {
    let renderer = if options.color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut sources = Sources::new(&options.source_root);
    for finding in &report.findings {
        // Owned first: the snippets borrow the files' text and the labels.
        let marks = marks(finding, &mut sources);
        let notes = notes(finding, &marks.unshown);
        let level = match finding.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let mut group = Group::with_title(
            level
                .primary_title(finding.summary.as_str())
                .id(finding.kind.as_str()),
        );
        if marks.files.is_empty() {
            // No source to show: the place it starts, as a compiler says it.
            if let Some(site) = finding.cycle.iter().find_map(|s| s.site.as_ref()) {
                group = group.element(
                    Origin::path(site.file.as_ref())
                        .line(site.line as usize)
                        .char_column(site.column as usize),
                );
            }
        }
        for file in &marks.files {
            let text = sources.read(&file.path).unwrap_or_default();
            group = group.element(
                Snippet::source(text)
                    .path(file.path.as_str())
                    .fold(true)
                    .annotations(file.marks.iter().map(|mark| {
                        let kind = if mark.wait {
                            AnnotationKind::Primary
                        } else {
                            AnnotationKind::Context
                        };
                        kind.span(mark.span.clone()).label(mark.label.as_str())
                    })),
            );
        }
        for note in &notes {
            group = group.element(Level::NOTE.message(note.as_str()));
        }
        if !finding.scenario.is_empty() {
            group = group.element(Level::HELP.message(scenario(finding)));
        }
        writeln!(out, "{}\n", renderer.render(&[group]))?;
    }
    for note in &report.probe_errors {
        writeln!(out, "note: {}", untrusted(note))?;
    }
    for (kind, count) in &report.omitted {
        writeln!(
            out,
            "note: {count} more {} finding{} left out to keep the report bounded",
            kind.as_str(),
            if *count == 1 { "" } else { "s" }
        )?;
    }
    writeln!(out, "waitgraph: {}", tally(report))
}

/// A place in the source to mark: where a thread waits, or where it took a lock.
struct Mark {
    span: std::ops::Range<usize>,
    label: String,
    wait: bool,
}

/// A source file and the marks in it, in the order the cycle first reaches it.
struct File {
    path: String,
    marks: Vec<Mark>,
}

struct Marks {
    files: Vec<File>,
    /// What could not be marked (no site, or its source unreadable), said in notes.
    unshown: Vec<String>,
}

fn marks(finding: &Finding, sources: &mut Sources) -> Marks {
    let mut marks = Marks {
        files: Vec::new(),
        unshown: Vec::new(),
    };
    for (index, step) in finding.cycle.iter().enumerate() {
        let (waits, needs) = wait_label(finding, index);
        let said = Said {
            here: format!("{waits}{needs}"),
            before: waits,
            at: " at ",
            after: needs,
        };
        marks.add(sources, step.site.as_ref(), said, true);
        for held in &step.holds {
            let holds = format!(
                "`{}` holds `{}` ({})",
                step.thread, held.resource, held.mode
            );
            let said = Said {
                here: format!("{holds}, taken here"),
                before: holds,
                at: ", taken at ",
                after: String::new(),
            };
            marks.add(sources, held.site.as_ref(), said, false);
        }
    }
    marks
}

/// What a mark says: `here` on the source line; in a note, `before`, then `at` and the
/// site if there is one, then `after`.
struct Said {
    here: String,
    before: String,
    at: &'static str,
    after: String,
}

impl Marks {
    /// Marks `site` in its file's snippet, or, when there is no site or its source
    /// cannot be read, says it in a note.
    fn add(&mut self, sources: &mut Sources, site: Option<&Site>, said: Said, wait: bool) {
        let span = site.and_then(|site| sources.span(site).map(|(_, span)| span));
        match (site, span) {
            (Some(site), Some(span)) => {
                let at = match self.files.iter().position(|f| f.path == site.file) {
                    Some(at) => at,
                    None => {
                        self.files.push(File {
                            path: site.file.to_string(),
                            marks: Vec::new(),
                        });
                        self.files.len() - 1
                    }
                };
                self.files[at].marks.push(Mark {
                    span,
                    label: untrusted(&said.here),
                    wait,
                });
            }
            (Some(site), None) => {
                let note = format!(
                    "{}{}{}:{}:{}{}",
                    said.before, said.at, site.file, site.line, site.column, said.after
                );
                self.unshown.push(untrusted(&note));
            }
            (None, _) => self
                .unshown
                .push(untrusted(&format!("{}{}", said.before, said.after))),
        }
    }
}

/// "`main` waits (spin-wait, 181 ms) for `workers-exit` in `shrink`", and
/// ", which needs `workers-3`" (or nothing).
fn wait_label(finding: &Finding, index: usize) -> (String, String) {
    let step = &finding.cycle[index];
    let waited = step
        .waited_ms
        .map(|ms| format!(", {ms} ms"))
        .unwrap_or_default();
    let mut waits = format!(
        "`{}` waits ({}{waited}) for `{}`",
        step.thread, step.waits_for.wait, step.waits_for.resource
    );
    if let Some(function) = function(step) {
        waits.push_str(&format!(" in `{function}`"));
    }
    let next = &finding.cycle[(index + 1) % finding.cycle.len()].thread;
    let needs = if finding.kind != FindingKind::Stall
        && finding.cycle.len() > 1
        && step.blocked_by.contains(next)
    {
        format!(", which needs `{next}`")
    } else if finding.cycle.len() == 1 && step.blocked_by.contains(&step.thread) {
        ", which only it could end".to_owned()
    } else {
        String::new()
    };
    (waits, needs)
}

fn function(step: &Step) -> Option<&str> {
    step.site
        .as_ref()
        .and_then(|site| site.function.as_deref())
        .or(step.context.last().map(String::as_str))
}

fn notes(finding: &Finding, unshown: &[String]) -> Vec<String> {
    let mut notes: Vec<String> = unshown.to_vec();
    notes.extend(finding.others().iter().map(|o| untrusted(&o.to_string())));
    notes
}

fn scenario(finding: &Finding) -> String {
    let outcome = match finding.severity {
        Severity::Error => "hangs",
        Severity::Warning => "stalls (until a timed wait gives up)",
    };
    let mut text = format!("an interleaving that {outcome}:");
    for line in &finding.scenario {
        text.push('\n');
        text.push_str(&untrusted(line));
    }
    text
}

/// Names and messages from a program, with control characters (a terminal's escape
/// sequences among them) and text-direction overrides shown as visible symbols.
fn untrusted(text: &str) -> String {
    annotate_snippets::normalize_untrusted_str(text)
}

/// "1 error, 2 warnings": what a report holds, as the text summary and `--out` say it.
pub fn tally(report: &Report) -> String {
    let errors = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = report.findings.len() - errors;
    format!(
        "{errors} error{}, {warnings} warning{}",
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" }
    )
}

//! Text, like a compiler's diagnostic: `error[kind]: summary`, the place it starts, then
//! the steps (who holds what, waits for what, where) and an interleaving that hangs.

use std::io::{self, Write};
use waitgraph_core::report::{Report, Severity};

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for finding in &report.findings {
        let level = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(
            out,
            "{level}[{}]: {}",
            finding.kind.as_str(),
            finding.summary
        )?;
        if let Some(site) = finding.cycle.iter().find_map(|s| s.site.as_ref()) {
            writeln!(out, "  --> {}:{}:{}", site.file, site.line, site.column)?;
        }
        writeln!(out, "   |")?;
        for step in &finding.cycle {
            let mut line = format!("   = thread `{}`", step.thread);
            if !step.holds.is_empty() {
                let held: Vec<String> = step
                    .holds
                    .iter()
                    .map(|h| format!("`{}`", h.resource))
                    .collect();
                line.push_str(&format!(" holds {} and", held.join(", ")));
            }
            line.push_str(&format!(
                " waits ({}) for `{}`",
                step.waits_for.wait, step.waits_for.resource
            ));
            if let Some(site) = &step.site {
                line.push_str(&format!(" at {}:{}:{}", site.file, site.line, site.column));
            }
            if let Some(function) = step
                .site
                .as_ref()
                .and_then(|s| s.function.as_deref())
                .or(step.context.last().map(String::as_str))
            {
                line.push_str(&format!(" in {function}"));
            }
            writeln!(out, "{line}")?;
        }
        if !finding.scenario.is_empty() {
            let outcome = match finding.severity {
                Severity::Error => "hangs",
                Severity::Warning => "stalls (until a timed wait gives up)",
            };
            writeln!(out, "   = an interleaving that {outcome}:")?;
            for line in &finding.scenario {
                writeln!(out, "       {line}")?;
            }
        }
        writeln!(out)?;
    }
    for note in &report.probe_errors {
        writeln!(out, "note: {note}")?;
    }
    writeln!(out, "waitgraph: {}", tally(report))
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

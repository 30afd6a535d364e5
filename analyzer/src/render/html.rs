//! HTML: one self-contained page (no script, no network: a Content-Security-Policy
//! forbids both), per finding a drawing of the cycle in SVG (threads as boxes, resources
//! as ellipses, waits in red, holds in blue, what a barrier or job needs dashed, the
//! threads stuck behind folded into one box per group), the steps as a table with their
//! sites, the others and the interleaving in folding sections, and, when a trace is
//! given, a timeline of the cycle's threads around the evidence. Every name from the
//! program goes through [`escape`].

use super::timeline::Timeline;
use std::fmt::Write as _;
use std::io::{self, Write};
use waitgraph_core::model::Site;
use waitgraph_core::report::{Finding, FindingKind, Report, Severity};

/// Text made safe for HTML and SVG, in element content and in quoted attributes.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            // Control characters have no business in a page: shown as their code.
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(escaped, "\\u{{{:x}}}", c as u32);
            }
            c => escaped.push(c),
        }
    }
    escaped
}

const STYLE: &str = "
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 76em; padding: 0 1em; color: #1b1b1b; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
.meta { color: #555; margin-top: 0; }
section.finding { border: 1px solid #ddd; border-left: 6px solid #c0392b; border-radius: 6px; padding: 0.6em 1.2em 1em; margin: 1.5em 0; }
section.finding.warning { border-left-color: #d68910; }
h2 { font-size: 1.1em; }
.level { font-family: ui-monospace, monospace; color: #c0392b; }
.warning .level { color: #b9770e; }
code, td.site { font-family: ui-monospace, monospace; font-size: 0.92em; }
table { border-collapse: collapse; width: 100%; margin: 0.8em 0; }
th, td { text-align: left; padding: 0.3em 0.6em; border-bottom: 1px solid #eee; vertical-align: top; }
th { background: #f6f6f6; }
td:first-child { white-space: nowrap; }
svg { display: block; max-width: 100%; height: auto; margin: 0.5em auto; }
svg text { font: 12px system-ui, sans-serif; }
svg .edge-label { font-size: 11px; paint-order: stroke; stroke: #fff; stroke-width: 4px; }
details { margin: 0.4em 0; }
summary { cursor: pointer; font-weight: 600; }
ol.scenario li, ul.others li { margin: 0.15em 0; }
.notes { color: #555; }
";

pub fn render(report: &Report, timeline: Option<&Timeline>, out: &mut dyn Write) -> io::Result<()> {
    let mut page = String::new();
    let tally = super::tally(report);
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>waitgraph: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>waitgraph: {}</h1>\n<p class=\"meta\">{} report, {} {}, schema {}</p>\n",
        escape(&tally),
        escape(&tally),
        match report.mode {
            waitgraph_core::report::Mode::Live => "live (the watchdog's)",
            waitgraph_core::report::Mode::Trace => "trace (predicted from a recorded run)",
            waitgraph_core::report::Mode::Static => "static",
        },
        escape(&report.tool),
        escape(&report.version),
        report.schema
    );
    for (index, finding) in report.findings.iter().enumerate() {
        finding_section(&mut page, index, finding, timeline);
    }
    if report.findings.is_empty() {
        page.push_str("<p>Nothing found.</p>\n");
    }
    if !report.probe_errors.is_empty() || !report.omitted.is_empty() {
        page.push_str("<ul class=\"notes\">\n");
        for note in &report.probe_errors {
            let _ = writeln!(page, "<li>note: {}</li>", escape(note));
        }
        for (kind, count) in &report.omitted {
            let _ = writeln!(
                page,
                "<li>note: {count} more {} findings left out to keep the report bounded</li>",
                kind.as_str()
            );
        }
        page.push_str("</ul>\n");
    }
    page.push_str("</body>\n</html>\n");
    out.write_all(page.as_bytes())
}

fn site(site: Option<&Site>) -> String {
    site.map(|s| escape(&format!("{}:{}:{}", s.file, s.line, s.column)))
        .unwrap_or_default()
}

fn finding_section(
    page: &mut String,
    index: usize,
    finding: &Finding,
    timeline: Option<&Timeline>,
) {
    let (class, level) = match finding.severity {
        Severity::Error => ("error", "error"),
        Severity::Warning => ("warning", "warning"),
    };
    let _ = write!(
        page,
        "<section class=\"finding {class}\" id=\"finding-{}\">\n<h2><span class=\"level\">{level}[{}]</span> {}</h2>\n",
        index + 1,
        finding.kind.as_str(),
        escape(&finding.summary)
    );
    page.push_str(&super::drawing::svg(finding));
    page.push_str(
        "<table class=\"steps\">\n<thead><tr><th>thread</th><th>holds</th><th>waits for</th><th>where</th><th>needs</th></tr></thead>\n<tbody>\n",
    );
    for (at, step) in finding.cycle.iter().enumerate() {
        let holds: Vec<String> = step
            .holds
            .iter()
            .map(|h| {
                let taken = h
                    .site
                    .as_ref()
                    .map(|s| {
                        format!(
                            " <span class=\"site\">taken at <code>{}</code></span>",
                            site(Some(s))
                        )
                    })
                    .unwrap_or_default();
                format!(
                    "<code>{}</code> ({}){taken}",
                    escape(&h.resource),
                    escape(&h.mode)
                )
            })
            .collect();
        let next = &finding.cycle[(at + 1) % finding.cycle.len()].thread;
        let needs = if finding.kind != FindingKind::Stall
            && finding.cycle.len() > 1
            && step.blocked_by.contains(next)
        {
            format!("<code>{}</code>", escape(next))
        } else {
            String::new()
        };
        let function = step
            .site
            .as_ref()
            .and_then(|s| s.function.as_deref())
            .map(|f| format!("<br>in <code>{}</code>", escape(f)))
            .unwrap_or_default();
        let waited = step
            .waited_ms
            .map(|ms| format!(", {ms} ms"))
            .unwrap_or_default();
        let _ = writeln!(
            page,
            "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code> ({}{waited})</td><td class=\"site\">{}{function}</td><td>{needs}</td></tr>",
            escape(&step.thread),
            holds.join("<br>"),
            escape(&step.waits_for.resource),
            escape(&step.waits_for.wait),
            site(step.site.as_ref()),
        );
    }
    page.push_str("</tbody>\n</table>\n");
    let others = finding.others();
    if !others.is_empty() {
        let count: usize = others.iter().map(|o| o.threads.len()).sum();
        let _ = write!(
            page,
            "<details><summary>{count} other thread{} stuck with or behind the cycle</summary>\n<ul class=\"others\">\n",
            if count == 1 { "" } else { "s" }
        );
        for group in &others {
            let names: Vec<String> = group
                .threads
                .iter()
                .map(|t| format!("<code>{}</code>", escape(t)))
                .collect();
            let _ = writeln!(
                page,
                "<li>{}: {} wait ({}) for <code>{}</code>: {}</li>",
                group.role,
                group.threads.len(),
                escape(group.wait),
                escape(group.resource),
                names.join(", ")
            );
        }
        page.push_str("</ul>\n</details>\n");
    }
    if !finding.scenario.is_empty() {
        page.push_str("<details open><summary>An interleaving that hangs</summary>\n<ol class=\"scenario\">\n");
        for line in &finding.scenario {
            // The engine numbers its lines: the list does.
            let line = line
                .split_once(". ")
                .filter(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
                .map_or(line.as_str(), |(_, rest)| rest);
            let _ = writeln!(page, "<li>{}</li>", escape(line));
        }
        page.push_str("</ol>\n</details>\n");
    }
    if let Some(timeline) = timeline {
        if let Some(svg) = timeline.svg(finding) {
            page.push_str(
                "<details open><summary>Timeline of these threads around the evidence</summary>\n",
            );
            page.push_str(&svg);
            page.push_str("</details>\n");
        }
    }
    page.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_and_control_characters_are_escaped() {
        assert_eq!(
            escape("</script><img src=x onerror='a(1)'>&\"\u{1b}[2J"),
            "&lt;/script&gt;&lt;img src=x onerror=&#39;a(1)&#39;&gt;&amp;&quot;\\u{1b}[2J"
        );
    }
}

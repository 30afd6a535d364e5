//! `// waitgraph: allow(<kind>) <reason>`: findings the code's authors have looked at.
//!
//! | where the comment is | what it covers |
//! |---|---|
//! | after code on a line | that line |
//! | on a line of its own, above a function (doc comments and attributes between) | the whole function |
//! | on a line of its own, elsewhere | the next line of code |
//!
//! A finding is allowed when a step of it (where a thread waits, or where it took what it
//! holds) is on a covered line and the comment names its kind (several kinds separate
//! with commas). Allowed findings leave the report; `--verbose` lists them with the
//! reason.

use std::collections::HashMap;
use waitgraph_core::report::Finding;

const MARKER: &str = "waitgraph: allow(";

/// One `allow` comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allow {
    pub kinds: Vec<String>,
    pub reason: String,
    /// Where the comment is (line, from 1).
    pub line: u32,
    /// The lines it covers.
    pub covers: (u32, u32),
}

/// The kinds `waitgraph check` reports: what an `allow` comment may name.
pub const KINDS: &[&str] = &[
    "double-lock",
    "lock-order-inversion",
    "blocking-under-lock",
    "queued-work-self-stall",
    "orphaned-wait",
    "condvar-misuse",
];

/// The `allow` comments of every checked file, by the file's display path.
#[derive(Default, Debug)]
pub struct Allows {
    by_file: HashMap<String, Vec<Allow>>,
    /// Comments that name a kind the checker does not report (a typo leaves the finding
    /// reported; this says why).
    pub unknown: Vec<String>,
}

impl Allows {
    /// Reads the comments of one file; `functions` are the (first, last) lines of each
    /// function in it (from its `fn` to its closing brace).
    pub fn add_file(&mut self, file: &str, text: &str, functions: &[(u32, u32)]) {
        let lines: Vec<&str> = text.lines().collect();
        let mut allows = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let Some(at) = line.find(MARKER) else {
                continue;
            };
            let Some(comment) = line[..at].rfind("//") else {
                continue;
            };
            let rest = &line[at + MARKER.len()..];
            let Some(close) = rest.find(')') else {
                continue;
            };
            let kinds: Vec<String> = rest[..close]
                .split(',')
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .collect();
            let reason = rest[close + 1..].trim().to_string();
            let number = i as u32 + 1;
            for kind in kinds.iter().filter(|k| !KINDS.contains(&k.as_str())) {
                self.unknown.push(format!(
                    "{file}:{number}: `allow({kind})` names no kind the checker reports ({})",
                    KINDS.join(", ")
                ));
            }
            let covers = if !line[..comment].trim().is_empty() {
                (number, number)
            } else {
                let next = lines
                    .iter()
                    .enumerate()
                    .skip(i + 1)
                    .find(|(_, l)| {
                        let t = l.trim();
                        !t.is_empty() && !t.starts_with("//") && !t.starts_with("#[")
                    })
                    .map_or(number, |(j, _)| j as u32 + 1);
                functions
                    .iter()
                    .find(|(first, _)| *first == next)
                    .copied()
                    .unwrap_or((next, next))
            };
            allows.push(Allow {
                kinds,
                reason,
                line: number,
                covers,
            });
        }
        if !allows.is_empty() {
            self.by_file.insert(file.to_string(), allows);
        }
    }

    /// The comment that allows `finding`, if one does.
    pub fn allowing(&self, finding: &Finding) -> Option<(&str, &Allow)> {
        let kind = finding.kind.as_str();
        let sites = finding.cycle.iter().flat_map(|step| {
            step.site
                .iter()
                .chain(step.holds.iter().filter_map(|h| h.site.as_ref()))
        });
        for site in sites {
            let Some((file, allows)) = self.by_file.get_key_value(site.file.as_ref()) else {
                continue;
            };
            let found = allows.iter().find(|a| {
                a.kinds.iter().any(|k| k == kind) && (a.covers.0..=a.covers.1).contains(&site.line)
            });
            if let Some(allow) = found {
                return Some((file.as_str(), allow));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_covers_its_line_the_next_line_or_a_function() {
        let text = "\
fn a() {
    x(); // waitgraph: allow(double-lock) on purpose
    // waitgraph: allow(blocking-under-lock, double-lock) the next line
    y();
}
/// Docs.
// waitgraph: allow(lock-order-inversion) the whole function
#[test]
fn b() {
    z();
}
";
        let mut allows = Allows::default();
        allows.add_file("f.rs", text, &[(1, 5), (9, 11)]);
        let found = &allows.by_file["f.rs"];
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].covers, (2, 2));
        assert_eq!(found[0].reason, "on purpose");
        assert_eq!(found[1].covers, (4, 4));
        assert_eq!(found[1].kinds, ["blocking-under-lock", "double-lock"]);
        assert_eq!(found[2].covers, (9, 11));
    }
}

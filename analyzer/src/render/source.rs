//! The program's source, for the printers that show it: files read once each, and the
//! span of the call at a site (`file:line:column`, as `#[track_caller]` gives it).
//!
//! A site's path is relative to where the program was built (the workspace root for a
//! workspace member) or absolute (a dependency): it is looked up under the source root
//! the user gives (`--source-root`, the current directory by default). A file that is
//! missing, unreadable, not UTF-8, or shorter than the site says is no snippet: the step
//! is printed without one.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use waitgraph_core::model::Site;

/// Largest source file read for a snippet: a site in a bigger file prints without one.
const MAX_FILE: u64 = 16 << 20;

/// Source files read on demand, each once.
pub struct Sources {
    root: PathBuf,
    files: HashMap<String, Option<String>>,
}

impl Sources {
    pub fn new(root: impl Into<PathBuf>) -> Sources {
        Sources {
            root: root.into(),
            files: HashMap::new(),
        }
    }

    /// The text of `file` (a site's path), if it can be read.
    pub fn text(&mut self, file: &str) -> Option<&str> {
        let root = &self.root;
        self.files
            .entry(file.to_owned())
            .or_insert_with(|| read_source(&root.join(file)))
            .as_deref()
    }

    /// The text of `file` if it was read before (by [`Sources::text`] or
    /// [`Sources::span`]) and could be.
    pub fn read(&self, file: &str) -> Option<&str> {
        self.files.get(file)?.as_deref()
    }

    /// The file's text and the byte range of the call at `site` in it, if the file reads
    /// and has that line and column.
    pub fn span(&mut self, site: &Site) -> Option<(&str, Range<usize>)> {
        let text = self.text(&site.file)?;
        let range = call_span(text, site.line, site.column)?;
        Some((text, range))
    }
}

fn read_source(path: &Path) -> Option<String> {
    let metadata = std::fs::metadata(path).ok()?;
    if !metadata.is_file() || metadata.len() > MAX_FILE {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// The byte range of the call that starts at `line`:`column` (both 1-based, the column
/// in characters): a path or method name (`lock`, `SpinWait::on`, `rx.recv`) and its
/// parenthesised arguments, or the one character there if it starts nothing like it.
///
/// ```
/// # use waitgraph_analyzer::render::source::call_span;
/// let text = "fn f() {\n    let g = state.gil.lock();\n}\n";
/// let span = call_span(text, 2, 23).unwrap();
/// assert_eq!(&text[span], "lock()");
/// ```
pub fn call_span(text: &str, line: u32, column: u32) -> Option<Range<usize>> {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(line as usize - 2)
            .map(|(at, _)| at + 1)?
    };
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |at| line_start + at);
    let line_text = &text[line_start..line_end];
    let (offset, _) = line_text
        .char_indices()
        .nth(column.saturating_sub(1) as usize)?;
    let start = line_start + offset;
    let rest = &text[start..line_end];
    let mut end = 0;
    let mut depth = 0usize;
    for (at, c) in rest.char_indices() {
        let part_of_name = c.is_alphanumeric() || c == '_' || c == ':' || c == '.' || c == '!';
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' if depth == 0 => break,
            ')' | ']' => {
                depth -= 1;
                if depth == 0 {
                    end = at + 1;
                    break;
                }
            }
            _ if depth == 0 && !part_of_name => break,
            _ => {}
        }
        end = at + c.len_utf8();
    }
    if end == 0 {
        end = rest.chars().next().map_or(0, char::len_utf8);
    }
    (end > 0).then_some(start..start + end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_spans_its_name_and_arguments() {
        let text = "    let spin = SpinWait::on(barrier);\n    rx.recv().unwrap();\n";
        assert_eq!(
            &text[call_span(text, 1, 16).unwrap()],
            "SpinWait::on(barrier)"
        );
        assert_eq!(&text[call_span(text, 2, 8).unwrap()], "recv()");
        // Arguments spread over lines end the span at the line's end.
        let text = "x.wait(\n  a)\n";
        assert_eq!(&text[call_span(text, 1, 3).unwrap()], "wait(");
    }

    #[test]
    fn a_site_beyond_the_file_has_no_span() {
        let text = "one line\n";
        assert_eq!(call_span(text, 3, 1), None);
        assert_eq!(call_span(text, 1, 40), None);
        // Not a name: the one character.
        assert_eq!(&text[call_span(text, 1, 4).unwrap()], " ");
    }

    #[test]
    fn columns_count_characters() {
        let text = "let é = m.lock();\n";
        assert_eq!(&text[call_span(text, 1, 11).unwrap()], "lock()");
    }
}

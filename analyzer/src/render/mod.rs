//! One printer per output format, all over the one findings model
//! (`waitgraph_core::report::Report`): what the watchdog writes, what `analyze` and
//! `check` find. A new format is a new file here and a variant of [`Format`].
//!
//! | format | for | made with |
//! |---|---|---|
//! | `text` | a terminal: like rustc's diagnostics, the source of each step marked | `annotate-snippets`, colour only on a terminal |
//! | `json` | programs: the report contract (schema 1), what the watchdog writes | `serde_json` |
//! | `dot` | Graphviz: each finding's threads and resources, holds and waits as edges | `petgraph` |
//! | `sarif` | code scanning (GitHub's upload): one result per finding, a location per step | `serde-sarif` |
//! | `html` | a browser: one self-contained page, each cycle drawn, its steps in a table, a timeline from the trace | `drawing.rs`, `timeline.rs` (SVG by hand) |

mod dot;
mod drawing;
pub mod html;
mod json;
mod sarif;
pub mod source;
mod text;
pub mod timeline;

pub use text::tally;

use std::io::{self, Write};
use std::path::PathBuf;
use waitgraph_core::report::Report;

/// The formats `--format` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Like a compiler's diagnostics: the source of each step of the cycle, marked.
    Text,
    /// The report contract (schema 1), the same the watchdog writes.
    Json,
    /// Graphviz: each finding as a graph of threads and resources (`dot -Tsvg`).
    Dot,
    /// SARIF 2.1.0, for code scanning: one result per finding, a location per step.
    Sarif,
    /// One self-contained HTML page: each cycle drawn, its steps, a timeline (`--trace`).
    Html,
}

/// How to print, beyond the format.
#[derive(Clone, Debug)]
pub struct Options {
    /// ANSI colours (text only): on a terminal unless `NO_COLOR` or `--color never`.
    pub color: bool,
    /// Where the sites' paths are looked up, for snippets (text) and relative paths.
    pub source_root: PathBuf,
    /// The trace the report comes from, for the HTML page's timelines.
    pub trace: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            color: false,
            source_root: PathBuf::from("."),
            trace: None,
        }
    }
}

/// Writes `report` to `out` in `format`.
pub fn render(
    report: &Report,
    format: Format,
    options: &Options,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::render(report, options, out),
        Format::Json => json::render(report, out),
        Format::Dot => dot::render(report, out),
        Format::Sarif => sarif::render(report, out),
        Format::Html => {
            let timeline = match &options.trace {
                Some(path) => Some(timeline::Timeline::new(
                    &crate::trace::load(path).map_err(|e| io::Error::other(e.to_string()))?,
                )),
                None => None,
            };
            html::render(report, timeline.as_ref(), out)
        }
    }
}

//! One printer per output format, all over the one findings model
//! (`waitgraph_core::report::Report`): what the watchdog writes, what `analyze` and
//! `check` find. A new format is a new file here and a variant of [`Format`].

mod json;
mod text;

pub use text::tally;

use std::io::{self, Write};
use waitgraph_core::report::Report;

/// The formats `--format` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Like a compiler's diagnostics: the cycle first, one line per thread.
    Text,
    /// The report contract (schema 1), the same the watchdog writes.
    Json,
}

/// Writes `report` to `out` in `format`.
pub fn render(report: &Report, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Text => text::render(report, out),
        Format::Json => json::render(report, out),
    }
}

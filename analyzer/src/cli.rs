//! The `waitgraph` command line: parse, run one subcommand, map the outcome to an exit
//! status (0 nothing found, 1 findings, 2 an error). Both binaries (`waitgraph` and
//! `cargo-waitgraph`) are this function.

use crate::analyze::analyze;
use crate::render::{render, Format};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Finds deadlocks and stalls that lock-order checkers cannot see: `analyze` predicts
/// them from recorded runs, including runs that did not hang.
#[derive(Parser)]
#[command(name = "waitgraph", version, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Predicts deadlocks from recorded runs, including runs that did not hang.
    ///
    /// Reads traces written by `waitgraph::record::TraceFile` (binary or JSON lines)
    /// or in RAPID's STD format (detected from the content) and reports every cycle of
    /// waits another interleaving can close. Exit status: 0 nothing found, 1
    /// findings, 2 an error.
    Analyze {
        /// The traces (several are analysed together).
        #[arg(required = true, value_name = "TRACE")]
        traces: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Write the report here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// Runs the command line `args` (the program name first); `bin_name` is how help and
/// errors name the command (`waitgraph`, or `cargo waitgraph`).
pub fn main(
    args: impl IntoIterator<Item = std::ffi::OsString>,
    bin_name: &'static str,
) -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let parsed = Cli::command()
        .bin_name(bin_name)
        .try_get_matches_from(args)
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Analyze {
            traces,
            format,
            out,
        } => {
            let analysis = match analyze(&traces) {
                Ok(analysis) => analysis,
                Err(error) => return fail(&error.to_string()),
            };
            for input in &analysis.inputs {
                if let Some(bytes) = input.truncated {
                    eprintln!(
                        "waitgraph: warning: {} was cut short: its last {} ({bytes} byte{}) was left out; {} complete events were analysed",
                        input.path.display(),
                        input.format.unit(),
                        if bytes == 1 { "" } else { "s" },
                        input.events
                    );
                }
            }
            if let Err(error) = write_out(&analysis.report, format, out.as_ref()) {
                return fail(&error);
            }
            if let Some(path) = &out {
                // The report went to a file: say what is in it.
                eprintln!(
                    "waitgraph: {}; report written to {}",
                    crate::render::tally(&analysis.report),
                    path.display()
                );
            }
            if analysis.report.findings.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn write_out(
    report: &waitgraph_core::report::Report,
    format: Format,
    out: Option<&PathBuf>,
) -> Result<(), String> {
    let mut buffer = Vec::new();
    render(report, format, &mut buffer).map_err(|e| e.to_string())?;
    match out {
        Some(path) => std::fs::write(path, &buffer)
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => std::io::stdout()
            .write_all(&buffer)
            .map_err(|e| format!("cannot write to standard output: {e}")),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("waitgraph: error: {message}");
    ExitCode::from(2)
}

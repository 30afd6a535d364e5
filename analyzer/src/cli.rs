//! The `waitgraph` command line: parse, run one subcommand, map the outcome to an exit
//! status (0 nothing found, 1 findings, 2 an error). Both binaries (`waitgraph` and
//! `cargo-waitgraph`) are this function.

use crate::analyze::analyze_with_progress;
use crate::render::{render, Format, Options};
use crate::report::read_report;
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use waitgraph_core::report::Report;

/// Finds deadlocks and stalls that lock-order checkers cannot see: `analyze` predicts
/// them from recorded runs, including runs that did not hang; `report` renders any
/// report the project wrote.
#[derive(Parser)]
#[command(name = "waitgraph", version, propagate_version = true, long_about = None)]
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
        #[command(flatten)]
        output: Output,
        /// No progress bar (one shows on a terminal when reading takes over a second).
        #[arg(long, short)]
        quiet: bool,
    },
    /// Finds deadlocks in Rust source, without building or running it.
    ///
    /// Reads each crate's module tree (a crate, a workspace: every crate under it, or
    /// .rs files) with `syn`, follows every guard by Rust's drop rules and every call
    /// within the checked code, and reports double locks, lock-order cycles, blocking
    /// with a lock held and waits nothing notifies. Exit status: 0 nothing found, 1
    /// findings, 2 an error (a file that does not parse is named; the rest is still
    /// checked).
    Check {
        /// Crates, workspaces or .rs files (default: the current directory).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        output: Output,
        /// Also list the findings `// waitgraph: allow(kind) reason` comments leave out,
        /// and what was read.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Renders a report the project wrote, in any format.
    ///
    /// Reads the watchdog's report file, or what `analyze --format json` wrote (schema
    /// 1), and prints it as text (the program's source marked where each thread waits
    /// and took what it holds), JSON, DOT or SARIF. Exit status: 0 the report holds no
    /// finding, 1 findings, 2 an error.
    Report {
        /// The report (JSON).
        #[arg(value_name = "REPORT")]
        report: PathBuf,
        #[command(flatten)]
        output: Output,
    },
    /// Converts a trace: to Perfetto's timeline, or to JSON lines.
    ///
    /// `perfetto` writes Chrome trace-event JSON that https://ui.perfetto.dev opens: a
    /// track per thread, holds, waits, jobs and instrumented functions as slices, each
    /// job a flow from the thread that queued it to its worker, and the steps of every
    /// cycle the prediction finds as instants. `jsonl` writes waitgraph's JSON lines
    /// (from a binary or RAPID STD trace). Exit status: 0 written, 2 an error.
    Convert {
        /// The trace (any format `analyze` reads).
        #[arg(value_name = "TRACE")]
        trace: PathBuf,
        /// What to write.
        #[arg(long, value_enum, value_name = "FORMAT")]
        to: Target,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Prints a completion script for a shell.
    ///
    /// For example: `waitgraph completions bash > ~/.local/share/bash-completion/completions/waitgraph`,
    /// `waitgraph completions zsh > ~/.zfunc/_waitgraph`,
    /// `waitgraph completions fish > ~/.config/fish/completions/waitgraph.fish`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// How and where a report is written: the same for every subcommand.
#[derive(clap::Args)]
struct Output {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the report here instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Colour the text: `auto` on a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = Color::Auto, value_name = "WHEN")]
    color: Color,
    /// Where the paths of the report's sites are found, for the text's snippets.
    #[arg(long, value_name = "DIR", default_value = ".")]
    source_root: PathBuf,
    /// The trace the findings come from: the HTML page draws a timeline of each
    /// cycle's threads from it (`analyze` of one trace uses that trace).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Target {
    /// Chrome trace-event JSON, for Perfetto's UI.
    Perfetto,
    /// waitgraph's JSON lines.
    Jsonl,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

impl Output {
    fn options(&self) -> Options {
        use std::io::IsTerminal;
        let color = match self.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                self.out.is_none()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        };
        Options {
            color,
            source_root: self.source_root.clone(),
            trace: self.trace.clone(),
        }
    }

    /// Renders `report` where asked; says what a file holds.
    fn write(&self, report: &Report) -> Result<(), String> {
        let mut buffer = Vec::new();
        render(report, self.format, &self.options(), &mut buffer).map_err(|e| e.to_string())?;
        match &self.out {
            Some(path) => {
                std::fs::write(path, &buffer)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                // The report went to a file: say what is in it.
                eprintln!(
                    "waitgraph: {}; report written to {}",
                    crate::render::tally(report),
                    path.display()
                );
                Ok(())
            }
            None => std::io::stdout()
                .write_all(&buffer)
                .map_err(|e| format!("cannot write to standard output: {e}")),
        }
    }
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
            mut output,
            quiet,
        } => {
            if output.trace.is_none() && traces.len() == 1 {
                output.trace = Some(traces[0].clone());
            }
            let mut progress = Progress::new(quiet);
            let analysis =
                analyze_with_progress(&traces, &mut |path, lines| progress.update(path, lines));
            progress.clear();
            let analysis = match analysis {
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
            finish(&analysis.report, &output)
        }
        Command::Check {
            paths,
            output,
            verbose,
        } => {
            // No path: the crate (or workspace) the current directory is in, as cargo does.
            let paths = if paths.is_empty() {
                vec![enclosing_manifest_dir()]
            } else {
                paths
            };
            let checked = match crate::check::check(&paths) {
                Ok(checked) => checked,
                Err(error) => return fail(&error),
            };
            for error in &checked.errors {
                eprintln!("waitgraph: error: {error}");
            }
            for warning in &checked.warnings {
                eprintln!("waitgraph: warning: {warning}");
            }
            if verbose {
                eprintln!(
                    "waitgraph: checked {} file{}, {} lines",
                    checked.files,
                    if checked.files == 1 { "" } else { "s" },
                    checked.lines
                );
                for (finding, file, allow) in &checked.allowed {
                    eprintln!(
                        "waitgraph: allowed by {file}:{}: {}: {} ({})",
                        allow.line,
                        finding.kind.as_str(),
                        finding.summary,
                        if allow.reason.is_empty() {
                            "no reason given"
                        } else {
                            &allow.reason
                        }
                    );
                }
            }
            let status = finish(&checked.report, &output);
            if checked.errors.is_empty() {
                status
            } else {
                let count = checked.errors.len();
                eprintln!(
                    "waitgraph: {count} file{} could not be read or parsed (above); the rest was checked",
                    if count == 1 { "" } else { "s" }
                );
                ExitCode::from(2)
            }
        }
        Command::Report { report, output } => match read_report(&report) {
            Ok(report) => finish(&report, &output),
            Err(error) => fail(&error),
        },
        Command::Convert { trace, to, out } => match convert(&trace, to, out.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => fail(&error),
        },
        Command::Completions { shell } => {
            let name = bin_name.rsplit(' ').next().unwrap_or(bin_name);
            // Into a buffer first: the generator panics on a write error (a closed pipe).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), name, &mut script);
            match std::io::stdout().write_all(&script) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => fail(&format!("cannot write to standard output: {error}")),
            }
        }
    }
}

/// A progress bar on standard error for an analysis that takes over a second: shown only
/// on a terminal and without `--quiet`; cleared before the report prints.
struct Progress {
    started: std::time::Instant,
    shown: bool,
    /// How long an analysis runs before the bar shows: a second, or
    /// `WAITGRAPH_PROGRESS_AFTER_MS` (the tests show it at once).
    after: std::time::Duration,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(quiet: bool) -> Progress {
        use std::io::IsTerminal;
        let after = std::env::var("WAITGRAPH_PROGRESS_AFTER_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .unwrap_or(1000);
        Progress {
            started: std::time::Instant::now(),
            shown: !quiet && std::io::stderr().is_terminal(),
            after: std::time::Duration::from_millis(after),
            bar: None,
        }
    }

    fn update(&mut self, path: &std::path::Path, lines: u64) {
        if !self.shown || self.started.elapsed() < self.after {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} {elapsed} {msg}: {pos} lines ({per_sec})",
            ) {
                bar.set_style(style);
            }
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        bar.set_message(format!("analysing {}", path.display()));
        bar.set_position(lines);
    }

    fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn convert(
    path: &std::path::Path,
    to: Target,
    out: Option<&std::path::Path>,
) -> Result<(), String> {
    let trace = crate::trace::load(path).map_err(|e| e.to_string())?;
    let mut buffer = Vec::new();
    let written = match to {
        Target::Jsonl => crate::convert::jsonl(&trace, &mut buffer),
        Target::Perfetto => {
            let analysis = analyze_with_progress(&[path.to_path_buf()], &mut |_, _| {})
                .map_err(|e| e.to_string())?;
            crate::convert::perfetto(&trace, &analysis.report, &mut buffer)
        }
    };
    written.map_err(|e| e.to_string())?;
    match out {
        Some(file) => std::fs::write(file, &buffer)
            .map_err(|e| format!("cannot write {}: {e}", file.display())),
        None => std::io::stdout()
            .write_all(&buffer)
            .map_err(|e| format!("cannot write to standard output: {e}")),
    }
}

/// The nearest directory, from the current one up, that holds a `Cargo.toml` (the
/// current directory when none does: the checker then says so).
fn enclosing_manifest_dir() -> PathBuf {
    let here = PathBuf::from(".");
    let Ok(current) = std::env::current_dir() else {
        return here;
    };
    current
        .ancestors()
        .find(|dir| dir.join("Cargo.toml").is_file())
        .map_or(here, |dir| {
            // Shown relative to where the user is, like the sites in the report.
            match current.strip_prefix(dir) {
                Ok(rest) if rest.as_os_str().is_empty() => PathBuf::from("."),
                Ok(rest) => rest.components().map(|_| "..").collect(),
                Err(_) => dir.to_path_buf(),
            }
        })
}

/// Writes the report; the exit status says whether it holds findings.
fn finish(report: &Report, output: &Output) -> ExitCode {
    if let Err(error) = output.write(report) {
        return fail(&error);
    }
    if report.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("waitgraph: error: {message}");
    ExitCode::from(2)
}

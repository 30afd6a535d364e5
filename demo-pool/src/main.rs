//! `demo-pool`: the incident, end to end. See `demo-pool --help`.

use clap::{Parser, Subcommand};
use demo_pool::run::{run, Options, ShrinkAt};
use demo_pool::scenarios::{catalogue, Expected};
use demo_pool::shrink::{Variant, MAX_WORKERS};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};
use waitgraph::report::{FindingKind, Report};

/// The MOD-11658 incident reproduced, with waitgraph watching: a server's main thread
/// shrinks its worker pool while holding the global lock, and hangs.
#[derive(Parser)]
#[command(name = "demo-pool", version, propagate_version = true, after_help = EXIT_STATUS)]
struct Cli {
    #[command(subcommand)]
    command: Action,
}

const EXIT_STATUS: &str = "\
Exit status (run, scenario): 0 completed; 3 the watchdog found a deadlock (report
written, the process exits instead of hanging); 1 completed but a query went unanswered
or wrong; 2 usage error, or a report file that cannot be written.";

#[derive(Subcommand)]
enum Action {
    /// Runs every variant of the shrink under load and says what happened.
    ///
    /// Each variant runs in its own child process, recording its trace: the deadlocks
    /// the watchdog caught live (with the cycle), or, when a run missed the race, the
    /// cycle predicted from its trace; the fixes that completed clean. Exit 0 when every
    /// variant behaved as the incident says, 1 otherwise.
    Incident {
        /// Where the reports and traces go.
        #[arg(long, value_name = "DIR", default_value = "target/waitgraph")]
        report_dir: PathBuf,
        /// Passed to every run: hold N queries until the shrink has begun (1 forces the
        /// race).
        #[arg(long, value_name = "N", value_parser = between(0, 16))]
        gate: Option<usize>,
        /// Passed to every run (`idle` misses the race).
        #[arg(long, value_enum, value_name = "WHEN")]
        shrink_at: Option<When>,
    },
    /// One run of a variant of the shrink under load.
    Run(RunArgs),
    /// Lists the scenario catalogue with each one's expected outcome.
    Scenarios,
    /// Runs one scenario of the catalogue.
    Scenario {
        /// Its name (see `demo-pool scenarios`).
        name: String,
        /// Where the watchdog writes its report.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Record the scenario's trace to FILE, as `run --trace` does.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// The shrink: buggy (pre-fix), reordered (the write-up's fix), timeout (bounded
    /// wait), async-shrink (the shipped fix).
    #[arg(long)]
    variant: Variant,
    /// Shards (more than 1 adds coordinators).
    #[arg(long, value_name = "S", default_value_t = 1, value_parser = between(1, 8))]
    shards: usize,
    /// Workers per shard.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = between(0, MAX_WORKERS))]
    workers: usize,
    /// Documents.
    #[arg(long, value_name = "D", default_value_t = 1000, value_parser = between(1, 1_000_000))]
    docs: usize,
    /// Client threads.
    #[arg(long, value_name = "C", default_value_t = 20, value_parser = between(0, 256))]
    clients: usize,
    /// CONFIG SET WORKERS K on shard 0, several in turn.
    #[arg(long, value_name = "K[,K]", value_delimiter = ',', default_value = "0",
          value_parser = between(0, MAX_WORKERS))]
    shrink_to: Vec<usize>,
    /// When the shrink comes.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "under-load")]
    shrink_at: When,
    /// Clients send only searches that load no fields.
    #[arg(long)]
    no_content: bool,
    /// Where the watchdog writes its report.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Record every thread's events to FILE (binary; JSON lines if it ends in .jsonl;
    /// finished before the watchdog exits on a deadlock).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// With --trace: a flight recorder, keeping each thread's last N events, written
    /// when the watchdog reports and at the end.
    #[arg(long, value_name = "N", requires = "trace", value_parser = between(1, 1 << 24))]
    trace_last: Option<usize>,
    /// The watchdog also predicts, in the running program: each potential cycle is
    /// reported once, as a warning, while the run goes on (as WAITGRAPH_PREDICT=1 does).
    #[arg(long)]
    predict: bool,
    /// (tests) Hold N queries between the spec lock and the gil until the shrink has
    /// begun.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = between(0, 16))]
    gate: usize,
    /// Load before and after the command, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 300, value_parser = between(0, 3_600_000))]
    load_for: usize,
    /// Sample the probe's registry and the resident memory every 0.5 s; the run fails
    /// (exit 1) if they grow (a soak).
    #[arg(long)]
    watch_memory: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum When {
    UnderLoad,
    Idle,
}

impl When {
    fn shrink_at(self) -> ShrinkAt {
        match self {
            When::UnderLoad => ShrinkAt::UnderLoad,
            When::Idle => ShrinkAt::Idle,
        }
    }

    fn word(self) -> &'static str {
        match self {
            When::UnderLoad => "under-load",
            When::Idle => "idle",
        }
    }
}

/// A parser of whole numbers from `min` to `max`, whose error says the range.
fn between(min: usize, max: usize) -> impl Fn(&str) -> Result<usize, String> + Clone {
    move |text| match text.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("takes a whole number from {min} to {max}")),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
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
        Action::Incident {
            report_dir,
            gate,
            shrink_at,
        } => {
            let mut passed_on = Vec::new();
            if let Some(gate) = gate {
                passed_on.extend(["--gate".to_owned(), gate.to_string()]);
            }
            if let Some(when) = shrink_at {
                passed_on.extend(["--shrink-at".to_owned(), when.word().to_owned()]);
            }
            incident(&report_dir, &passed_on)
        }
        Action::Run(args) => run_one(&args.options()),
        Action::Scenarios => {
            for scenario in catalogue() {
                println!(
                    "{:<22} expect {:<10} {}",
                    scenario.name,
                    expected_word(scenario.expected),
                    scenario.about
                );
            }
            ExitCode::SUCCESS
        }
        Action::Scenario {
            name,
            report,
            trace,
        } => scenario(&name, report, trace),
    }
}

fn expected_word(expected: Expected) -> &'static str {
    match expected {
        Expected::Deadlock => "deadlock",
        Expected::Completes => "completes",
    }
}

impl RunArgs {
    fn options(self) -> Options {
        Options {
            variant: self.variant,
            shards: self.shards,
            workers: self.workers,
            docs: self.docs,
            clients: self.clients,
            shrink_to: self.shrink_to,
            shrink_at: self.shrink_at.shrink_at(),
            no_content: self.no_content,
            report: self.report,
            trace: self.trace,
            gate: self.gate,
            load_for: Duration::from_millis(self.load_for as u64),
            watch_memory: self.watch_memory,
            trace_last: self.trace_last,
            predict: self.predict,
            ..Options::default()
        }
    }
}

/// The watchdog, or the reason it cannot write its report (exit 2 before anything runs).
fn start_watchdog(
    report: Option<&Path>,
    predict: bool,
) -> Result<waitgraph::WatchdogHandle, ExitCode> {
    let mut builder = waitgraph::Watchdog::builder().exit_on_deadlock(3);
    if predict {
        builder = builder.predict(true);
    }
    if let Some(report) = report {
        builder = builder.report_file(report);
    }
    builder.try_start().map_err(|error| {
        eprintln!("demo-pool: {error}");
        ExitCode::from(2)
    })
}

fn run_one(options: &Options) -> ExitCode {
    // The trace first: the watchdog's prediction then reads its events.
    let trace = match options
        .trace
        .as_deref()
        .map(|path| match options.trace_last {
            Some(last) => waitgraph::record::TraceFile::flight_recorder(path, last),
            None => waitgraph::record::TraceFile::create(path),
        }) {
        None => None,
        Some(Ok(trace)) => Some(trace),
        Some(Err(error)) => {
            eprintln!("demo-pool: {error}");
            return ExitCode::from(2);
        }
    };
    let watchdog = match start_watchdog(options.report.as_deref(), options.predict) {
        Ok(watchdog) => watchdog,
        Err(code) => return code,
    };
    let outcome = run(options);
    if watchdog.predicting() {
        // One more look at the last events, then what was predicted.
        std::thread::sleep(waitgraph::record::live::CHECK_EVERY + waitgraph::record::SWEEP * 2);
        let predicted = watchdog
            .findings()
            .into_iter()
            .filter(|f| !f.confirmed)
            .count();
        let cycles = if predicted == 1 { "cycle" } else { "cycles" };
        println!("prediction: {predicted} potential {cycles} reported while the run went on");
    }
    if let Some(trace) = trace {
        match trace.finish() {
            Ok(written) => match options.trace_last {
                Some(last) => println!(
                    "trace: {} events in {} (each thread's last {last} at most; {} dropped)",
                    written.events,
                    written.path.display(),
                    written.dropped
                ),
                None => println!(
                    "trace: {} events in {} ({} dropped)",
                    written.events,
                    written.path.display(),
                    written.dropped
                ),
            },
            Err(error) => eprintln!("demo-pool: the trace was not finished: {error}"),
        }
    }
    println!(
        "{}: CONFIG SET WORKERS {:?} took {} ms; queries sent {}, answered {}, errors {}, wrong {}; workers left {}",
        options.variant.name(),
        options.shrink_to,
        outcome.command_time.as_millis(),
        outcome.sent,
        outcome.answered,
        outcome.errors,
        outcome.wrong,
        outcome.workers_left
    );
    for result in &outcome.command_results {
        if let Err(error) = result {
            println!("command failed: {error}");
        }
    }
    if let Some(exited) = outcome.threads_exited {
        println!("threads that exited with the shrink (the process's thread list): {exited}");
    }
    if let (Some(before), Some(after)) = (outcome.threads_before, outcome.threads_after) {
        println!("threads before {before}, after shutting down {after}");
    }
    let mut grew = false;
    match &outcome.footprint {
        Some(Ok(line)) => println!("{line}"),
        Some(Err(line)) => {
            println!("{line}");
            grew = true;
        }
        None => {}
    }
    if outcome.all_answered() && !grew {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn scenario(name: &str, report: Option<PathBuf>, trace: Option<PathBuf>) -> ExitCode {
    let Some(scenario) = catalogue().into_iter().find(|s| s.name == name) else {
        eprintln!("demo-pool: no scenario named `{name}` (see `demo-pool scenarios`)");
        return ExitCode::from(2);
    };
    let _watchdog = match start_watchdog(report.as_deref(), false) {
        Ok(watchdog) => watchdog,
        Err(code) => return code,
    };
    let recording = match trace.as_deref().map(waitgraph::record::TraceFile::create) {
        None => None,
        Some(Ok(recording)) => Some(recording),
        Some(Err(error)) => {
            eprintln!("demo-pool: {error}");
            return ExitCode::from(2);
        }
    };
    let outcome = (scenario.run)();
    if let Some(recording) = recording {
        if let Err(error) = recording.finish() {
            eprintln!("demo-pool: the trace was not finished: {error}");
        }
    }
    match outcome {
        Ok(()) => {
            println!("{}: completed", scenario.name);
            ExitCode::SUCCESS
        }
        Err(message) => {
            println!("{}: {message}", scenario.name);
            ExitCode::from(1)
        }
    }
}

/// Every variant in its own child process, so a hang is contained, each recorded: a
/// deadlocking variant whose run did not hit the race is still shown, predicted from
/// its trace.
fn incident(dir: &Path, passed_on: &[String]) -> ExitCode {
    if let Err(error) = std::fs::create_dir_all(dir) {
        eprintln!("demo-pool: cannot create {}: {error}", dir.display());
        return ExitCode::from(2);
    }
    println!("The incident: CONFIG SET WORKERS 0 on a shard with 8 workers, 20 clients running searches and aggregations.\n");
    let mut seen = Vec::new();
    let mut as_expected = true;
    for variant in Variant::ALL {
        let (how, ok) = incident_variant(variant, dir, passed_on);
        println!();
        as_expected &= ok;
        seen.push(format!("{}: {how}", variant.name()));
    }
    println!("How each variant was seen: {}.", seen.join("; "));
    if as_expected {
        println!("Every variant behaved as the incident says: the pre-fix shrink and the write-up's reordering deadlock (caught live, or predicted from a run that missed the race), the bound makes it a bounded stall, the shipped asynchronous shrink is clean.");
        ExitCode::SUCCESS
    } else {
        println!("Some variant did not behave as the incident says (see above).");
        ExitCode::from(1)
    }
}

/// Runs one variant as a recorded child; prints what happened and how the bug (if any)
/// was seen. Returns that in a few words, and whether it is what the incident says.
fn incident_variant(variant: Variant, dir: &Path, passed_on: &[String]) -> (String, bool) {
    let report = dir.join(format!("incident-{}.json", variant.name()));
    let trace = dir.join(format!("incident-{}.trace", variant.name()));
    let _ = std::fs::remove_file(&report);
    let started = Instant::now();
    let mut command = Command::new(std::env::current_exe().expect("own path"));
    command
        .args(["run", "--variant", variant.name(), "--report"])
        .arg(&report)
        .arg("--trace")
        .arg(&trace);
    command.args(passed_on);
    let child = command.output_with_deadline(Duration::from_secs(60));
    let elapsed = started.elapsed().as_secs_f64();
    let live: Option<Report> = std::fs::read_to_string(&report)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok());
    let deadlock_expected = matches!(variant, Variant::Buggy | Variant::Reordered);
    print!("{:<13} ", variant.name());
    match child {
        Some((Some(3), _, _)) => {
            let finding = live
                .as_ref()
                .and_then(|r| r.findings.iter().find(|f| f.kind == FindingKind::Deadlock));
            println!(
                "DEADLOCK caught live by the watchdog after {elapsed:.1} s (exit 3, report {})",
                report.display()
            );
            if let Some(finding) = finding {
                indent(&finding.describe());
            }
            ("caught live".into(), deadlock_expected && finding.is_some())
        }
        Some((Some(0), stdout, _)) => {
            println!("completed in {elapsed:.1} s");
            for line in stdout.lines() {
                println!("              {line}");
            }
            let bounded = stdout.contains("command failed");
            let prediction = match waitgraph::record::predict(&trace) {
                Ok(prediction) => prediction,
                Err(error) => {
                    println!(
                        "              could not read the trace {}: {error}",
                        trace.display()
                    );
                    return ("trace unreadable".into(), false);
                }
            };
            let errors: Vec<_> = prediction
                .findings
                .iter()
                .filter(|f| f.severity == waitgraph::report::Severity::Error)
                .collect();
            let warnings = prediction.findings.len() - errors.len();
            match variant {
                Variant::Buggy | Variant::Reordered => match errors.first() {
                    Some(finding) => {
                        println!("              the race was not hit in this run (no query was waiting for the gil when the command ran);");
                        println!(
                            "              PREDICTED from its trace ({}):",
                            trace.display()
                        );
                        indent(&finding.describe());
                        for line in &finding.scenario {
                            println!("                {line}");
                        }
                        ("predicted from a run that did not hang".into(), true)
                    }
                    None => {
                        println!("              neither hung nor predicted from its trace");
                        ("missed".into(), false)
                    }
                },
                Variant::Timeout => {
                    let predicted = match warnings {
                        0 => "no stall".to_string(),
                        1 => "1 bounded stall (a warning)".to_string(),
                        n => format!("{n} bounded stalls (warnings)"),
                    };
                    let how = if bounded {
                        println!("              the bound turned the hang into an error (the command failed, queries went on); its trace predicts {predicted}, no deadlock");
                        "hit the race; the bound made it an error"
                    } else {
                        println!("              the race was not hit in this run; its trace predicts {predicted}, no deadlock");
                        "race missed; predicted as a bounded stall"
                    };
                    (how.into(), errors.is_empty())
                }
                Variant::AsyncShrink => {
                    println!(
                        "              nothing predicted from its trace ({} findings)",
                        prediction.findings.len()
                    );
                    (
                        "completed, nothing predicted".into(),
                        prediction.findings.is_empty(),
                    )
                }
            }
        }
        Some((code, _, stderr)) => {
            println!("unexpected exit status {code:?} after {elapsed:.1} s; its standard error:");
            indent(&stderr);
            (format!("exit {code:?}"), false)
        }
        None => {
            println!("HUNG: killed after 60 s, not caught by the watchdog");
            ("hung uncaught".into(), false)
        }
    }
}

fn indent(text: &str) {
    for line in text.lines() {
        println!("              {line}");
    }
}

/// Runs a child, killing it after a deadline. `None` when killed; else its status,
/// standard output and standard error (kept, not passed through: the summary says what
/// matters, and shows the child's own words only when something went wrong).
trait OutputWithDeadline {
    fn output_with_deadline(&mut self, deadline: Duration)
        -> Option<(Option<i32>, String, String)>;
}

impl OutputWithDeadline for Command {
    fn output_with_deadline(
        &mut self,
        deadline: Duration,
    ) -> Option<(Option<i32>, String, String)> {
        use std::io::Read;
        let mut child = self
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        let read_all = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text);
                text
            })
        };
        let stdout = read_all(Box::new(child.stdout.take()?));
        let stderr = read_all(Box::new(child.stderr.take()?));
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some((
                    status.code(),
                    stdout.join().unwrap_or_default(),
                    stderr.join().unwrap_or_default(),
                ));
            }
            if started.elapsed() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

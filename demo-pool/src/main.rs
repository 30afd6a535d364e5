//! `demo-pool`: the incident, end to end. See `demo-pool --help`.

use demo_pool::run::{run, Options, ShrinkAt};
use demo_pool::scenarios::{catalogue, Expected};
use demo_pool::shrink::Variant;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};
use waitgraph::report::{FindingKind, Report};

const HELP: &str = "\
demo-pool: the MOD-11658 incident reproduced, with waitgraph watching

USAGE:
  demo-pool incident [--report-dir DIR] [--gate N] [--shrink-at under-load|idle]
      Runs every variant of the shrink under load, each in its own child process,
      recording its trace, and says what happened: the deadlocks the watchdog caught
      live (with the cycle), or, when a run missed the race, the cycle predicted from
      its trace; the fixes that completed clean. Reports and traces go to DIR (default
      target/waitgraph). --gate and --shrink-at are passed to every run (--gate 1
      forces the race, --shrink-at idle misses it). Exit 0 when every variant behaved
      as the incident says, 1 otherwise.
  demo-pool run --variant buggy|reordered|timeout|async-shrink [OPTIONS]
      One run. Options:
        --shards S          shards (default 1; more than 1 adds coordinators)
        --workers N         workers per shard (default 8, at most 16)
        --docs D            documents (default 1000)
        --clients C         client threads (default 20)
        --shrink-to K[,K]   CONFIG SET WORKERS K on shard 0, several in turn (default 0)
        --shrink-at under-load|idle   (default under-load)
        --no-content        clients send only searches that load no fields
        --report FILE       where the watchdog writes its report
        --trace FILE        record every thread's events to FILE (binary; JSON lines if
                            it ends in .jsonl; finished before the watchdog exits on
                            a deadlock)
        --trace-last N      with --trace: a flight recorder, keeping each thread's last
                            N events, written when the watchdog reports and at the end
        --predict           the watchdog also predicts, in the running program: each
                            potential cycle is reported once, as a warning, while the
                            run goes on (as WAITGRAPH_PREDICT=1 does)
        --gate N            (tests) hold N queries between the spec lock and the gil
                            until the shrink has begun
        --load-for MS       load before and after the command (default 300)
        --watch-memory      sample the probe's registry and the resident memory every
                            0.5 s; the run fails (exit 1) if they grow (a soak)
  demo-pool scenarios
      Lists the scenario catalogue with each one's expected outcome.
  demo-pool scenario NAME [--report FILE] [--trace FILE]
      Runs one scenario (recording its trace to FILE, as `run --trace` does).

EXIT STATUS (run, scenario): 0 completed; 3 the watchdog found a deadlock (report
written, the process exits instead of hanging); 1 completed but a query went unanswered
or wrong; 2 usage error, or a report file that cannot be written.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("incident") => incident(&args[1..]),
        Some("run") => match parse_run(&args[1..]) {
            Ok(options) => run_one(&options),
            Err(message) => usage(&message),
        },
        Some("scenarios") => {
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
        Some("scenario") => scenario(&args[1..]),
        Some("--help" | "-h" | "help") => {
            println!("{HELP}");
            ExitCode::SUCCESS
        }
        _ => usage("expected a command"),
    }
}

fn usage(message: &str) -> ExitCode {
    eprintln!("demo-pool: {message}\n\n{HELP}");
    ExitCode::from(2)
}

fn expected_word(expected: Expected) -> &'static str {
    match expected {
        Expected::Deadlock => "deadlock",
        Expected::Completes => "completes",
    }
}

fn parse_run(args: &[String]) -> Result<Options, String> {
    let mut options = Options::default();
    let mut variant = None;
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--variant" => variant = Some(value()?.parse::<Variant>()?),
            "--shards" => options.shards = number(flag, value()?, 1, 8)?,
            "--workers" => {
                options.workers = number(flag, value()?, 0, demo_pool::shrink::MAX_WORKERS)?
            }
            "--docs" => options.docs = number(flag, value()?, 1, 1_000_000)?,
            "--clients" => options.clients = number(flag, value()?, 0, 256)?,
            "--shrink-to" => {
                options.shrink_to = value()?
                    .split(',')
                    .map(|k| number(flag, k, 0, demo_pool::shrink::MAX_WORKERS))
                    .collect::<Result<_, _>>()?
            }
            "--shrink-at" => {
                options.shrink_at = match value()?.as_str() {
                    "under-load" => ShrinkAt::UnderLoad,
                    "idle" => ShrinkAt::Idle,
                    other => {
                        return Err(format!(
                            "--shrink-at takes under-load or idle, not `{other}`"
                        ))
                    }
                }
            }
            "--no-content" => options.no_content = true,
            "--report" => options.report = Some(PathBuf::from(value()?)),
            "--trace" => options.trace = Some(PathBuf::from(value()?)),
            "--gate" => options.gate = number(flag, value()?, 0, 16)?,
            "--load-for" => {
                options.load_for =
                    Duration::from_millis(number(flag, value()?, 0, 3_600_000)? as u64)
            }
            "--watch-memory" => options.watch_memory = true,
            "--trace-last" => options.trace_last = Some(number(flag, value()?, 1, 1 << 24)?),
            "--predict" => options.predict = true,
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    options.variant = variant.ok_or("--variant is required")?;
    if options.trace_last.is_some() && options.trace.is_none() {
        return Err("--trace-last needs --trace FILE".into());
    }
    Ok(options)
}

fn number(flag: &str, text: &str, min: usize, max: usize) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "{flag} takes a whole number from {min} to {max}, not `{text}`"
        )),
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

fn scenario(args: &[String]) -> ExitCode {
    let Some(name) = args.first().filter(|name| !name.starts_with('-')) else {
        return usage("scenario needs a name first (see `demo-pool scenarios`): scenario NAME [--report FILE] [--trace FILE]");
    };
    let (mut report, mut trace) = (None, None);
    let mut rest = args[1..].iter();
    while let Some(flag) = rest.next() {
        let target = match flag.as_str() {
            "--report" => &mut report,
            "--trace" => &mut trace,
            _ => return usage("scenario NAME [--report FILE] [--trace FILE]"),
        };
        match rest.next() {
            Some(path) => *target = Some(PathBuf::from(path)),
            None => return usage(&format!("{flag} needs a file")),
        }
    }
    let Some(scenario) = catalogue().into_iter().find(|s| s.name == name) else {
        return usage(&format!("no scenario named `{name}`"));
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
fn incident(args: &[String]) -> ExitCode {
    let mut dir = PathBuf::from("target/waitgraph");
    let mut passed_on: Vec<String> = Vec::new();
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        match (flag.as_str(), rest.next()) {
            ("--report-dir", Some(value)) => dir = PathBuf::from(value),
            ("--gate" | "--shrink-at", Some(value)) => {
                passed_on.extend([flag.clone(), value.clone()])
            }
            _ => {
                return usage(
                    "incident [--report-dir DIR] [--gate N] [--shrink-at under-load|idle]",
                )
            }
        }
    }
    if let Err(error) = std::fs::create_dir_all(&dir) {
        eprintln!("demo-pool: cannot create {}: {error}", dir.display());
        return ExitCode::from(2);
    }
    println!("The incident: CONFIG SET WORKERS 0 on a shard with 8 workers, 20 clients running searches and aggregations.\n");
    let mut seen = Vec::new();
    let mut as_expected = true;
    for variant in Variant::ALL {
        let (how, ok) = incident_variant(variant, &dir, &passed_on);
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

//! The watchdog thread: scans the registry at an interval, reports deadlocks confirmed by
//! two scans and stalls past a threshold.
//!
//! Invariants:
//!
//! | invariant | how |
//! |---|---|
//! | never reports a torn view | a deadlock must be seen by two consecutive scans with the same wait epochs; a group of untimed lock waits only, by one scan and a re-read of each member's wait epoch ([`super::certain_cycles`]) |
//! | a lock cycle is reported within milliseconds | a thread that begins an untimed lock wait holding a lock prompts the watchdog ([`super::prompt`]), which looks 1 ms later, at most a twentieth of its time |
//! | never blocks a program thread | it holds one short internal lock at a time, never one a program thread waits on |
//! | reports each deadlock once | keyed by the deadlocked threads and their wait epochs |
//! | the report is on disk before anything else runs | a fresh temp file, fsync, rename, directory fsync ([`super::files`]); then the notifier prints it, emits it to `tracing` and calls the callback ([`super::notify`]), then exit |
//! | printing or a callback never stops detection | they run on the notifier thread; the watchdog only queues, and an exit waits for them at most `notify::FLUSH_WAIT` |
//! | a fault of its own never ends detection silently | a panicking scan is caught (or, under `panic = "abort"`, the thread is replaced: [`super::faults`]), said once, and scanning goes on |
//! | a report path that cannot be written is said at once | checked by `start` / `try_start`, named in the error |
//! | memory is bounded | at most [`MAX_FINDINGS`] findings kept; older ones are counted by kind in the report's `omitted` |
//! | a stall is warned once, then when it doubles | last warned duration kept per wait |
//! | a process in which every thread waits is a deadlock only when it is sure | every thread the OS lists is the probe's own or known and in an untimed wait nothing ended, in two scans that agree, and no cycle explains them ([`super::everyone_waits`]) |

use super::notify::{Notice, Notifier, FLUSH_WAIT};
use super::registry;
use super::snapshot::Scan;
use crate::model::{ThreadKey, WaitKind};
use crate::report::{Finding, FindingKind, Mode, Report, Severity, Step};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

type Callback = Arc<dyn Fn(&Finding) + Send + Sync>;

/// How many findings a watchdog keeps (in memory and in the report file); older ones
/// are counted by kind in the report's `omitted`.
pub const MAX_FINDINGS: usize = 1024;

/// Starts the watchdog thread. See [`Watchdog::builder`].
pub struct Watchdog;

impl Watchdog {
    /// A watchdog that scans every 100 ms, warns about waits longer than 1 s and prints
    /// its findings on standard error.
    ///
    /// ```no_run
    /// let watchdog = waitgraph::Watchdog::builder()
    ///     .report_file("target/waitgraph/report.json")
    ///     .exit_on_deadlock(3)
    ///     .start();
    /// ```
    pub fn builder() -> WatchdogBuilder {
        WatchdogBuilder {
            interval: Duration::from_millis(100),
            stall_threshold: Duration::from_secs(1),
            report_file: None,
            exit_code: None,
            callback: None,
            print: true,
            backtrace_wait: Duration::from_millis(500),
            dump_file: None,
            max_findings: MAX_FINDINGS,
            predict: env_flag("WAITGRAPH_PREDICT"),
            warn_unexplained: env_flag("WAITGRAPH_WARN_EVERY_WAIT"),
        }
    }
}

/// Whether the environment variable `name` says yes.
fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes" | "on"))
}

/// Configures and starts a watchdog.
#[derive(Clone)]
#[must_use = "call .start() to run the watchdog"]
pub struct WatchdogBuilder {
    interval: Duration,
    stall_threshold: Duration,
    report_file: Option<PathBuf>,
    exit_code: Option<i32>,
    callback: Option<Callback>,
    print: bool,
    backtrace_wait: Duration,
    dump_file: Option<PathBuf>,
    max_findings: usize,
    predict: bool,
    warn_unexplained: bool,
}

impl WatchdogBuilder {
    /// How often to scan (default 100 ms). A deadlock is reported within two intervals.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_millis(1));
        self
    }

    /// How long a wait may last before it is warned about (default 1 s).
    pub fn stall_threshold(mut self, threshold: Duration) -> Self {
        self.stall_threshold = threshold;
        self
    }

    /// Writes the report (JSON, every finding so far) to `path` on each new finding.
    pub fn report_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.report_file = Some(path.into());
        self
    }

    /// Exits the process with `code` once a deadlock is reported (after the report file
    /// is written, and a running `record::TraceFile` finished), instead of leaving it hung.
    pub fn exit_on_deadlock(mut self, code: i32) -> Self {
        self.exit_code = Some(code);
        self
    }

    /// Calls `callback` with each new finding, on the notifier thread: a callback that
    /// blocks or panics never stops the watchdog (a panic is caught and said once).
    pub fn on_finding(mut self, callback: impl Fn(&Finding) + Send + Sync + 'static) -> Self {
        self.callback = Some(Arc::new(callback));
        self
    }

    /// How many findings to keep, in memory and in the report file (default
    /// 1,024); older ones are counted by kind in the report's `omitted`.
    pub fn max_findings(mut self, count: usize) -> Self {
        self.max_findings = count.max(1);
        self
    }

    /// Also warns about condvar, channel and event waits past the stall threshold that
    /// nothing known can end (never notified and no thread inside a function that
    /// notifies the condvar; a std channel whose other ends the probe cannot see), so that
    /// every untimed wait but a worker's idling is worth a word (default no;
    /// `WAITGRAPH_WARN_EVERY_WAIT=1` turns it on). A missing notify then never hangs
    /// silently, even while other threads run; but the idle workers of a hand-written
    /// pool waiting for their first job, and a waiter whose notifier is a closure on
    /// another thread that has not notified yet, look the same and are warned about too,
    /// which is why it is off by default.
    pub fn warn_every_wait(mut self, warn: bool) -> Self {
        self.warn_unexplained = warn;
        self
    }

    /// Whether findings are printed on standard error (default yes).
    pub fn print(mut self, print: bool) -> Self {
        self.print = print;
        self
    }

    /// How long to wait for deadlocked threads to capture their backtraces before the
    /// report is written without them (default 500 ms).
    pub fn backtrace_wait(mut self, wait: Duration) -> Self {
        self.backtrace_wait = wait;
        self
    }

    /// Where `SIGUSR1` makes the watchdog write the current graph ([`dump`](crate::dump)),
    /// within one interval (default: `waitgraph-dump-<pid>.json` in `$XDG_RUNTIME_DIR`
    /// when set, else in the current directory; never a guessable name in a shared temp
    /// directory). The handler is installed before `start` returns. Needs the `signal`
    /// feature, on Unix.
    pub fn dump_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.dump_file = Some(path.into());
        self
    }

    /// Also predicts: every event goes to the trace analyzer's engine inside the program
    /// (see [`record::live`](crate::record::live)), and each potential cycle it finds,
    /// one another interleaving could close, is reported once, as a warning, while the
    /// run goes on. Off by default; `WAITGRAPH_PREDICT=1` turns it on without code
    /// changes. A running streaming [`TraceFile`](crate::record::TraceFile) feeds it; a
    /// flight recorder cannot (it keeps too little), and is said so.
    pub fn predict(mut self, predict: bool) -> Self {
        self.predict = predict;
        self
    }

    /// Starts the watchdog thread. A report file that cannot be written is said on
    /// standard error, naming the path, and the watchdog runs without it; use
    /// [`try_start`](Self::try_start) to stop there instead.
    pub fn start(mut self) -> WatchdogHandle {
        if let Some(path) = &self.report_file {
            if let Err(error) = super::files::check_writable(path, "report") {
                eprintln!("waitgraph: {error}; findings will not be written to a file");
                registry::probe_error();
                self.report_file = None;
            }
        }
        if self.predict {
            if let Err(error) = crate::record::live::start() {
                eprintln!("waitgraph: cannot predict: {error}");
                registry::probe_error();
                self.predict = false;
            }
        }
        self.launch()
    }

    /// Starts the watchdog thread, or says why it cannot do what it was asked: a report
    /// file that cannot be written (a directory, a place without write permission), with
    /// its path; a prediction that cannot run (a flight recorder is recording).
    ///
    /// ```
    /// let error = waitgraph::Watchdog::builder()
    ///     .report_file(std::env::temp_dir())
    ///     .try_start()
    ///     .err()
    ///     .expect("a directory cannot take a report");
    /// assert!(error.to_string().contains("is a directory"));
    /// ```
    pub fn try_start(self) -> std::io::Result<WatchdogHandle> {
        if let Some(path) = &self.report_file {
            super::files::check_writable(path, "report")?;
        }
        if self.predict {
            crate::record::live::start().map_err(|error| {
                std::io::Error::new(error.kind(), format!("cannot predict: {error}"))
            })?;
        }
        Ok(self.launch())
    }

    fn launch(self) -> WatchdogHandle {
        // Started by `start` / `try_start` when asked for and possible.
        let predicting = self.predict;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            findings: Mutex::new(Vec::new()),
            scans: AtomicU64::new(0),
            quick_scans: AtomicU64::new(0),
            notifier: Notifier::start(self.print, self.callback.clone()),
            predicting,
            dump_wanted: Arc::new(AtomicBool::new(false)),
            #[cfg(all(feature = "signal", unix))]
            signal: Mutex::new(None),
        });
        // Before `start` returns: a signal that comes early must not kill the process.
        #[cfg(all(feature = "signal", unix))]
        match signal_hook::flag::register(signal_hook::consts::SIGUSR1, shared.dump_wanted.clone())
        {
            Ok(id) => *shared.signal.lock() = Some(id),
            Err(_) => registry::probe_error(),
        }
        let thread = spawn_runner(self, shared.clone());
        WatchdogHandle { shared, thread }
    }
}

fn spawn_runner(config: WatchdogBuilder, shared: Arc<Shared>) -> Option<JoinHandle<()>> {
    let spawned = std::thread::Builder::new()
        .name("waitgraph-watchdog".into())
        .spawn(move || {
            super::os_threads::mark_own();
            let (again, again_shared) = (config.clone(), shared.clone());
            super::faults::on_abort_panic(Box::new(move || {
                spawn_runner(again, again_shared);
            }));
            Runner::new(config, shared).run()
        });
    match spawned {
        Ok(thread) => Some(thread),
        Err(_) => {
            registry::probe_error();
            None
        }
    }
}

struct Shared {
    stop: AtomicBool,
    findings: Mutex<Vec<Finding>>,
    scans: AtomicU64,
    /// Looks between scans, prompted by lock waits.
    quick_scans: AtomicU64,
    notifier: Notifier,
    /// This watchdog turned in-process prediction on (and turns it off when stopped).
    predicting: bool,
    /// Set by the `SIGUSR1` handler (feature `signal`).
    #[cfg_attr(not(all(feature = "signal", unix)), allow(dead_code))]
    dump_wanted: Arc<AtomicBool>,
    /// The `SIGUSR1` registration, undone when the watchdog stops.
    #[cfg(all(feature = "signal", unix))]
    signal: Mutex<Option<signal_hook::SigId>>,
}

/// A running watchdog. Dropping the handle leaves it running; [`stop`](Self::stop) ends it.
pub struct WatchdogHandle {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl WatchdogHandle {
    /// Whether this watchdog predicts (asked for, and it could start).
    pub fn predicting(&self) -> bool {
        self.shared.predicting
    }

    /// Every finding reported so far.
    pub fn findings(&self) -> Vec<Finding> {
        self.shared.findings.lock().clone()
    }

    /// How many scans have run.
    pub fn scans(&self) -> u64 {
        self.shared.scans.load(Relaxed)
    }

    /// How many looks between scans have run: each after a thread began an untimed lock
    /// wait while holding a lock (a lock cycle may have closed), at most one a
    /// millisecond, fewer when a look costs more.
    pub fn quick_scans(&self) -> u64 {
        self.shared.quick_scans.load(Relaxed)
    }

    /// Stops the watchdog and waits for its thread to end.
    pub fn stop(mut self) -> Vec<Finding> {
        self.shared.stop.store(true, Relaxed);
        #[cfg(all(feature = "signal", unix))]
        if let Some(id) = self.shared.signal.lock().take() {
            signal_hook::low_level::unregister(id);
        }
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
        if self.shared.predicting {
            crate::record::live::stop();
        }
        self.findings()
    }
}

struct Runner {
    config: WatchdogBuilder,
    shared: Arc<Shared>,
    /// The stuck (thread, epoch) pairs of the previous scan.
    previously_stuck: HashSet<(ThreadKey, u64)>,
    reported: HashSet<Vec<(ThreadKey, u64)>>,
    /// Confirmed deadlocks held back one scan for their victims to be confirmed too.
    postponed: HashSet<Vec<(ThreadKey, u64)>>,
    /// Per blocked wait, the duration last warned about.
    stalls_warned: HashMap<(ThreadKey, u64), Duration>,
    /// Threads of the deadlocks reported so far.
    deadlocked: HashSet<ThreadKey>,
    /// The previous scan's blocked threads when every thread of the process waited.
    everyone_waited: Option<Vec<(ThreadKey, u64)>>,
    #[cfg(feature = "parking-lot-deadlock")]
    parking_lot_reported: HashSet<Vec<String>>,
    report: Report,
    /// Whether a failed scan was already said.
    scan_failed: bool,
}

impl Runner {
    fn new(config: WatchdogBuilder, shared: Arc<Shared>) -> Runner {
        Runner {
            config,
            shared,
            previously_stuck: HashSet::new(),
            reported: HashSet::new(),
            postponed: HashSet::new(),
            stalls_warned: HashMap::new(),
            deadlocked: HashSet::new(),
            everyone_waited: None,
            #[cfg(feature = "parking-lot-deadlock")]
            parking_lot_reported: HashSet::new(),
            report: Report::new(Mode::Live, Vec::new()),
            scan_failed: false,
        }
    }

    fn run(mut self) {
        let _prompted = super::prompt::watch();
        let mut next = Instant::now() + self.config.interval;
        // When to look for a certain lock cycle after a prompt, and how soon after the
        // last look the next may come (twenty times what the last one cost: a watchdog
        // prompted without end spends at most a twentieth of a core).
        let mut quick: Option<Instant> = None;
        let mut quick_allowed = Instant::now();
        while !self.shared.stop.load(Relaxed) {
            #[cfg(all(feature = "signal", unix))]
            self.dump_if_asked();
            let now = Instant::now();
            if quick.is_none() && super::prompt::take() {
                quick = Some((now + super::prompt::QUICK_DELAY).max(quick_allowed));
            }
            if quick.is_some_and(|at| now >= at) {
                quick = None;
                let looked = std::panic::catch_unwind(AssertUnwindSafe(|| self.quick_scan()));
                if let Err(panic) = looked {
                    self.scan_panicked(&panic_message(panic.as_ref()));
                }
                let cost = now.elapsed();
                quick_allowed = Instant::now() + (cost * 20).max(super::prompt::QUICK_DELAY);
                continue;
            }
            let wake = quick.map_or(next, |at| at.min(next));
            if now < wake {
                std::thread::park_timeout(wake - now);
                continue;
            }
            next = now + self.config.interval;
            // A bug in a scan must not end detection: caught, said once, and the next
            // scan starts afresh.
            let scanned = std::panic::catch_unwind(AssertUnwindSafe(|| self.scan_once()));
            if let Err(panic) = scanned {
                self.scan_panicked(&panic_message(panic.as_ref()));
            }
        }
    }

    /// A look between scans, after a prompt: reports the stuck groups that are certain
    /// from this one scan ([`super::certain_cycles`]), with the victims still in the
    /// wait they were seen in. Everything else waits for the scans.
    fn quick_scan(&mut self) {
        fail_if_asked();
        let scan = Scan::take();
        self.shared.quick_scans.fetch_add(1, Relaxed);
        let mut new_findings = Vec::new();
        for group in &scan.groups {
            let fingerprint = scan.fingerprint(group);
            if self.reported.contains(&fingerprint) || !super::certain_cycles::certain(&scan, group)
            {
                continue;
            }
            let still_waiting: HashSet<ThreadKey> = group
                .victims
                .iter()
                .map(|&node| scan.thread(node))
                .filter(|thread| thread.still_in_the_wait_seen())
                .map(|thread| thread.key())
                .collect();
            ask_backtraces(&scan, &group.cycle);
            self.await_backtraces(&scan, &group.cycle);
            let mut finding = scan.deadlock_finding(group, true);
            finding
                .victims
                .retain(|v| still_waiting.contains(&ThreadKey(v.thread_key.unwrap_or(0))));
            self.reported.insert(fingerprint);
            self.remember_deadlocked(&finding);
            new_findings.push(finding);
        }
        if !new_findings.is_empty() {
            self.publish(new_findings, true, &scan);
        }
    }

    fn scan_panicked(&mut self, message: &str) {
        registry::probe_error();
        self.previously_stuck.clear();
        if !self.scan_failed {
            self.scan_failed = true;
            // Said once: the runtime's own panic message for this thread, too.
            super::faults::quiet_panics_on_this_thread();
            let line = format!("a scan failed ({message}); the watchdog goes on scanning");
            self.report.probe_errors.push(line.clone());
            self.shared.notifier.send(Notice::Fault(line));
        }
    }

    fn scan_once(&mut self) {
        fail_if_asked();
        let scan = Scan::take();
        self.shared.scans.fetch_add(1, Relaxed);
        let mut stuck_now = HashSet::new();
        let mut deadlocked_threads = HashSet::new();
        for group in &scan.groups {
            for &node in group
                .cycle
                .iter()
                .chain(&group.also_deadlocked)
                .chain(&group.victims)
            {
                let thread = scan.thread(node);
                stuck_now.insert((thread.key(), thread.wait.map_or(0, |w| w.epoch)));
                deadlocked_threads.insert(thread.key());
            }
        }
        let mut new_findings = Vec::new();
        let mut deadlock = false;
        for group in &scan.groups {
            let fingerprint = scan.fingerprint(group);
            if self.reported.contains(&fingerprint) {
                continue;
            }
            let confirmed = fingerprint
                .iter()
                .all(|pair| self.previously_stuck.contains(pair));
            if !confirmed {
                ask_backtraces(&scan, &group.cycle);
                continue;
            }
            // Victims count only when they were stuck in the previous scan as well; a
            // deadlock with victims not yet confirmed waits one more scan for them.
            let confirmed_victim = |node: &usize| {
                let thread = scan.thread(*node);
                self.previously_stuck
                    .contains(&(thread.key(), thread.wait.map_or(0, |w| w.epoch)))
            };
            if !group.victims.iter().all(confirmed_victim)
                && self.postponed.insert(fingerprint.clone())
            {
                continue;
            }
            self.await_backtraces(&scan, &group.cycle);
            let mut finding = scan.deadlock_finding(group, true);
            finding.victims.retain(|v| {
                let key = ThreadKey(v.thread_key.unwrap_or(0));
                scan.epochs()
                    .any(|pair| pair.0 == key && self.previously_stuck.contains(&pair))
            });
            self.reported.insert(fingerprint);
            self.remember_deadlocked(&finding);
            deadlock = true;
            new_findings.push(finding);
        }
        #[cfg(feature = "parking-lot-deadlock")]
        {
            let found = self.parking_lot_deadlocks(&scan, &deadlocked_threads);
            deadlock |= !found.is_empty();
            new_findings.extend(found);
        }
        if let Some(finding) = self.everyone_waits(&scan, &deadlocked_threads) {
            deadlocked_threads.extend(
                finding
                    .cycle
                    .iter()
                    .chain(&finding.victims)
                    .filter_map(|s| s.thread_key)
                    .map(ThreadKey),
            );
            deadlock = true;
            new_findings.push(finding);
        }
        new_findings.extend(self.stalls(&scan, &deadlocked_threads));
        new_findings.extend(crate::record::take_predicted());
        self.previously_stuck = stuck_now;
        if !new_findings.is_empty() {
            self.publish(new_findings, deadlock, &scan);
        }
    }

    /// parking_lot's own check, for parking_lot locks waitgraph does not instrument. A
    /// cycle whose threads waitgraph already sees as stuck is left to waitgraph's report.
    #[cfg(feature = "parking-lot-deadlock")]
    fn parking_lot_deadlocks(
        &mut self,
        scan: &Scan,
        stuck_now: &HashSet<ThreadKey>,
    ) -> Vec<Finding> {
        use crate::report::{Step, WaitsFor};
        let mut findings = Vec::new();
        for cycle in parking_lot::deadlock::check_deadlock() {
            let ours: Vec<Option<&super::providers::ThreadView>> = cycle
                .iter()
                .map(|t| {
                    scan.world
                        .threads
                        .iter()
                        .find(|view| view.slot.os_thread == t.thread_id())
                })
                .collect();
            let seen_by_waitgraph = ours.iter().all(|view| {
                view.is_some_and(|v| {
                    stuck_now.contains(&v.key()) || self.deadlocked.contains(&v.key())
                })
            });
            if seen_by_waitgraph {
                continue;
            }
            let mut fingerprint: Vec<String> = cycle
                .iter()
                .map(|t| format!("{:?}", t.thread_id()))
                .collect();
            fingerprint.sort();
            if !self.parking_lot_reported.insert(fingerprint) {
                continue;
            }
            let cycle: Vec<Step> = cycle
                .iter()
                .zip(&ours)
                .map(|(thread, view)| Step {
                    thread: view.map_or_else(
                        || format!("{:?}", thread.thread_id()),
                        |v| v.slot.display_name(),
                    ),
                    thread_key: view.map(|v| v.key().0),
                    waits_for: WaitsFor {
                        resource: "a parking_lot lock waitgraph does not instrument".into(),
                        kind: "mutex".into(),
                        wait: "lock".into(),
                        created: None,
                    },
                    holds: Vec::new(),
                    site: None,
                    blocked_by: Vec::new(),
                    waited_ms: None,
                    context: view
                        .map(|v| {
                            v.slot
                                .contexts()
                                .iter()
                                .map(|c| c.name.to_string())
                                .collect()
                        })
                        .unwrap_or_default(),
                    backtrace: Some(format!("{:?}", thread.backtrace())),
                    event: None,
                })
                .collect();
            let summary = format!(
                "parking_lot's deadlock check: {} threads wait on each other through parking_lot locks",
                cycle.len()
            );
            findings.push(seen(FindingKind::Deadlock, summary, cycle, Vec::new()));
        }
        findings
    }

    #[cfg(all(feature = "signal", unix))]
    fn dump_if_asked(&mut self) {
        if !self.shared.dump_wanted.swap(false, Relaxed) {
            return;
        }
        let path = self
            .config
            .dump_file
            .clone()
            .unwrap_or_else(super::files::default_dump_path);
        let dump = super::dump::dump();
        let line = match super::files::write_json(&path, &dump) {
            Err(error) => {
                registry::probe_error();
                self.report.probe_errors.push(error.to_string());
                error.to_string()
            }
            Ok(()) if self.config.print => {
                format!("wrote the current wait-for graph to {}", path.display())
            }
            Ok(()) => return,
        };
        self.shared.notifier.send(Notice::Fault(line));
    }

    fn await_backtraces(&self, scan: &Scan, cycle: &[usize]) {
        let deadline = Instant::now() + self.config.backtrace_wait;
        while Instant::now() < deadline {
            // Only waitgraph's own primitives wait in slices and answer; a std or
            // parking_lot wait met through the attribute never does.
            if cycle.iter().all(|&n| {
                let thread = scan.thread(n);
                thread.slot.backtrace().is_some()
                    || thread
                        .wait
                        .is_some_and(|w| super::foreign::is_foreign(w.resource))
            }) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The whole-process rule ([`super::everyone_waits`]), confirmed by two scans that
    /// agree. Threads a cycle of the graph already explains are left to its report.
    fn everyone_waits(&mut self, scan: &Scan, in_cycles: &HashSet<ThreadKey>) -> Option<Finding> {
        let found = super::everyone_waits::everyone_waits(scan);
        let previous = std::mem::replace(
            &mut self.everyone_waited,
            found.as_ref().map(|found| found.fingerprint.clone()),
        );
        let found = found?;
        let explained = |node: &usize| {
            let key = scan.thread(*node).key();
            in_cycles.contains(&key) || self.deadlocked.contains(&key)
        };
        if found.blocked.iter().any(explained) || self.reported.contains(&found.fingerprint) {
            return None;
        }
        let idle = |node: &usize| {
            scan.thread(*node)
                .wait
                .is_some_and(|w| w.kind == WaitKind::Idle)
        };
        let (mut waiting, idle): (Vec<usize>, Vec<usize>) =
            found.blocked.iter().partition(|n| !idle(n));
        if previous.as_ref() != Some(&found.fingerprint) {
            ask_backtraces(scan, &waiting);
            return None;
        }
        self.await_backtraces(scan, &waiting);
        self.reported.insert(found.fingerprint);
        // The longest wait first: what the others most likely wait behind.
        waiting.sort_by_key(|&node| scan.thread(node).wait.map(|w| w.since));
        let (steps, victims) = match waiting.is_empty() {
            true => (idle, Vec::new()),
            false => (waiting, idle),
        };
        let cycle: Vec<Step> = steps.iter().map(|&node| scan.step(node, true)).collect();
        let victims: Vec<Step> = victims.iter().map(|&node| scan.step(node, false)).collect();
        let mut said: Vec<String> = cycle
            .iter()
            .take(3)
            .map(|step| {
                format!(
                    "thread `{}` waits ({}) for `{}`",
                    step.thread, step.waits_for.wait, step.waits_for.resource
                )
            })
            .collect();
        if cycle.len() > 3 {
            said.push(format!("{} more threads wait", cycle.len() - 3));
        }
        match victims.len() {
            0 => {}
            1 => said.push("1 worker is idle".into()),
            n => said.push(format!("{n} workers are idle")),
        }
        let summary = format!(
            "every thread of the process waits and none is running, so nothing in the process can wake them: {}",
            said.join("; ")
        );
        let finding = seen(FindingKind::Deadlock, summary, cycle, victims);
        self.remember_deadlocked(&finding);
        Some(finding)
    }

    /// The threads of a reported deadlock, so later scans leave them to that report.
    fn remember_deadlocked(&mut self, finding: &Finding) {
        self.deadlocked.extend(
            finding
                .cycle
                .iter()
                .chain(&finding.also_deadlocked)
                .chain(&finding.victims)
                .filter_map(|s| s.thread_key)
                .map(ThreadKey),
        );
    }

    /// Stalls due for a warning, one finding per place they lead to: threads whose wait
    /// chains end at the same thread are one stall (the longest wait's chain, the others
    /// as victims), so thirty clients queued behind one slow command make one warning.
    fn stalls(&mut self, scan: &Scan, deadlocked: &HashSet<ThreadKey>) -> Vec<Finding> {
        let threshold = self.config.stall_threshold;
        let mut live_waits = HashMap::new();
        /// A thread due for a warning: how long it has waited, its node, its wait chain.
        type Due = (Duration, usize, Vec<usize>);
        // Per root node, the due threads whose chains end there.
        let mut groups: Vec<(usize, Vec<Due>)> = Vec::new();
        for (node, thread) in scan.world.threads.iter().enumerate() {
            let Some(wait) = thread.wait else { continue };
            let worthy = stall_worthy(scan, node, self.config.warn_unexplained);
            if deadlocked.contains(&thread.key()) || !worthy {
                continue;
            }
            let waited = scan.taken.saturating_duration_since(wait.since);
            let key = (thread.key(), wait.epoch);
            let last = self.stalls_warned.get(&key).copied();
            if let Some(last) = last {
                live_waits.insert(key, last);
            }
            let due = match last {
                None => waited >= threshold,
                Some(last) => waited >= last * 2,
            };
            if !due {
                continue;
            }
            live_waits.insert(key, waited);
            let chain = wait_chain(scan, node);
            let root = *chain.last().unwrap_or(&node);
            match groups.iter_mut().find(|(r, _)| *r == root) {
                Some((_, members)) => members.push((waited, node, chain)),
                None => groups.push((root, vec![(waited, node, chain)])),
            }
        }
        self.stalls_warned = live_waits;
        groups
            .into_iter()
            .map(|(root, mut members)| {
                // The thread everyone waits behind leads when it is stalled itself;
                // otherwise the longest wait does.
                members.sort_by(|a, b| {
                    (b.1 == root)
                        .cmp(&(a.1 == root))
                        .then(b.0.cmp(&a.0))
                        .then(a.1.cmp(&b.1))
                });
                let (waited, _, chain) = &members[0];
                let cycle: Vec<_> = chain.iter().map(|&n| scan.step(n, false)).collect();
                let victims = members[1..]
                    .iter()
                    .map(|(_, n, _)| scan.step(*n, false))
                    .collect();
                let first = &cycle[0];
                let mut summary = format!(
                    "thread `{}` has waited {} ms ({}) for `{}`",
                    first.thread,
                    waited.as_millis(),
                    first.waits_for.wait,
                    first.waits_for.resource
                );
                if members.len() > 1 {
                    summary.push_str(&format!(
                        ", and {} more threads wait behind the same thread",
                        members.len() - 1
                    ));
                }
                let lead = members[0].1;
                if scan.provisions[lead] == super::providers::Provision::Unannounced {
                    summary.push_str(
                        "; no thread has notified it yet and none is in a function that \
                         does: a missing notify, or a thread idle before its first work",
                    );
                }
                if scan.provisions[lead] == super::providers::Provision::Unnotified {
                    summary.push_str(
                        "; nothing has notified it, and no instrumented function notifies \
                         a condvar like it (same crate, same name): a missing notify, or one \
                         in code without the attribute",
                    );
                }
                let lock_wait = matches!(
                    scan.thread(lead).wait.map(|wait| wait.kind),
                    Some(WaitKind::Lock(_) | WaitKind::ReadRecursive)
                );
                if lock_wait && scan.provisions[lead] == super::providers::Provision::Unknown {
                    summary.push_str(
                        "; no holder is known to the probe (taken outside instrumented code, \
                         or by a guard handed over as std's own type; the waiting thread \
                         itself included)",
                    );
                }
                seen(FindingKind::Stall, summary, cycle, victims)
            })
            .collect()
    }

    fn publish(&mut self, findings: Vec<Finding>, deadlock: bool, scan: &Scan) {
        self.report.findings.extend(findings.iter().cloned());
        let over = self
            .report
            .findings
            .len()
            .saturating_sub(self.config.max_findings);
        for old in self.report.findings.drain(..over) {
            *self.report.omitted.entry(old.kind).or_default() += 1;
        }
        let unsent = self.shared.notifier.dropped();
        if unsent > 0 {
            self.report
                .probe_errors
                .retain(|e| !e.contains("not printed"));
            self.report.probe_errors.push(format!(
                "{unsent} findings were not printed (the notifier thread was blocked)"
            ));
        }
        let overflow: usize = scan.held_overflow();
        if overflow > 0 {
            self.report
                .probe_errors
                .retain(|e| !e.contains("held-lock table"));
            self.report.probe_errors.push(format!(
                "{overflow} holds did not fit a thread's held-lock table ({} rows) and were left out",
                super::slot::HELD_CAPACITY
            ));
        }
        if let Some(path) = &self.config.report_file {
            if let Err(error) = super::files::write_json(path, &self.report) {
                registry::probe_error();
                let line = error.to_string();
                if !self.report.probe_errors.contains(&line) {
                    self.report.probe_errors.push(line.clone());
                    self.shared.notifier.send(Notice::Fault(line));
                }
            }
        }
        {
            let mut kept = self.shared.findings.lock();
            kept.extend(findings.iter().cloned());
            let over = kept.len().saturating_sub(self.config.max_findings);
            kept.drain(..over);
        }
        let reported = !findings.is_empty();
        for finding in findings {
            self.shared
                .notifier
                .send(Notice::Finding(Box::new(finding)));
        }
        if reported {
            for hook in ON_REPORT.lock().iter() {
                if let Err(error) = hook() {
                    self.shared.notifier.send(Notice::Fault(error));
                }
            }
        }
        if deadlock {
            if let Some(code) = self.config.exit_code {
                // The run hung: what was predicted and not reported yet would say it
                // did not.
                crate::record::live::stop_quietly();
                // A trace being recorded ends whole, with the events that led here.
                for hook in BEFORE_EXIT.lock().iter() {
                    if let Err(error) = hook() {
                        self.shared.notifier.send(Notice::Fault(error));
                    }
                }
                // The report is on disk; printing gets a bounded wait, since a thread
                // of the deadlock may hold the stderr lock for ever.
                self.shared.notifier.flush(FLUSH_WAIT);
                std::process::exit(code);
            }
        }
    }
}

/// A finding the watchdog saw happen that is not a group of the graph (a stall's chain, a
/// whole process waiting, parking_lot's own cycle): a deadlock is an error, a stall a
/// warning.
fn seen(kind: FindingKind, summary: String, cycle: Vec<Step>, victims: Vec<Step>) -> Finding {
    Finding {
        kind,
        severity: match kind {
            FindingKind::Deadlock => Severity::Error,
            _ => Severity::Warning,
        },
        confirmed: true,
        summary,
        cycle,
        also_deadlocked: Vec::new(),
        victims,
        scenario: Vec::new(),
    }
}

/// First sighting of what may be a deadlock: its threads are asked for backtraces, which
/// they give between two slices of their wait.
fn ask_backtraces(scan: &Scan, nodes: &[usize]) {
    for &node in nodes {
        let slot = &scan.thread(node).slot;
        slot.clear_backtrace();
        slot.request_backtrace();
    }
}

/// Receives and condvar waits are how idle threads sleep, and a join waits for work
/// that may rightly take long: they are stalls only when
/// their providers are known and themselves blocked (not enough of them left free to
/// meet a clause), or when every thread that ended such a wait before is gone (a condvar
/// whose notifiers all exited, or a std one no instrumented code notifies), or, when
/// asked (`warn_every_wait`), when nothing known can end them. Locks, barriers, jobs and
/// spin-waits that last are always worth a word.
fn stall_worthy(scan: &Scan, node: usize, warn_unexplained: bool) -> bool {
    use super::providers::Provision;
    let Some(wait) = scan.thread(node).wait else {
        return false;
    };
    match wait.kind {
        WaitKind::Idle => false,
        // A join waits for a thread's work, which may rightly take long (a main thread
        // joining workers that run for the whole program).
        WaitKind::Recv | WaitKind::Send | WaitKind::Condvar | WaitKind::Event | WaitKind::Join => {
            match &scan.provisions[node] {
                Provision::Orphaned | Provision::Unnotified => true,
                Provision::Unannounced | Provision::Unknown => warn_unexplained,
                Provision::Needs(clauses) => clauses.iter().any(|(need, providers)| {
                    let free = providers.iter().filter(|&&p| !blocked(scan, p)).count();
                    free < *need
                }),
                _ => false,
            }
        }
        _ => true,
    }
}

/// Whether `thread` is in an untimed wait other than a worker's idling (a thread the
/// scan did not see, or that sleeps, runs, idles or waits with a timeout, may act).
fn blocked(scan: &Scan, thread: ThreadKey) -> bool {
    scan.world
        .index_of(thread)
        .and_then(|index| scan.world.threads[index].wait)
        .is_some_and(|wait| !wait.timed && wait.kind != WaitKind::Idle)
}

/// From a blocked thread, follow the first blocked provider, as far as it goes.
fn wait_chain(scan: &Scan, start: usize) -> Vec<usize> {
    use super::providers::Provision;
    let mut chain = vec![start];
    let mut node = start;
    while chain.len() < 16 {
        let Provision::Needs(clauses) = &scan.provisions[node] else {
            break;
        };
        let next = clauses
            .iter()
            .flat_map(|(_, providers)| providers)
            .filter_map(|&p| scan.world.index_of(p))
            .find(|&p| scan.thread(p).wait.is_some() && !chain.contains(&p));
        match next {
            Some(next) => {
                chain.push(next);
                node = next;
            }
            None => break,
        }
    }
    chain
}

/// What must happen before an exit on a deadlock (a running trace finished whole),
/// registered by whoever needs it, so that the watchdog names none of them.
static BEFORE_EXIT: Mutex<Vec<ExitHook>> = Mutex::new(Vec::new());
static ON_REPORT: Mutex<Vec<ExitHook>> = Mutex::new(Vec::new());

/// Runs `hook` each time the watchdog reports new findings (a flight recorder writes
/// what led to them); `Err` is said on standard error.
pub(crate) fn on_report(hook: ExitHook) {
    ON_REPORT.lock().push(hook);
}

type ExitHook = fn() -> Result<(), String>;

/// Runs `hook` before any exit on a deadlock; `Err` is said on standard error.
pub(crate) fn before_exit(hook: ExitHook) {
    BEFORE_EXIT.lock().push(hook);
}

static FAIL_SCANS: AtomicU64 = AtomicU64::new(0);

/// Makes the next `count` scans panic: how the tests check that a bug in a scan does not
/// end detection.
#[doc(hidden)]
pub fn fail_next_scans(count: u64) {
    FAIL_SCANS.store(count, Relaxed);
}

fn fail_if_asked() {
    if FAIL_SCANS.load(Relaxed) > 0 && FAIL_SCANS.fetch_sub(1, Relaxed) > 0 {
        panic!("a fault injected by fail_next_scans");
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string())
}

#[cfg(feature = "tracing")]
pub(crate) fn emit_tracing(finding: &Finding) {
    let threads: Vec<&str> = finding.cycle.iter().map(|s| s.thread.as_str()).collect();
    let threads = threads.join(" -> ");
    let text = finding.describe();
    match finding.severity {
        Severity::Error => tracing::error!(
            target: "waitgraph",
            kind = finding.kind.as_str(),
            confirmed = finding.confirmed,
            threads = %threads,
            victims = finding.victims.len(),
            "{}", text.trim_end()
        ),
        Severity::Warning => tracing::warn!(
            target: "waitgraph",
            kind = finding.kind.as_str(),
            threads = %threads,
            "{}", text.trim_end()
        ),
    }
}

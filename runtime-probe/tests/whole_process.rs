//! The watchdog's whole-process rule end to end: a process in which every thread waits
//! and none runs is reported as deadlocked, whatever its threads wait on (a condvar
//! nobody will notify, idle workers); a process in which some thread can still act
//! (running, sleeping, in a timed wait, or unknown to the probe) never is.
//!
//! Without libtest's harness: each scenario runs on the main thread of a process of its
//! own, which then holds no thread the probe does not know about (libtest's runner would
//! be one, and would rightly keep the rule off). `cargo test --test whole_process [NAME]`.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use waitgraph::report::{Finding, FindingKind, Report};
use waitgraph::sync::{Condvar, Executor, Mutex};

const SCENARIO: &str = "WAITGRAPH_WHOLE_PROCESS_SCENARIO";
const REPORT: &str = "WAITGRAPH_WHOLE_PROCESS_REPORT";
const DETECTED: i32 = 3;
const DEADLINE: Duration = Duration::from_secs(20);
/// What the issue asks of a hang: reported within this, from the wait's start.
const REPORTED_WITHIN: Duration = Duration::from_secs(2);

type Check = fn();

fn main() {
    if let Ok(scenario) = std::env::var(SCENARIO) {
        return child(&scenario);
    }
    let checks: &[(&str, Check)] = &[
        (
            "a_condvar_never_notified_is_a_deadlock",
            a_condvar_never_notified_is_a_deadlock,
        ),
        (
            "a_condvar_notified_only_before_the_wait_by_a_thread_now_gone_is_a_deadlock",
            a_condvar_notified_only_before_the_wait_by_a_thread_now_gone_is_a_deadlock,
        ),
        (
            "a_waiter_beside_idle_workers_is_a_deadlock_with_the_workers_as_victims",
            a_waiter_beside_idle_workers_is_a_deadlock_with_the_workers_as_victims,
        ),
        (
            "a_std_condvar_through_the_attribute_is_a_deadlock",
            a_std_condvar_through_the_attribute_is_a_deadlock,
        ),
        (
            "a_notifier_blocked_on_the_waiters_lock_before_it_notified_is_a_deadlock",
            a_notifier_blocked_on_the_waiters_lock_before_it_notified_is_a_deadlock,
        ),
        (
            "a_wait_ended_by_a_thread_that_sleeps_first_is_not_reported",
            a_wait_ended_by_a_thread_that_sleeps_first_is_not_reported,
        ),
        (
            "a_wait_ended_by_a_thread_unknown_until_it_notifies_is_not_reported",
            a_wait_ended_by_a_thread_unknown_until_it_notifies_is_not_reported,
        ),
        (
            "timed_waits_beside_idle_workers_are_not_reported",
            timed_waits_beside_idle_workers_are_not_reported,
        ),
        (
            "idle_workers_while_main_sleeps_are_not_reported",
            idle_workers_while_main_sleeps_are_not_reported,
        ),
    ];
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let (mut passed, mut failed) = (0, Vec::new());
    for (name, check) in checks {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        println!("test {name} ...");
        match std::panic::catch_unwind(check) {
            Ok(()) => passed += 1,
            Err(_) => failed.push(*name),
        }
    }
    println!(
        "test result: {}. {passed} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        failed.len()
    );
    if !failed.is_empty() {
        println!("failures: {failed:?}");
        std::process::exit(101);
    }
}

// ---- the parent's checks ---------------------------------------------------------------

struct Run {
    child: waitgraph_child_process::Output,
    report: Option<Report>,
}

fn run(scenario: &str) -> Run {
    let report = std::env::temp_dir().join(format!(
        "waitgraph-whole-process-{}-{scenario}.json",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&report);
    let child = waitgraph_child_process::run(
        Command::new(std::env::current_exe().expect("this test"))
            .env(SCENARIO, scenario)
            .env(REPORT, &report),
        DEADLINE,
    );
    let text = std::fs::read_to_string(&report).ok();
    let _ = std::fs::remove_file(&report);
    let report = text.map(|text| {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("the report: {e}\n{text}"))
    });
    Run { child, report }
}

/// The run's one finding, a deadlock by the whole-process rule, reported in time.
fn deadlocked(scenario: &str) -> Finding {
    let run = run(scenario);
    let child = &run.child;
    assert_eq!(
        child.code(),
        Some(DETECTED),
        "reported and stopped: {child}"
    );
    let report = run.report.expect("a report file");
    assert_eq!(report.findings.len(), 1, "{:#?}\n{child}", report.findings);
    let finding = report.findings[0].clone();
    assert_eq!(finding.kind, FindingKind::Deadlock, "{finding:#?}");
    assert!(finding.confirmed);
    assert!(
        finding
            .summary
            .starts_with("every thread of the process waits"),
        "{}",
        finding.summary
    );
    let waited = finding.cycle[0].waited_ms.expect("how long it waited");
    assert!(
        Duration::from_millis(waited) <= REPORTED_WITHIN,
        "reported after {waited} ms: {child}"
    );
    finding
}

fn clean(scenario: &str) {
    let run = run(scenario);
    assert_eq!(
        run.child.code(),
        Some(0),
        "completed, nothing found: {}",
        run.child
    );
    assert!(run.report.is_none(), "no report: {:?}", run.report);
}

fn a_condvar_never_notified_is_a_deadlock() {
    let finding = deadlocked("never_notified");
    assert_eq!(finding.cycle.len(), 1, "{finding:#?}");
    let step = &finding.cycle[0];
    assert_eq!(step.thread, "main");
    assert_eq!(step.waits_for.resource, "changed");
    assert_eq!(step.waits_for.wait, "condvar-wait");
    assert!(step
        .site
        .as_ref()
        .unwrap()
        .file
        .ends_with("whole_process.rs"));
    assert!(finding.victims.is_empty());
}

fn a_condvar_notified_only_before_the_wait_by_a_thread_now_gone_is_a_deadlock() {
    let finding = deadlocked("notified_before");
    let threads: Vec<&str> = finding.cycle.iter().map(|s| s.thread.as_str()).collect();
    assert_eq!(threads, ["main"], "the notifier is gone: {finding:#?}");
}

fn a_waiter_beside_idle_workers_is_a_deadlock_with_the_workers_as_victims() {
    let finding = deadlocked("waiter_and_idle_pool");
    assert_eq!(finding.cycle.len(), 1, "{finding:#?}");
    assert_eq!(finding.cycle[0].waits_for.resource, "changed");
    let mut victims: Vec<&str> = finding.victims.iter().map(|s| s.thread.as_str()).collect();
    victims.sort_unstable();
    assert_eq!(victims, ["pool-0", "pool-1"]);
    assert!(
        finding.summary.ends_with("2 workers are idle"),
        "{}",
        finding.summary
    );
}

fn a_std_condvar_through_the_attribute_is_a_deadlock() {
    let finding = deadlocked("std_condvar");
    let step = &finding.cycle[0];
    assert_eq!(step.thread, "main");
    assert_eq!(step.waits_for.wait, "condvar-wait");
    assert!(
        step.context.iter().any(|f| f.ends_with("wait_for_ever")),
        "{step:#?}"
    );
}

fn a_notifier_blocked_on_the_waiters_lock_before_it_notified_is_a_deadlock() {
    let finding = deadlocked("notifier_blocked_first");
    let mut threads: Vec<&str> = finding.cycle.iter().map(|s| s.thread.as_str()).collect();
    threads.sort_unstable();
    assert_eq!(threads, ["main", "notifier"], "{finding:#?}");
    let notifier = finding
        .cycle
        .iter()
        .find(|s| s.thread == "notifier")
        .unwrap();
    assert_eq!(notifier.waits_for.resource, "table");
    let main = finding.cycle.iter().find(|s| s.thread == "main").unwrap();
    assert_eq!(main.holds[0].resource, "table", "{main:#?}");
}

fn a_wait_ended_by_a_thread_that_sleeps_first_is_not_reported() {
    clean("notified_after_a_sleep");
}

fn a_wait_ended_by_a_thread_unknown_until_it_notifies_is_not_reported() {
    clean("unknown_notifier");
}

fn timed_waits_beside_idle_workers_are_not_reported() {
    clean("timed_waits");
}

fn idle_workers_while_main_sleeps_are_not_reported() {
    clean("idle_pool_main_sleeps");
}

// ---- the children ----------------------------------------------------------------------

fn child(scenario: &str) {
    let watchdog = waitgraph::Watchdog::builder()
        .interval(Duration::from_millis(20))
        .report_file(std::env::var(REPORT).expect("a report path"))
        .exit_on_deadlock(DETECTED)
        .start();
    match scenario {
        "never_notified" => never_notified(),
        "notified_before" => notified_before(),
        "waiter_and_idle_pool" => waiter_and_idle_pool(),
        "std_condvar" => std_condvar(),
        "notifier_blocked_first" => notifier_blocked_first(),
        "notified_after_a_sleep" => notified_after_a_sleep(),
        "unknown_notifier" => unknown_notifier(),
        "timed_waits" => timed_waits(),
        "idle_pool_main_sleeps" => idle_pool_main_sleeps(),
        other => panic!("unknown scenario {other}"),
    }
    // Completed: one more scan sees the final state, then nothing may have been found.
    std::thread::sleep(Duration::from_millis(60));
    let findings = watchdog.stop();
    for finding in &findings {
        eprintln!("unexpected finding: {}", finding.describe());
    }
    std::process::exit(if findings.is_empty() { 0 } else { 1 });
}

/// Waits until `ready` is set.
fn wait_until_ready(ready: &Mutex<bool>, changed: &Condvar) {
    let mut guard = ready.lock();
    while !*guard {
        changed.wait(&mut guard);
    }
}

fn never_notified() {
    static READY: Mutex<bool> = Mutex::named("ready", false);
    static CHANGED: Condvar = Condvar::named("changed");
    wait_until_ready(&READY, &CHANGED);
}

fn notified_before() {
    static READY: Mutex<bool> = Mutex::named("ready", false);
    static CHANGED: Condvar = Condvar::named("changed");
    std::thread::Builder::new()
        .name("early".into())
        .spawn(|| {
            // Notifies before anyone waits, and leaves: the state stays unset.
            drop(READY.lock());
            CHANGED.notify_all();
        })
        .unwrap()
        .join()
        .unwrap();
    wait_until_ready(&READY, &CHANGED);
}

/// Two workers idle on a pool with nothing queued.
fn idle_pool() -> Executor {
    let pool = Executor::new("pool");
    let queue = Arc::new((
        Mutex::named("queue", Vec::<u32>::new()),
        Condvar::named("queued"),
    ));
    let enrolled = Arc::new(std::sync::Barrier::new(3));
    for i in 0..2 {
        let (pool, queue, enrolled) = (pool.clone(), queue.clone(), enrolled.clone());
        std::thread::Builder::new()
            .name(format!("pool-{i}"))
            .spawn(move || {
                let _serving = pool.enroll();
                enrolled.wait();
                let (jobs, queued) = &*queue;
                loop {
                    pool.idle(|| {
                        let mut jobs = jobs.lock();
                        while jobs.is_empty() {
                            queued.wait(&mut jobs);
                        }
                    });
                }
            })
            .unwrap();
    }
    enrolled.wait();
    pool
}

fn waiter_and_idle_pool() {
    static READY: Mutex<bool> = Mutex::named("ready", false);
    static CHANGED: Condvar = Condvar::named("changed");
    let _pool = idle_pool();
    wait_until_ready(&READY, &CHANGED);
}

#[waitgraph::instrument]
fn wait_for_ever(ready: &std::sync::Mutex<bool>, changed: &std::sync::Condvar) {
    let mut guard = ready.lock().unwrap();
    while !*guard {
        guard = changed.wait(guard).unwrap();
    }
}

fn std_condvar() {
    let ready = std::sync::Mutex::new(false);
    let changed = std::sync::Condvar::new();
    wait_for_ever(&ready, &changed);
}

/// `main` holds `table` while it waits for `changed`; the only thread that would notify
/// takes `table` first. The condvar has no known notifier, so no cycle closes in the
/// graph; every thread waits all the same.
fn notifier_blocked_first() {
    static TABLE: Mutex<()> = Mutex::named("table", ());
    static READY: Mutex<bool> = Mutex::named("ready", false);
    static CHANGED: Condvar = Condvar::named("changed");
    let _table = TABLE.lock();
    std::thread::Builder::new()
        .name("notifier".into())
        .spawn(|| {
            let _table = TABLE.lock();
            *READY.lock() = true;
            CHANGED.notify_all();
        })
        .unwrap();
    wait_until_ready(&READY, &CHANGED);
}

fn notified_after_a_sleep() {
    static READY: Mutex<bool> = Mutex::named("ready", false);
    static CHANGED: Condvar = Condvar::named("changed");
    let _pool = idle_pool();
    let late = std::thread::Builder::new()
        .name("late".into())
        .spawn(|| {
            // Known to the probe (it took a lock), then out of sight for a while.
            drop(READY.lock());
            std::thread::sleep(Duration::from_millis(400));
            *READY.lock() = true;
            CHANGED.notify_all();
        })
        .unwrap();
    wait_until_ready(&READY, &CHANGED);
    late.join().unwrap();
}

fn unknown_notifier() {
    static READY: Mutex<bool> = Mutex::named("ready", false);
    static CHANGED: Condvar = Condvar::named("changed");
    let unknown = std::thread::spawn(|| {
        // No instrumented call until the notification: the probe does not know it.
        std::thread::sleep(Duration::from_millis(400));
        *READY.lock() = true;
        CHANGED.notify_all();
    });
    wait_until_ready(&READY, &CHANGED);
    unknown.join().unwrap();
}

fn timed_waits() {
    let ready = Mutex::named("ready", false);
    let changed = Condvar::named("changed");
    let _pool = idle_pool();
    let started = Instant::now();
    let mut guard = ready.lock();
    while started.elapsed() < Duration::from_millis(400) {
        changed.wait_for(&mut guard, Duration::from_millis(50));
    }
}

fn idle_pool_main_sleeps() {
    let _pool = idle_pool();
    std::thread::sleep(Duration::from_millis(400));
}

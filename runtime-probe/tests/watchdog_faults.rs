//! The watchdog survives its own faults and the program's: a callback that panics, a
//! scan that fails, a deadlocked thread holding the stderr lock, a report file it cannot
//! write. Each scenario runs in a child process with a deadline, so a watchdog that
//! hangs fails the test instead of the suite.

mod support;

use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier as StdBarrier};
use std::time::{Duration, Instant};
use support::*;
use waitgraph::report::FindingKind;
use waitgraph::sync::Mutex;

const DEADLINE: Duration = Duration::from_secs(20);
/// Exit status of a child whose check inside passed.
const PASSED: i32 = 0;

#[test]
#[ignore = "entry point of the child processes the other tests start"]
fn child() {
    serve_child(|scenario| match scenario {
        "callback_panics" => callback_panics(),
        "scan_panics_then_deadlock" => scan_panics_then_deadlock(),
        "deadlock_holding_stderr" => deadlock_holding_stderr(),
        other => panic!("unknown scenario {other}"),
    });
}

/// Two threads, two locks, opposite orders; `before_second` runs while `b` is held.
fn ab_ba(before_second: impl FnOnce() + Send + 'static) {
    let a = Arc::new(Mutex::named("a", ()));
    let b = Arc::new(Mutex::named("b", ()));
    let both = Arc::new(StdBarrier::new(2));
    let (a1, b1, both1) = (a.clone(), b.clone(), both.clone());
    spawn("second", move || {
        let _b = b1.lock();
        before_second();
        both1.wait();
        let _a = a1.lock();
    });
    let _a = a.lock();
    both.wait();
    let _b = b.lock();
}

/// A watchdog whose callback panics on its first finding still calls it for the next
/// one; the panic is said once.
fn callback_panics() -> bool {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let _second = waitgraph::Watchdog::builder()
        .interval(Duration::from_millis(10))
        .stall_threshold(Duration::from_millis(30))
        .print(false)
        .on_finding(move |_| {
            if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("the program's callback fails");
            }
        })
        .start();
    // A stall, warned at 30 ms and again each time it doubles.
    let lock = Arc::new(Mutex::named("slow", ()));
    let held = lock.lock();
    let waiter = lock.clone();
    spawn("waiter", move || drop(waiter.lock()));
    let deadline = Instant::now() + Duration::from_secs(10);
    while calls.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(held);
    let calls = calls.load(Ordering::SeqCst);
    eprintln!("callback calls: {calls}");
    std::process::exit(if calls >= 2 { PASSED } else { 1 });
}

fn scan_panics_then_deadlock() -> bool {
    waitgraph::__private::fail_next_scans(2);
    ab_ba(|| ());
    false
}

/// The thread that deadlocks holds the stderr lock: printing the report would block
/// for ever, exiting must not.
fn deadlock_holding_stderr() -> bool {
    ab_ba(|| {
        let stderr = std::io::stderr();
        let mut held = stderr.lock();
        let _ = writeln!(held, "second holds the stderr lock");
        // Kept while this thread deadlocks.
        std::mem::forget(held);
    });
    false
}

#[test]
fn a_callback_that_panics_is_said_once_and_called_again() {
    let outcome = run_child("child", "callback_panics", DEADLINE);
    assert_eq!(outcome.status, Some(PASSED), "{}", outcome.child);
    let said = outcome
        .child
        .stderr
        .matches("the on_finding callback panicked")
        .count();
    assert_eq!(said, 1, "{}", outcome.child);
}

#[test]
fn a_failing_scan_is_said_once_and_detection_goes_on() {
    let outcome = run_child("child", "scan_panics_then_deadlock", DEADLINE);
    let finding = outcome.deadlock();
    assert_eq!(cycle_threads(finding).len(), 2);
    assert_eq!(
        outcome.child.stderr.matches("a scan failed").count(),
        1,
        "{}",
        outcome.child
    );
    let report = outcome.report.as_ref().unwrap();
    assert!(
        report
            .probe_errors
            .iter()
            .any(|e| e.contains("a scan failed")),
        "{:?}",
        report.probe_errors
    );
}

#[test]
fn a_deadlocked_thread_holding_the_stderr_lock_does_not_keep_the_process_alive() {
    let outcome = run_child("child", "deadlock_holding_stderr", DEADLINE);
    // Exit 3 with the report on disk, though nothing more could be printed.
    let finding = outcome.deadlock();
    assert_eq!(finding.kind, FindingKind::Deadlock);
}

#[test]
fn findings_kept_are_bounded_and_the_rest_counted() {
    let report =
        std::env::temp_dir().join(format!("waitgraph-bounded-{}.json", std::process::id()));
    let watchdog = waitgraph::Watchdog::builder()
        .interval(Duration::from_millis(5))
        .stall_threshold(Duration::from_millis(10))
        .max_findings(2)
        .print(false)
        .report_file(&report)
        .start();
    let lock = Arc::new(Mutex::named("bounded", ()));
    let held = lock.lock();
    let waiter = lock.clone();
    let thread = spawn("bounded-waiter", move || drop(waiter.lock()));
    // Warned at 10 ms, then 20, 40, 80: four stall findings, two of them kept.
    let deadline = Instant::now() + Duration::from_secs(10);
    let omitted = loop {
        let text = std::fs::read_to_string(&report).unwrap_or_default();
        let parsed: Option<waitgraph::report::Report> = serde_json::from_str(&text).ok();
        let omitted = parsed.as_ref().map_or(0, |r| {
            r.omitted.get(&FindingKind::Stall).copied().unwrap_or(0)
        });
        if omitted >= 2 || Instant::now() > deadline {
            assert!(parsed.is_some_and(|r| r.findings.len() == 2));
            break omitted;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    drop(held);
    thread.join().unwrap();
    assert!(watchdog.stop().len() <= 2);
    let _ = std::fs::remove_file(&report);
    assert!(omitted >= 2, "{omitted} stall findings counted as omitted");
}

#[test]
fn a_report_path_that_cannot_be_written_is_an_error_naming_it() {
    let dir = std::env::temp_dir();
    let error = waitgraph::Watchdog::builder()
        .report_file(&dir)
        .try_start()
        .err()
        .expect("a directory cannot take a report");
    let text = error.to_string();
    assert!(text.contains(&*dir.to_string_lossy()), "{text}");
    assert!(text.contains("is a directory"), "{text}");
}

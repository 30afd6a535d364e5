//! How soon a lock cycle is reported once it closes, with the watchdog's default 100 ms
//! scan interval: a cycle made only of untimed lock waits is certain from one look, so
//! the thread that closes it prompts the watchdog, which looks 1 ms later instead of
//! waiting for two scans (201 ms before). Each program runs in a child process that
//! measures, in the watchdog's callback, the time since the cycle closed; correct
//! programs with heavy lock churn (the prompts' worst case) stay clean.

mod support;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use support::*;

const DEADLINE: Duration = Duration::from_secs(20);
/// What the report must come within, after the cycle closed: far below the 100 ms scan
/// interval (the target is 5 ms; a loaded 2-core CI machine gets some slack).
const REPORTED_WITHIN: Duration = Duration::from_millis(40);

/// When the last thread of the cycle was about to block.
static CLOSED: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);

fn closing() {
    *CLOSED.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
}

#[test]
#[ignore = "entry point of the child processes the other tests start"]
fn child() {
    let Ok(scenario) = std::env::var(SCENARIO_VAR) else {
        return;
    };
    let mut watchdog = waitgraph::Watchdog::builder()
        .report_file(std::env::var(REPORT_VAR).expect("report path"))
        .exit_on_deadlock(DETECTED)
        .on_finding(|finding| {
            let closed = CLOSED.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(closed) = *closed {
                eprintln!(
                    "reported {} us after the cycle closed: {}",
                    closed.elapsed().as_micros(),
                    finding.describe()
                );
            }
        });
    if scenario.ends_with("without_backtraces") {
        watchdog = watchdog.backtrace_wait(Duration::ZERO);
    }
    let watchdog = watchdog.start();
    // Well into the first scan interval, so only a prompt can explain a fast report.
    std::thread::sleep(Duration::from_millis(30));
    match scenario.as_str() {
        "std_ab_ba" => std_ab_ba(),
        "own_ab_ba" | "own_ab_ba_without_backtraces" => own_ab_ba(),
        "std_double_lock" => std_double_lock(),
        "churn" => {
            churn();
            eprintln!("quick scans: {}", watchdog.quick_scans());
            finish_clean(watchdog);
        }
        other => panic!("unknown scenario {other}"),
    }
    loop {
        std::thread::park();
    }
}

/// The child's deadlock and how long after the cycle closed it was reported.
fn reported(scenario: &str) -> (waitgraph::report::Finding, Duration) {
    let outcome = run_child("child", scenario, DEADLINE);
    let finding = outcome.deadlock().clone();
    let micros: u64 = outcome
        .child
        .stderr
        .lines()
        .find_map(|line| {
            line.strip_prefix("reported ")?
                .split(" us")
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("the latency: {}", outcome.child));
    (finding, Duration::from_micros(micros))
}

fn assert_fast(scenario: &str, threads: &[&str]) -> Duration {
    let (finding, latency) = reported(scenario);
    let mut on_cycle = cycle_threads(&finding);
    on_cycle.sort_unstable();
    assert_eq!(on_cycle, threads, "{finding:#?}");
    assert!(
        latency <= REPORTED_WITHIN,
        "{scenario}: reported {latency:?} after the cycle closed"
    );
    eprintln!("{scenario}: reported {latency:?} after the cycle closed");
    latency
}

// ---- deadlocks --------------------------------------------------------------------------

#[waitgraph::instrument]
fn std_cross(first: &std::sync::Mutex<u32>, second: &std::sync::Mutex<u32>, both: &Barrier) {
    let _first = first.lock().unwrap();
    both.wait();
    closing();
    let _second = second.lock().unwrap();
}

fn std_ab_ba() {
    let locks = Arc::new((std::sync::Mutex::new(0), std::sync::Mutex::new(0)));
    let both = Arc::new(Barrier::new(2));
    let (theirs, other) = (locks.clone(), both.clone());
    spawn("left", move || std_cross(&theirs.0, &theirs.1, &other));
    spawn("right", move || std_cross(&locks.1, &locks.0, &both));
}

#[test]
fn a_std_lock_cycle_through_the_attribute_is_reported_within_milliseconds() {
    assert_fast("std_ab_ba", &["left", "right"]);
}

#[waitgraph::instrument]
fn take_twice(lock: &std::sync::Mutex<u32>) {
    let _first = lock.lock().unwrap();
    closing();
    let _second = lock.lock().unwrap(); // waitgraph: allow(double-lock) the hang under test
}

fn std_double_lock() {
    spawn("twice", || take_twice(&std::sync::Mutex::new(0)));
}

#[test]
fn a_std_double_lock_is_reported_within_milliseconds() {
    assert_fast("std_double_lock", &["twice"]);
}

fn own_cross(
    first: &waitgraph::sync::Mutex<u32>,
    second: &waitgraph::sync::Mutex<u32>,
    both: &Barrier,
) {
    let _first = first.lock();
    both.wait();
    closing();
    let _second = second.lock();
}

fn own_ab_ba() {
    use waitgraph::sync::Mutex;
    let locks = Arc::new((Mutex::named("accounts", 0), Mutex::named("ledger", 0)));
    let both = Arc::new(Barrier::new(2));
    let (theirs, other) = (locks.clone(), both.clone());
    spawn("left", move || own_cross(&theirs.0, &theirs.1, &other));
    spawn("right", move || own_cross(&locks.1, &locks.0, &both));
}

#[test]
fn a_lock_cycle_of_waitgraph_mutexes_is_reported_within_milliseconds_without_backtraces() {
    assert_fast("own_ab_ba_without_backtraces", &["left", "right"]);
}

#[test]
fn a_lock_cycle_of_waitgraph_mutexes_is_reported_with_the_backtraces_of_its_threads() {
    // The blocked threads answer between two 50 ms slices of their wait, and the first
    // symbolisation of a debug build takes about 120 ms: slower than without, still
    // well below the two scans and the backtrace wait of before.
    let (finding, latency) = reported("own_ab_ba");
    assert!(
        finding.cycle.iter().all(|step| step.backtrace.is_some()),
        "{finding:#?}"
    );
    eprintln!("own_ab_ba with backtraces: reported {latency:?} after the cycle closed");
    assert!(latency < Duration::from_secs(1), "{latency:?}");
}

// ---- correct programs -------------------------------------------------------------------

/// Four threads take two locks in one order, contended, each iteration on a lock made
/// for it too (a lock per request), and audit the ledger alone between transfers, so
/// the inner lock is contended too: each wait for it prompts the watchdog.
#[waitgraph::instrument]
fn transfer(accounts: &std::sync::Mutex<u64>, ledger: &std::sync::Mutex<u64>) {
    let request = std::sync::Mutex::new(0u64);
    let mut accounts = accounts.lock().unwrap();
    let mut ledger = ledger.lock().unwrap();
    let mut request = request.lock().unwrap();
    *accounts += 1;
    *ledger += 1;
    *request += 1;
}

#[waitgraph::instrument]
fn audit(ledger: &std::sync::Mutex<u64>) -> u64 {
    let ledger = ledger.lock().unwrap();
    std::thread::yield_now();
    *ledger
}

fn churn() {
    let locks = Arc::new((std::sync::Mutex::new(0), std::sync::Mutex::new(0)));
    let own = Arc::new((
        waitgraph::sync::Mutex::new(0u64),
        waitgraph::sync::Mutex::new(0u64),
    ));
    let until = Instant::now() + Duration::from_millis(1_200);
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let (locks, own) = (locks.clone(), own.clone());
            spawn(&format!("client-{i}"), move || {
                while Instant::now() < until {
                    transfer(&locks.0, &locks.1);
                    std::hint::black_box(audit(&locks.1));
                    let _outer = own.0.lock();
                    let mut inner = own.1.lock();
                    *inner += 1;
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn heavy_nested_lock_churn_in_one_order_is_not_reported() {
    let outcome = run_child("child", "churn", DEADLINE);
    outcome.assert_clean();
    let looks: u64 = outcome
        .child
        .stderr
        .lines()
        .find_map(|line| line.strip_prefix("quick scans: ")?.parse().ok())
        .unwrap_or_else(|| panic!("the count of looks: {}", outcome.child));
    eprintln!("churn: {looks} quick scans in 1.2 s");
    assert!(looks > 0, "contended nested waits prompted the watchdog");
}

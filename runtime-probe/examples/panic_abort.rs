//! The probe in a program built with `panic = "abort"` (the workspace's `abort` profile):
//!
//! ```sh
//! cargo run -p waitgraph --profile abort --example panic_abort -- deadlock FILE
//! cargo run -p waitgraph --profile abort --example panic_abort -- panic-holding FILE
//! ```
//!
//! `deadlock`: two threads deadlock; the watchdog writes FILE and exits with status 3,
//! exactly as with unwinding. `panic-holding`: a thread panics while it holds a lock; the
//! process aborts at once (no guard is dropped, nothing more runs), and since a report
//! file is only ever replaced whole, FILE is never left half-written.
//! `callback-panics` / `scan-panics`: the `on_finding` callback, or a scan, panics
//! first; the probe's thread is replaced instead of aborting the program, and the
//! deadlock that follows is still reported (exit 3).

use std::sync::{Arc, Barrier};
use std::time::Duration;
use waitgraph::sync::Mutex;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, report] = args.as_slice() else {
        eprintln!("usage: panic_abort deadlock|panic-holding|callback-panics|scan-panics FILE");
        std::process::exit(2);
    };
    let mut builder = waitgraph::Watchdog::builder()
        .interval(Duration::from_millis(20))
        .report_file(report)
        .exit_on_deadlock(3);
    if mode == "callback-panics" {
        // A stall first (warned at 30 ms): the callback panics on it.
        builder = builder
            .stall_threshold(Duration::from_millis(30))
            .on_finding(|finding| {
                if finding.kind == waitgraph::report::FindingKind::Stall {
                    panic!("the program's callback fails");
                }
            });
    }
    if mode == "scan-panics" {
        waitgraph::__private::fail_next_scans(2);
    }
    let _watchdog = builder.start();
    let a = Arc::new(Mutex::named("a", ()));
    let b = Arc::new(Mutex::named("b", ()));
    match mode.as_str() {
        "callback-panics" => {
            let held = b.lock();
            let b1 = b.clone();
            let waiter = std::thread::spawn(move || drop(b1.lock()));
            std::thread::sleep(Duration::from_millis(200));
            drop(held);
            waiter.join().unwrap();
            deadlock(a, b);
        }
        "deadlock" | "scan-panics" => deadlock(a, b),
        "panic-holding" => {
            let _a = a.lock();
            let _b = b.lock(); // waitgraph: allow(lock-order-inversion) the example's deadlock, on purpose
            panic!("panicking while holding `a` and `b`");
        }
        _ => std::process::exit(2),
    }
}

/// Two threads, two locks, opposite orders.
fn deadlock(a: Arc<Mutex<()>>, b: Arc<Mutex<()>>) {
    let both = Arc::new(Barrier::new(2));
    let (a1, b1, both1) = (a.clone(), b.clone(), both.clone());
    std::thread::spawn(move || {
        let _a = a1.lock();
        both1.wait();
        let _b = b1.lock();
    });
    let _b = b.lock();
    both.wait();
    let _a = a.lock();
}

//! The probe is never a cause of trouble: it does not block the program, stays
//! consistent through panics and switches, and frees what it no longer needs.

use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use waitgraph::report::FindingKind;
use waitgraph::sync::{Condvar, Mutex, RwLock};

/// Runs `work` on a thread and fails if it does not finish within `limit`.
fn within(limit: Duration, name: &str, work: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            work();
            let _ = done.send(());
        })
        .unwrap();
    finished
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("{name} did not finish within {limit:?}"));
}

#[test]
fn locking_never_waits_on_the_probe_while_its_registry_is_busy() {
    let locks: Arc<Vec<Mutex<u64>>> = Arc::new((0..4).map(|_| Mutex::new(0)).collect());
    let table = Arc::new(RwLock::new(0u64));
    let condvar = Arc::new(Condvar::new());
    // Used once, so the resources and this thread's slot are registered...
    for lock in locks.iter() {
        *lock.lock() += 1;
    }
    *table.write() += 1;
    condvar.notify_all();
    let (ready_tx, ready) = mpsc::channel();
    let (start, go) = mpsc::channel::<()>();
    let (locks2, table2, condvar2) = (locks.clone(), table.clone(), condvar.clone());
    let worker = std::thread::spawn(move || {
        // ...and this thread's too, before the registry is held.
        drop(locks2[0].lock());
        ready_tx.send(()).unwrap();
        go.recv().unwrap();
        for i in 0..200_000u64 {
            *locks2[(i % 4) as usize].lock() += 1;
            if i % 16 == 0 {
                *table2.write() += 1;
                let _ = *table2.read();
                condvar2.notify_one();
            }
        }
    });
    // ...then every registry lock is held, as by a scan in progress.
    ready.recv().unwrap();
    let hold = waitgraph::__private::hold_for_test();
    start.send(()).unwrap();
    let (finished_tx, finished) = mpsc::channel();
    std::thread::spawn(move || finished_tx.send(worker.join().is_ok()).unwrap());
    let outcome = finished.recv_timeout(Duration::from_secs(30));
    drop(hold);
    assert_eq!(
        outcome,
        Ok(true),
        "the worker must finish while the registry is held"
    );
}

#[test]
fn a_panic_inside_a_locked_region_leaves_no_false_hold() {
    within(Duration::from_secs(10), "panicker", || {
        let lock = Mutex::named("panic-region", 0);
        let table = RwLock::named("panic-table", 0);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _g = lock.lock();
            let _r = table.read();
            panic!("inside the locked region");
        }));
        assert!(result.is_err());
        let dump = waitgraph::dump();
        let me = dump
            .threads
            .iter()
            .find(|t| t.thread == "panicker")
            .expect("this thread is registered");
        assert!(
            me.holds.is_empty(),
            "after the panic nothing is held: {:?}",
            me.holds
        );
        // And the locks work again.
        *lock.lock() += 1;
        *table.write() += 1;
    });
}

#[test]
fn switching_off_while_holding_a_lock_leaves_no_false_hold() {
    within(Duration::from_secs(10), "switcher", || {
        let lock = Mutex::named("switched", ());
        let guard = lock.lock();
        waitgraph::set_enabled(false);
        drop(guard);
        waitgraph::set_enabled(true);
        let dump = waitgraph::dump();
        let me = dump
            .threads
            .iter()
            .find(|t| t.thread == "switcher")
            .unwrap();
        assert!(me.holds.is_empty(), "{:?}", me.holds);
    });
}

#[test]
fn dropped_primitives_and_exited_threads_are_forgotten() {
    within(Duration::from_secs(30), "churn", || {
        let before = waitgraph::dump().resources;
        for _ in 0..10_000 {
            let lock = Mutex::new(1);
            *lock.lock() += 1;
        }
        let after = waitgraph::dump().resources;
        // Other tests run meanwhile; 10,000 entries would not go unnoticed.
        assert!(
            after < before + 100,
            "resources before {before}, after {after}"
        );
        let handles: Vec<_> = (0..50)
            .map(|i| {
                std::thread::Builder::new()
                    .name(format!("short-lived-{i}"))
                    .spawn(|| drop(Mutex::new(()).lock()))
                    .unwrap()
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        let dump = waitgraph::dump();
        assert!(!dump
            .threads
            .iter()
            .any(|t| t.thread.starts_with("short-lived-")));
    });
}

#[test]
fn dump_shows_a_blocked_thread_what_it_waits_for_and_who_holds_it() {
    let lock = Arc::new(Mutex::named("dumped", ()));
    let guard = lock.lock();
    let lock2 = lock.clone();
    let blocked = std::thread::Builder::new()
        .name("dump-waiter".into())
        .spawn(move || drop(lock2.lock()))
        .unwrap();
    let mut seen = None;
    // A net only: the loop ends when the dump shows the wait.
    let net = Instant::now() + Duration::from_secs(10);
    while Instant::now() < net {
        let dump = waitgraph::dump();
        if let Some(step) = dump
            .threads
            .into_iter()
            .find(|t| t.thread == "dump-waiter" && t.waits_for.resource == "dumped")
        {
            seen = Some(step);
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(guard);
    blocked.join().unwrap();
    let step = seen.expect("the dump shows the wait");
    assert_eq!(step.waits_for.wait, "lock");
    assert_eq!(step.blocked_by.len(), 1);
    let json = serde_json::to_string(&step).unwrap();
    assert!(json.contains("\"dumped\""));
}

#[test]
fn a_stall_is_warned_once_then_only_when_it_doubles() {
    // How long the staller had waited at each warning about it.
    let warned = Arc::new(std::sync::Mutex::new(Vec::new()));
    let counted = warned.clone();
    let watchdog = waitgraph::Watchdog::builder()
        .interval(Duration::from_millis(10))
        .stall_threshold(Duration::from_millis(100))
        .print(false)
        .on_finding(move |finding| {
            if finding.kind == FindingKind::Stall && finding.cycle[0].thread == "staller" {
                counted.lock().unwrap().push(finding.cycle[0].waited_ms);
            }
        })
        .start();
    let lock = Arc::new(Mutex::named("slow", ()));
    let guard = lock.lock();
    let lock2 = lock.clone();
    let staller = std::thread::Builder::new()
        .name("staller".into())
        .spawn(move || drop(lock2.lock()))
        .unwrap();
    // Held until the third warning (due at about 100, 200 and 400 ms, while a scan runs
    // every 10 ms); the deadline is a net only.
    let net = Instant::now() + Duration::from_secs(10);
    while warned.lock().unwrap().len() < 3 && Instant::now() < net {
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(guard);
    staller.join().unwrap();
    let findings = watchdog.stop();
    let waited: Vec<u64> = warned
        .lock()
        .unwrap()
        .iter()
        .map(|ms| ms.expect("a stall says how long it has lasted"))
        .collect();
    assert!(waited.len() >= 3, "warnings at {waited:?} ms");
    // Warned first past the threshold, then only when the wait has doubled since the
    // last warning: not at every scan.
    assert!(waited[0] >= 100, "warnings at {waited:?} ms");
    for pair in waited.windows(2) {
        assert!(pair[1] >= 2 * pair[0], "warnings at {waited:?} ms");
    }
    let stall = findings
        .iter()
        .find(|f| f.kind == FindingKind::Stall && f.cycle[0].thread == "staller")
        .unwrap();
    assert_eq!(stall.cycle[0].waits_for.resource, "slow");
    assert!(!findings
        .iter()
        .any(|f| f.kind == FindingKind::Deadlock && f.cycle.iter().any(|s| s.thread == "staller")));
}

#[test]
fn a_waiting_writer_keeps_new_readers_out_from_its_first_moment() {
    // A parking_lot writer that gives up a timed attempt lets the readers queued behind it
    // in: an untimed `write()` under the probe must never do that, or the program runs
    // differently with waitgraph than without (and hides the re-entrant read deadlock).
    for _round in 0..5 {
        let lock = Arc::new(RwLock::new(()));
        let order = Arc::new(Mutex::new(Vec::new()));
        let first_reader = lock.read();
        let (lock3, order3) = (lock.clone(), order.clone());
        // Started first, so it is watching when the writer comes.
        let reader = std::thread::spawn(move || {
            // The writer is waiting for the first reader to leave: from now on a new
            // reader queues behind it.
            while !lock3.is_locked_exclusive() {
                std::thread::yield_now();
            }
            let _read = lock3.read();
            order3.lock().push("reader");
        });
        let (lock2, order2) = (lock.clone(), order.clone());
        let writer = std::thread::spawn(move || {
            let _write = lock2.write();
            order2.lock().push("writer");
        });
        // Many times the writer's old 1 ms first attempt.
        std::thread::sleep(Duration::from_millis(30));
        let early = order.lock().clone();
        drop(first_reader);
        writer.join().unwrap();
        reader.join().unwrap();
        assert!(
            early.is_empty(),
            "{early:?} got in while the first reader held the lock"
        );
        assert_eq!(*order.lock(), ["writer", "reader"]);
    }
}

/// A thread waits (untimed) on a condvar for 400 ms while the watchdog warns past 100 ms.
/// `notify_before` runs on a thread of its own before the wait (and ends). Returns the
/// stall warnings about the waiter.
fn condvar_wait_warnings(
    name: &'static str,
    notify_before: bool,
) -> Vec<waitgraph::report::Finding> {
    condvar_wait_warnings_with(name, notify_before, false)
}

/// The same, the watchdog warning about every wait (`warn_every_wait`) if asked.
fn condvar_wait_warnings_with(
    name: &'static str,
    notify_before: bool,
    every_wait: bool,
) -> Vec<waitgraph::report::Finding> {
    let state = Arc::new((
        Mutex::named("state", false),
        waitgraph::sync::Condvar::named(name),
    ));
    if notify_before {
        let early = state.clone();
        std::thread::spawn(move || early.1.notify_all())
            .join()
            .unwrap();
    }
    let watchdog = waitgraph::Watchdog::builder()
        .interval(Duration::from_millis(10))
        .stall_threshold(Duration::from_millis(100))
        .warn_every_wait(every_wait)
        .print(false)
        .start();
    let waiting = state.clone();
    let waiter = std::thread::Builder::new()
        .name(format!("{name}-waiter"))
        .spawn(move || {
            let mut ready = waiting.0.lock();
            while !*ready {
                waiting.1.wait(&mut ready);
            }
        })
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    *state.0.lock() = true;
    state.1.notify_all();
    waiter.join().unwrap();
    watchdog
        .stop()
        .into_iter()
        .filter(|f| f.cycle.iter().any(|s| s.waits_for.resource == name))
        .collect()
}

#[test]
fn a_condvar_wait_whose_only_notifier_has_ended_is_warned_about_as_a_stall() {
    let warnings = condvar_wait_warnings("orphaned", true);
    assert!(!warnings.is_empty(), "a stall warning");
    assert!(
        warnings.iter().all(|f| f.kind == FindingKind::Stall),
        "never more than a stall (someone may still notify): {warnings:#?}"
    );
}

#[test]
fn a_condvar_wait_nobody_ever_notified_is_how_idle_threads_sleep_and_not_warned_about() {
    let warnings = condvar_wait_warnings("never-notified", false);
    assert!(warnings.is_empty(), "{warnings:#?}");
}

#[test]
fn asked_to_warn_about_every_wait_a_condvar_nobody_notified_is_a_stall_saying_so() {
    let warnings = condvar_wait_warnings_with("never-notified-warned", false, true);
    assert!(!warnings.is_empty(), "a stall warning");
    for warning in &warnings {
        assert_eq!(warning.kind, FindingKind::Stall, "never more than a stall");
        assert!(
            warning.summary.contains("no thread has notified it yet"),
            "{}",
            warning.summary
        );
    }
}

/// Joins `worker` (a thread named `name`) under a watchdog that warns past 100 ms, and
/// returns the stall warnings about the joining thread.
fn join_warnings(
    name: &'static str,
    worker: impl FnOnce() + Send + 'static,
) -> Vec<waitgraph::report::Finding> {
    let watchdog = waitgraph::Watchdog::builder()
        .interval(Duration::from_millis(10))
        .stall_threshold(Duration::from_millis(100))
        .print(false)
        .start();
    let handle = waitgraph::thread::Builder::new()
        .name(name.into())
        .spawn(worker)
        .unwrap();
    handle.join().unwrap();
    watchdog
        .stop()
        .into_iter()
        .filter(|f| {
            f.cycle
                .iter()
                .any(|s| s.waits_for.wait == "join" && s.waits_for.resource.contains(name))
        })
        .collect()
}

#[test]
fn joining_a_thread_that_works_longer_than_the_threshold_is_no_stall() {
    let warnings = join_warnings("long-worker", || {
        std::thread::sleep(Duration::from_millis(400));
    });
    assert!(warnings.is_empty(), "{warnings:#?}");
}

#[test]
fn joining_a_thread_blocked_in_an_untimed_wait_is_a_stall() {
    let warnings = join_warnings("blocked-worker", || {
        let state = Arc::new((
            Mutex::named("join-state", false),
            Condvar::named("join-changed"),
        ));
        let theirs = state.clone();
        // Ends the worker's wait after 400 ms, from a thread the joiner does not know.
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(400));
            *theirs.0.lock() = true;
            theirs.1.notify_all();
        });
        let mut ready = state.0.lock();
        while !*ready {
            state.1.wait(&mut ready);
        }
    });
    assert!(!warnings.is_empty(), "a stall warning about the join");
    assert!(warnings.iter().all(|f| f.kind == FindingKind::Stall));
}

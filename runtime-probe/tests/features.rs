//! The optional features: `tracing` (events and span contexts), `parking-lot-deadlock`
//! (parking_lot's own check merged in) and `signal` (SIGUSR1 dumps the graph).
//!
//! ```sh
//! cargo test -p waitgraph --all-features --test features
//! ```

#![allow(unused_imports, dead_code)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

#[test]
#[ignore = "entry point of the child processes the other tests start"]
fn child() {
    let Some((scenario, _watchdog)) = child_scenario() else {
        return;
    };
    let known = match scenario.as_str() {
        #[cfg(feature = "parking-lot-deadlock")]
        "raw_parking_lot_ab_ba" => {
            raw_parking_lot_ab_ba();
            true
        }
        _ => false,
    };
    assert!(known, "unknown scenario {scenario}");
    loop {
        std::thread::park();
    }
}

#[cfg(feature = "parking-lot-deadlock")]
fn raw_parking_lot_ab_ba() {
    let a = Arc::new(parking_lot::Mutex::new(()));
    let b = Arc::new(parking_lot::Mutex::new(()));
    let both = Arc::new(std::sync::Barrier::new(2));
    let (a1, b1, both1) = (a.clone(), b.clone(), both.clone());
    std::thread::Builder::new()
        .name("raw-first".into())
        .spawn(move || {
            // Registered with waitgraph (by a primitive of its own) so it has a name.
            drop(waitgraph::sync::Mutex::new(()).lock());
            let _a = a1.lock();
            both1.wait();
            let _b = b1.lock(); // waitgraph: allow(lock-order-inversion) the hang under test
        })
        .unwrap();
    std::thread::spawn(move || {
        let _b = b.lock();
        both.wait();
        let _a = a.lock();
    });
}

#[cfg(feature = "parking-lot-deadlock")]
#[test]
fn uninstrumented_parking_lot_locks_are_covered_by_parking_lots_check() {
    let outcome = run_child("child", "raw_parking_lot_ab_ba", Duration::from_secs(20));
    let finding = outcome.deadlock();
    assert!(
        finding.summary.contains("parking_lot's deadlock check"),
        "{}",
        finding.summary
    );
    assert_eq!(finding.cycle.len(), 2);
    assert!(
        finding.cycle.iter().any(|s| s.thread == "raw-first"),
        "{:?}",
        finding.cycle
    );
    assert!(finding.cycle.iter().all(|s| s.backtrace.is_some()));
}

/// SIGUSR1 reaches every watchdog of the process: the in-process watchdogs take turns, so
/// the signal test's dump is the only one (another would land in the working directory).
static ONE_WATCHDOG_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[cfg(feature = "tracing")]
#[test]
fn spans_become_contexts_and_the_watchdog_emits_tracing_events() {
    let _turn = ONE_WATCHDOG_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    use tracing_subscriber::layer::{Context, SubscriberExt};
    use tracing_subscriber::Layer;
    use waitgraph::sync::Mutex;

    /// Collects the watchdog's events: level and the `kind` field.
    struct Events(Arc<parking_lot::Mutex<Vec<(tracing::Level, String)>>>);
    impl<S: tracing::Subscriber> Layer<S> for Events {
        fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
            if event.metadata().target() != "waitgraph" {
                return;
            }
            struct Kind(String);
            impl tracing::field::Visit for Kind {
                fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                    if field.name() == "kind" {
                        self.0 = value.to_string();
                    }
                }
                fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
            }
            let mut kind = Kind(String::new());
            event.record(&mut kind);
            self.0.lock().push((*event.metadata().level(), kind.0));
        }
    }

    let events = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let subscriber = tracing_subscriber::registry()
        .with(waitgraph::layer::ContextLayer::new())
        .with(Events(events.clone()));
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let watchdog = waitgraph::Watchdog::builder()
        .interval(Duration::from_millis(10))
        .stall_threshold(Duration::from_millis(100))
        .print(false)
        .start();
    let lock = Arc::new(Mutex::named("traced", ()));
    let guard = lock.lock();
    let lock2 = lock.clone();
    let waiter = std::thread::Builder::new()
        .name("in-a-span".into())
        .spawn(move || {
            let span = tracing::info_span!("load_documents");
            let _entered = span.enter();
            drop(lock2.lock());
        })
        .unwrap();
    // Deadlines below are nets only: each wait ends when what it waits for is seen.
    let net = Instant::now() + Duration::from_secs(10);
    let mut context = Vec::new();
    while Instant::now() < net {
        if let Some(step) = waitgraph::dump()
            .threads
            .into_iter()
            .find(|t| t.thread == "in-a-span" && t.waits_for.resource == "traced")
        {
            context = step.context;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // Held until the watchdog has warned about the stall.
    let warned = || {
        events
            .lock()
            .iter()
            .any(|(level, kind)| *level == tracing::Level::WARN && kind == "stall")
    };
    let net = Instant::now() + Duration::from_secs(10);
    while !warned() && Instant::now() < net {
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(guard);
    waiter.join().unwrap();
    watchdog.stop();
    assert_eq!(context, vec!["load_documents".to_string()]);
    let events = events.lock();
    assert!(
        events
            .iter()
            .any(|(level, kind)| *level == tracing::Level::WARN && kind == "stall"),
        "{events:?}"
    );
}

#[cfg(all(feature = "signal", unix))]
#[test]
fn sigusr1_writes_the_current_graph() {
    let _turn = ONE_WATCHDOG_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let path = std::env::temp_dir().join(format!("waitgraph-signal-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let lock = waitgraph::sync::Mutex::named("signalled", ());
    let _held = lock.lock();
    let watchdog = waitgraph::Watchdog::builder()
        .interval(Duration::from_millis(10))
        .dump_file(&path)
        .print(false)
        .start();
    // The handler is registered before `start` returns: the signal can come at once.
    signal_hook::low_level::raise(signal_hook::consts::SIGUSR1).unwrap();
    // The watchdog writes the dump at its next scan; the deadline is a net only.
    let net = Instant::now() + Duration::from_secs(10);
    let text = loop {
        if let Ok(found) = std::fs::read_to_string(&path) {
            break Some(found);
        }
        if Instant::now() > net {
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    watchdog.stop();
    let _ = std::fs::remove_file(&path);
    let text = text.expect("the dump file, written after SIGUSR1");
    let dump: waitgraph::GraphDump = serde_json::from_str(&text).unwrap();
    assert!(
        dump.threads
            .iter()
            .any(|t| t.holds.iter().any(|h| h.resource == "signalled")),
        "{text}"
    );
}

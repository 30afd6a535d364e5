//! What recording costs, side by side in one run, with the ratios printed at the end:
//!
//! | group | cases | what it says |
//! |---|---|---|
//! | `record/1-thread` | parking_lot, tracing-mutex, the probe alone, streaming to a binary file, to JSON lines, a flight recorder, in-process prediction | 100 lock + unlock pairs on one lock, made once: the cost on the recording thread (2 events a pair) |
//! | `record/8-threads` | the probe alone, streaming to a binary file | 8 threads, each with its own lock, 100 pairs each per iteration: the per-event cost when threads record at once, against one thread |
//! | `record/encode` | the binary encoder, JSON lines | events of a real recording encoded in memory: what the writer thread can take, in events and bytes a second |
//!
//! ```sh
//! cargo bench -p waitgraph --bench record
//! ```
//!
//! Only one recording runs per process, so the cases run one after the other, each
//! starting and finishing its own; the file cases report what they wrote (events, drops,
//! bytes per event).

use criterion::{criterion_group, criterion_main, Criterion};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::{Arc, Barrier, Mutex as StdMutex};
use std::time::{Duration, Instant};
use waitgraph::model::{Event, TraceHeader, TraceLine};
use waitgraph::record::TraceFile;

const PAIRS: u64 = 100;
const THREADS: usize = 8;

/// Per case, the nanoseconds of each measured iteration, for the summary.
static MEASURED: StdMutex<BTreeMap<String, Vec<f64>>> = StdMutex::new(BTreeMap::new());

fn keep(case: &str, elapsed: Duration, iterations: u64) {
    MEASURED
        .lock()
        .unwrap()
        .entry(case.to_string())
        .or_default()
        .push(elapsed.as_nanos() as f64 / iterations as f64);
}

fn median(case: &str) -> Option<f64> {
    let measured = MEASURED.lock().unwrap();
    let mut values = measured.get(case)?.clone();
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

fn scratch(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("waitgraph-bench-{}-{name}", std::process::id()))
}

fn short<'c>(
    c: &'c mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'c, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    group
}

fn waitgraph_pairs(lock: &waitgraph::sync::Mutex<u64>) {
    for _ in 0..PAIRS {
        let mut value = lock.lock();
        *value = black_box(*value + 1);
    }
}

/// 100 requests, each making its own lock, taking it once and dropping it.
fn per_request() {
    for _ in 0..PAIRS {
        let lock = waitgraph::sync::Mutex::named("request", 0u64);
        *lock.lock() += 1;
        black_box(&lock);
    }
}

/// Times `iterations` rounds of `round` for the case, keeping the figure.
fn timed(case: &'static str, round: impl Fn()) -> impl FnMut(u64) -> Duration {
    move |iterations| {
        let start = Instant::now();
        for _ in 0..iterations {
            round();
        }
        let elapsed = start.elapsed();
        keep(case, elapsed, iterations);
        elapsed
    }
}

fn wrote(case: &str, summary: std::io::Result<waitgraph::record::TraceSummary>) {
    let summary = summary.expect("finish the trace");
    println!(
        "{case}: {} events written, {} dropped, {:.1} bytes an event",
        summary.events,
        summary.dropped,
        summary.bytes as f64 / summary.events.max(1) as f64
    );
    let _ = std::fs::remove_file(&summary.path);
}

fn one_thread(c: &mut Criterion) {
    let mut group = short(c, "record/1-thread");
    let plain = parking_lot::Mutex::new(0u64);
    group.bench_function("parking_lot", |b| {
        b.iter_custom(timed("parking_lot", || {
            for _ in 0..PAIRS {
                let mut value = plain.lock();
                *value = black_box(*value + 1);
            }
        }))
    });
    let tracing = tracing_mutex::parkinglot::tracing::Mutex::new(0u64);
    group.bench_function("tracing-mutex", |b| {
        b.iter_custom(timed("tracing-mutex", || {
            for _ in 0..PAIRS {
                let mut value = tracing.lock();
                *value = black_box(*value + 1);
            }
        }))
    });
    let lock = waitgraph::sync::Mutex::named("bench", 0u64);
    group.bench_function("probe-alone", |b| {
        b.iter_custom(timed("probe-alone", || waitgraph_pairs(&lock)))
    });
    group.bench_function("probe-alone, a lock made per request", |b| {
        b.iter_custom(timed("probe-alone-per-request", per_request))
    });
    for (case, file) in [
        ("streaming-binary", "stream.trace"),
        ("streaming-json-lines", "stream.jsonl"),
    ] {
        let trace = TraceFile::create(scratch(file)).expect("create the trace");
        group.bench_function(case, |b| {
            b.iter_custom(timed(case, || waitgraph_pairs(&lock)))
        });
        wrote(case, trace.finish());
    }
    let trace = TraceFile::flight_recorder(scratch("flight.trace"), 10_000).expect("flight");
    group.bench_function("flight-recorder", |b| {
        b.iter_custom(timed("flight-recorder", || waitgraph_pairs(&lock)))
    });
    wrote("flight-recorder", trace.finish());
    let watchdog = waitgraph::Watchdog::builder()
        .predict(true)
        .print(false)
        .start();
    group.bench_function("predicting", |b| {
        b.iter_custom(timed("predicting", || waitgraph_pairs(&lock)))
    });
    group.bench_function("predicting, a lock made per request", |b| {
        b.iter_custom(timed("predicting-per-request", per_request))
    });
    watchdog.stop();
    group.finish();
}

/// Each of `THREADS` threads runs `PAIRS` pairs on its own lock per round; a round's time
/// is the slowest thread's.
fn many_threads(c: &mut Criterion) {
    let mut group = short(c, "record/8-threads");
    let locks: Arc<Vec<waitgraph::sync::Mutex<u64>>> = Arc::new(
        (0..THREADS)
            .map(|i| waitgraph::sync::Mutex::named(if i % 2 == 0 { "even" } else { "odd" }, 0))
            .collect(),
    );
    let run = |case: &'static str, locks: Arc<Vec<waitgraph::sync::Mutex<u64>>>| {
        move |iterations: u64| {
            let start = Arc::new(Barrier::new(THREADS + 1));
            let threads: Vec<_> = (0..THREADS)
                .map(|i| {
                    let (locks, start) = (locks.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        for _ in 0..iterations {
                            waitgraph_pairs(&locks[i]);
                        }
                    })
                })
                .collect();
            start.wait();
            let begun = Instant::now();
            for thread in threads {
                thread.join().unwrap();
            }
            let elapsed = begun.elapsed();
            keep(case, elapsed, iterations);
            elapsed
        }
    };
    group.bench_function("probe-alone", |b| {
        b.iter_custom(run("8-probe-alone", locks.clone()))
    });
    let trace = TraceFile::create(scratch("threads.trace")).expect("create the trace");
    group.bench_function("streaming-binary", |b| {
        b.iter_custom(run("8-streaming-binary", locks.clone()))
    });
    wrote("8 threads, streaming-binary", trace.finish());
    group.finish();
}

/// The writer's encoding alone, on the events of a real recording.
fn encode(c: &mut Criterion) {
    let lock = waitgraph::sync::Mutex::named("bench", 0u64);
    let ((), events) = waitgraph::record::capture(|| {
        for _ in 0..5_000 {
            waitgraph_pairs(&lock);
        }
    });
    let events: Vec<Event> = events;
    let mut group = short(c, "record/encode");
    group.throughput(criterion::Throughput::Elements(events.len() as u64));
    let mut bytes = Vec::with_capacity(16 << 20);
    group.bench_function("binary", |b| {
        b.iter_custom(|iterations| {
            let start = Instant::now();
            for _ in 0..iterations {
                bytes.clear();
                let mut encoder =
                    waitgraph_core::binary::Encoder::start(&TraceHeader::current(), &mut bytes);
                for event in &events {
                    encoder.event(event, &mut bytes);
                }
                black_box(&bytes);
            }
            let elapsed = start.elapsed();
            keep("encode-binary", elapsed, iterations * events.len() as u64);
            elapsed
        })
    });
    let binary_bytes = bytes.len();
    let mut text = Vec::with_capacity(64 << 20);
    group.bench_function("json-lines", |b| {
        b.iter_custom(|iterations| {
            let start = Instant::now();
            for _ in 0..iterations {
                text.clear();
                for event in &events {
                    serde_json::to_writer(&mut text, &TraceLine::Event(event.clone())).unwrap();
                    text.push(b'\n');
                }
                black_box(&text);
            }
            let elapsed = start.elapsed();
            keep(
                "encode-json-lines",
                elapsed,
                iterations * events.len() as u64,
            );
            elapsed
        })
    });
    group.finish();
    println!(
        "encoded {} events: binary {:.1} bytes an event, JSON lines {:.1}",
        events.len(),
        binary_bytes as f64 / events.len() as f64,
        text.len() as f64 / events.len() as f64
    );
}

fn summary(_: &mut Criterion) {
    let Some(base) = median("parking_lot") else {
        return;
    };
    println!("\nper lock + unlock pair (2 events), median; ratio to parking_lot:");
    for case in [
        "parking_lot",
        "tracing-mutex",
        "probe-alone",
        "streaming-binary",
        "streaming-json-lines",
        "flight-recorder",
        "predicting",
    ] {
        if let Some(ns) = median(case) {
            let pair = ns / PAIRS as f64;
            println!("  {case:<22} {pair:>7.1} ns  {:>6.2}x", ns / base);
        }
    }
    if let (Some(alone), Some(predicting)) = (
        median("probe-alone-per-request"),
        median("predicting-per-request"),
    ) {
        println!(
            "  a lock made per request: {:.1} ns with the probe alone, {:.1} predicting ({:.2}x)",
            alone / PAIRS as f64,
            predicting / PAIRS as f64,
            predicting / alone
        );
    }
    if let Some(probe) = median("probe-alone") {
        for case in ["streaming-binary", "flight-recorder", "predicting"] {
            if let Some(ns) = median(case) {
                println!(
                    "  {case}: {:.1} ns an event beyond the probe alone",
                    (ns - probe) / PAIRS as f64 / 2.0
                );
            }
        }
    }
    if let (Some(one), Some(alone), Some(eight), Some(eight_alone)) = (
        median("streaming-binary"),
        median("probe-alone"),
        median("8-streaming-binary"),
        median("8-probe-alone"),
    ) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        // At 8 threads on fewer cores, a thread's cost is the round's time times the
        // cores it shared, over the events it recorded.
        let share = |ns: f64| ns * cores.min(THREADS as f64) / THREADS as f64;
        let one_event = (one - alone) / PAIRS as f64 / 2.0;
        let eight_event = (share(eight) - share(eight_alone)) / PAIRS as f64 / 2.0;
        println!(
            "  recording at {THREADS} threads ({cores} cores): {eight_event:.1} ns an event beyond the probe, against {one_event:.1} at 1 thread ({:.2}x)",
            eight_event / one_event
        );
    }
    for (case, name) in [
        ("encode-binary", "binary"),
        ("encode-json-lines", "JSON lines"),
    ] {
        if let Some(ns) = median(case) {
            println!("  encoding {name}: {:.1} million events a second", 1e3 / ns);
        }
    }
}

criterion_group!(benches, one_thread, many_threads, encode, summary);
criterion_main!(benches);

//! waitgraph's primitives side by side with the peers, in one run, so the ratios are
//! taken on the same machine at the same time.
//!
//! ```sh
//! cargo bench -p waitgraph --bench locks
//! ```
//!
//! Groups: `uncontended` (lock + unlock), `nested` (lock + unlock while holding another
//! lock), `contended/2` and `contended/4` (threads sharing one lock: time for a fixed
//! number of lock + unlock pairs each), `scan` (one watchdog scan of 1,000 threads
//! holding 10,000 locks between them, 500 of them blocked).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Lock + unlock pairs per measured iteration (criterion's own overhead is spread over
/// them; the figures are per 100 pairs).
const PAIRS: usize = 100;

/// A lock under test: lock, touch the data, unlock.
trait Lock: Send + Sync + 'static {
    fn with(&self, f: impl FnOnce(&mut u64));
}

impl Lock for std::sync::Mutex<u64> {
    #[inline]
    fn with(&self, f: impl FnOnce(&mut u64)) {
        f(&mut self.lock().unwrap())
    }
}

impl Lock for parking_lot::Mutex<u64> {
    #[inline]
    fn with(&self, f: impl FnOnce(&mut u64)) {
        f(&mut self.lock())
    }
}

impl Lock for tracing_mutex::stdsync::tracing::Mutex<u64> {
    #[inline]
    fn with(&self, f: impl FnOnce(&mut u64)) {
        f(&mut self.lock().unwrap())
    }
}

impl Lock for tracing_mutex::parkinglot::tracing::Mutex<u64> {
    #[inline]
    fn with(&self, f: impl FnOnce(&mut u64)) {
        f(&mut self.lock())
    }
}

impl Lock for waitgraph::sync::Mutex<u64> {
    #[inline]
    fn with(&self, f: impl FnOnce(&mut u64)) {
        f(&mut self.lock())
    }
}

fn uncontended(c: &mut Criterion) {
    let mut group = c.benchmark_group("uncontended");
    macro_rules! bench {
        ($name:expr, $on:expr, $lock:expr) => {
            waitgraph::set_enabled($on);
            let lock = $lock;
            group.bench_function($name, |b| {
                b.iter(|| {
                    for _ in 0..PAIRS {
                        lock.with(|v| *v = black_box(*v + 1));
                    }
                })
            });
        };
    }
    bench!("std", true, std::sync::Mutex::new(0u64));
    bench!("parking_lot", true, parking_lot::Mutex::new(0u64));
    bench!(
        "tracing-mutex(std)",
        true,
        tracing_mutex::stdsync::tracing::Mutex::new(0u64)
    );
    bench!(
        "tracing-mutex(parking_lot)",
        true,
        tracing_mutex::parkinglot::tracing::Mutex::new(0u64)
    );
    bench!("waitgraph", true, waitgraph::sync::Mutex::new(0u64));
    bench!("waitgraph(off)", false, waitgraph::sync::Mutex::new(0u64));
    waitgraph::set_enabled(true);
    group.finish();
}

fn nested(c: &mut Criterion) {
    let mut group = c.benchmark_group("nested");
    macro_rules! bench {
        ($name:expr, $on:expr, $make:expr) => {
            waitgraph::set_enabled($on);
            let (outer, inner) = ($make, $make);
            // Establish the order once (tracing-mutex records it on first use).
            outer.with(|_| inner.with(|v| *v += 1));
            outer.with(|_| {
                group.bench_function($name, |b| {
                    b.iter(|| {
                        for _ in 0..PAIRS {
                            inner.with(|v| *v = black_box(*v + 1));
                        }
                    })
                });
            });
        };
    }
    bench!("std", true, std::sync::Mutex::new(0u64));
    bench!("parking_lot", true, parking_lot::Mutex::new(0u64));
    bench!(
        "tracing-mutex(std)",
        true,
        tracing_mutex::stdsync::tracing::Mutex::new(0u64)
    );
    bench!(
        "tracing-mutex(parking_lot)",
        true,
        tracing_mutex::parkinglot::tracing::Mutex::new(0u64)
    );
    bench!("waitgraph", true, waitgraph::sync::Mutex::new(0u64));
    bench!("waitgraph(off)", false, waitgraph::sync::Mutex::new(0u64));
    waitgraph::set_enabled(true);
    group.finish();
}

/// `threads` threads share one lock and do `iters` lock + unlock pairs between them.
fn contended_run<L: Lock>(lock: Arc<L>, threads: usize, iters: u64) -> Duration {
    let per_thread = (iters / threads as u64).max(1);
    let start = Arc::new(std::sync::Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (lock, start) = (lock.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                for _ in 0..per_thread {
                    lock.with(|v| *v = black_box(*v + 1));
                }
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    for handle in handles {
        handle.join().unwrap();
    }
    began.elapsed()
}

fn contended(c: &mut Criterion) {
    for threads in [2usize, 4] {
        let mut group = c.benchmark_group(format!("contended/{threads}"));
        group
            .sample_size(20)
            .measurement_time(Duration::from_secs(3));
        macro_rules! bench {
            ($name:expr, $on:expr, $make:expr) => {
                group.bench_function(BenchmarkId::from_parameter($name), |b| {
                    waitgraph::set_enabled($on);
                    b.iter_custom(|iters| contended_run(Arc::new($make), threads, iters))
                });
            };
        }
        bench!("std", true, std::sync::Mutex::new(0u64));
        bench!("parking_lot", true, parking_lot::Mutex::new(0u64));
        bench!(
            "tracing-mutex(std)",
            true,
            tracing_mutex::stdsync::tracing::Mutex::new(0u64)
        );
        bench!(
            "tracing-mutex(parking_lot)",
            true,
            tracing_mutex::parkinglot::tracing::Mutex::new(0u64)
        );
        bench!("waitgraph", true, waitgraph::sync::Mutex::new(0u64));
        bench!("waitgraph(off)", false, waitgraph::sync::Mutex::new(0u64));
        waitgraph::set_enabled(true);
        group.finish();
    }
}

/// 1,000 threads, 10 locks held each; half of them blocked on a lock another holds (in
/// chains, no cycle), the other half parked outside the probe.
fn scan(c: &mut Criterion) {
    use waitgraph::sync::Mutex;
    waitgraph::set_enabled(true);
    const THREADS: usize = 1000;
    let locks: Arc<Vec<Mutex<u64>>> = Arc::new((0..THREADS * 10).map(|_| Mutex::new(0)).collect());
    let ready = Arc::new(std::sync::Barrier::new(THREADS + 1));
    let release = Arc::new(std::sync::Barrier::new(THREADS + 1));
    let mut handles = Vec::new();
    for t in 0..THREADS {
        let (locks, ready, release) = (locks.clone(), ready.clone(), release.clone());
        let handle = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                let guards: Vec<_> = (0..10).map(|i| locks[t * 10 + i].lock()).collect();
                ready.wait();
                if t % 2 == 1 {
                    // Wait for a lock the previous (even) thread holds; it is released below.
                    let _blocked = locks[(t - 1) * 10].lock();
                }
                drop(guards);
                release.wait();
            });
        handles.push(handle.expect("spawn"));
    }
    ready.wait();
    std::thread::sleep(Duration::from_millis(200));
    let mut group = c.benchmark_group("scan");
    group.sample_size(30);
    group.bench_function("1000-threads-10000-locks", |b| {
        b.iter(|| black_box(waitgraph::__private::scan()))
    });
    group.finish();
    // Even threads are parked at `release`; once they pass it the odd ones get their lock.
    release.wait();
    for handle in handles {
        handle.join().unwrap();
    }
}

criterion_group!(benches, uncontended, nested, contended, scan);
criterion_main!(benches);

//! What a running `record::TraceFile` costs: 100 lock / unlock pairs on a waitgraph
//! mutex, with the probe on, without and with a recording to a file, in one run.
//!
//! ```sh
//! cargo bench -p waitgraph --bench record
//! ```

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use waitgraph::sync::Mutex;

const PAIRS: usize = 100;

fn pairs(lock: &Mutex<u64>) {
    for _ in 0..PAIRS {
        let mut value = lock.lock();
        *value = black_box(*value + 1);
    }
}

fn record(c: &mut Criterion) {
    let lock = Mutex::named("bench", 0u64);
    let mut group = c.benchmark_group("record");
    // Short: a recording in a tight loop writes about 300 MB a second.
    group
        .sample_size(10)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    group.bench_function("probe-on", |b| b.iter(|| pairs(&lock)));
    let path = std::env::temp_dir().join(format!("waitgraph-bench-{}.trace", std::process::id()));
    let trace = waitgraph::record::TraceFile::create(&path).expect("create the trace");
    group.bench_function("recording-to-file", |b| b.iter(|| pairs(&lock)));
    let written = trace.finish().expect("finish the trace");
    group.finish();
    println!(
        "trace: {} events written, {} dropped by the bounded queue ({} MiB)",
        written.events,
        written.dropped,
        std::fs::metadata(&path).map_or(0, |m| m.len() >> 20)
    );
    let _ = std::fs::remove_file(&path);
}

criterion_group!(benches, record);
criterion_main!(benches);

//! Prediction speed, on synthetic traces (`waitgraph_analyzer::synthetic`):
//!
//! 1. criterion: the analysis of 1 million decoded events (lock-heavy and wait-heavy),
//!    and reading + analysis end to end from JSON-lines and STD files of 1 million events;
//! 2. scaling: 1, 10 (and, with `WAITGRAPH_BENCH_FULL=1`, 100) million events generated
//!    on the fly, each size in a process of its own, with its time and its peak memory
//!    (`VmHWM`): time should grow with the events, memory should not.
//!
//! `cargo bench -p waitgraph-analyzer --bench predict`

use criterion::{BatchSize, Criterion, Throughput};
use std::io::Write;
use std::path::Path;
use std::time::Instant;
use waitgraph_analyzer::read;
use waitgraph_analyzer::synthetic::{Shape, Synthetic};
use waitgraph_core::model::{EventKind, TraceLine};
use waitgraph_core::predict::Predictor;

const MILLION: u64 = 1_000_000;

fn analyse(lines: impl IntoIterator<Item = TraceLine>) -> usize {
    let mut predictor = Predictor::default();
    for line in lines {
        predictor.feed(line);
    }
    predictor.finish().findings.len()
}

fn analysis(c: &mut Criterion) {
    let mut group = c.benchmark_group("analysis of decoded events");
    group.sample_size(10);
    for shape in [Shape::LockHeavy, Shape::WaitHeavy] {
        let lines: Vec<TraceLine> = Synthetic::new(shape, MILLION).collect();
        group.throughput(Throughput::Elements(MILLION));
        group.bench_function(format!("{shape:?}, 1M events"), |b| {
            b.iter_batched(|| lines.clone(), analyse, BatchSize::LargeInput)
        });
    }
    group.finish();
}

/// The trace as the recorder writes it (JSON lines).
fn write_jsonl(path: &Path, shape: Shape) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for line in Synthetic::new(shape, MILLION) {
        serde_json::to_writer(&mut out, &line).unwrap();
        out.write_all(b"\n").unwrap();
    }
}

/// The lock-heavy trace in RAPID's STD format.
fn write_std(path: &Path) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for line in Synthetic::new(Shape::LockHeavy, MILLION) {
        if let TraceLine::Event(event) = line {
            let (op, resource) = match event.kind {
                EventKind::LockAcquired { resource, .. } => ("acq", resource),
                EventKind::LockReleased { resource, .. } => ("rel", resource),
                _ => continue,
            };
            writeln!(
                out,
                "T{}|{op}(l{})|{}",
                event.thread.0,
                resource.0,
                event.seq % 512
            )
            .unwrap();
        }
    }
}

fn reading(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("waitgraph-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = [
        ("JSON lines, lock-heavy", dir.join("lock.jsonl")),
        ("JSON lines, wait-heavy", dir.join("wait.jsonl")),
        ("STD, lock-heavy", dir.join("lock.std")),
    ];
    write_jsonl(&files[0].1, Shape::LockHeavy);
    write_jsonl(&files[1].1, Shape::WaitHeavy);
    write_std(&files[2].1);
    let mut group = c.benchmark_group("read and analyse");
    group.sample_size(10);
    group.throughput(Throughput::Elements(MILLION));
    for (name, path) in &files {
        group.bench_function(format!("{name}, 1M events"), |b| {
            b.iter(|| {
                let reader = read::open(path).unwrap();
                analyse(reader.map(|line| line.unwrap()))
            })
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Peak resident memory of this process, KiB.
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// In a child: analyse `events` of `shape` generated on the fly; print seconds and peak.
fn scaling_child(shape: &str, events: u64) {
    let shape = if shape == "lock" {
        Shape::LockHeavy
    } else {
        Shape::WaitHeavy
    };
    let started = Instant::now();
    let findings = analyse(Synthetic::new(shape, events));
    println!(
        "{} {} {findings}",
        started.elapsed().as_secs_f64(),
        peak_kib()
    );
}

fn scaling() {
    let full = std::env::var_os("WAITGRAPH_BENCH_FULL").is_some();
    let mut sizes = vec![MILLION, 10 * MILLION];
    if full {
        sizes.push(100 * MILLION);
    }
    println!("\nscaling (events generated on the fly and analysed, one process per size; generation included)");
    println!(
        "{:<6} {:>12} {:>9} {:>11} {:>11} {:>16}",
        "shape", "events", "seconds", "M events/s", "peak KiB", "time vs 10x fewer"
    );
    for shape in ["lock", "wait"] {
        let mut previous: Option<f64> = None;
        for &events in &sizes {
            let output = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--scaling-child", shape, &events.to_string()])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&output.stdout);
            let fields: Vec<f64> = text
                .split_whitespace()
                .filter_map(|f| f.parse().ok())
                .collect();
            let (seconds, peak) = (fields[0], fields[1]);
            let ratio = previous.map_or("".to_string(), |p| format!("{:.2}x", seconds / p));
            println!(
                "{shape:<6} {events:>12} {seconds:>9.2} {:>11.2} {peak:>11} {ratio:>16}",
                events as f64 / seconds / 1e6
            );
            previous = Some(seconds);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--scaling-child") {
        scaling_child(&args[at + 1], args[at + 2].parse().unwrap());
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    analysis(&mut criterion);
    reading(&mut criterion);
    criterion.final_summary();
    if !args.iter().any(|a| a == "--test" || a == "--list") {
        scaling();
    }
}

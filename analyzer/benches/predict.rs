//! Prediction speed, on synthetic traces (`waitgraph_analyzer::synthetic`):
//!
//! 1. criterion: the analysis of 1 million decoded events (lock-heavy and wait-heavy),
//!    reading + analysis end to end from binary, JSON-lines and STD files of 1 million
//!    events, and reading alone (decoding, no analysis) of the binary and JSON-lines files,
//!    the binary ones also from memory and with the core's `Decoder` alone (the floor
//!    under the reader);
//! 2. size on disk: bytes per event of the same traces, binary and JSON lines;
//! 3. scaling: 1, 10 (and, with `WAITGRAPH_BENCH_FULL=1`, 100) million events generated
//!    on the fly, and the same read back from binary files, each size in a process of its
//!    own, with its time and its peak memory (`VmHWM`): time should grow with the events,
//!    memory should not.
//!
//! `cargo bench -p waitgraph-analyzer --bench predict` (`-- --quick` for a shorter run:
//! criterion's quick mode; the scaling runs are the same).

use criterion::{BatchSize, Criterion, Throughput};
use std::io::Write;
use std::path::Path;
use std::time::Instant;
use waitgraph_analyzer::read;
use waitgraph_analyzer::synthetic::{Shape, Synthetic};
use waitgraph_core::binary::{Decoded, Decoder, Encoder};
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

/// The trace as the recorder writes it in its binary format, `events` events.
fn write_binary(path: &Path, shape: Shape, events: u64) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut lines = Synthetic::new(shape, events);
    let Some(TraceLine::Trace(header)) = lines.next() else {
        unreachable!("a synthetic trace starts with its header")
    };
    let mut buffer = Vec::with_capacity(1 << 16);
    let mut encoder = Encoder::start(&header, &mut buffer);
    for line in lines {
        encoder.line(&line, &mut buffer);
        if buffer.len() >= 1 << 16 {
            out.write_all(&buffer).unwrap();
            buffer.clear();
        }
    }
    out.write_all(&buffer).unwrap();
    out.flush().unwrap();
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
        ("binary, lock-heavy", dir.join("lock.wgtrace")),
        ("binary, wait-heavy", dir.join("wait.wgtrace")),
        ("JSON lines, lock-heavy", dir.join("lock.jsonl")),
        ("JSON lines, wait-heavy", dir.join("wait.jsonl")),
        ("STD, lock-heavy", dir.join("lock.std")),
    ];
    write_binary(&files[0].1, Shape::LockHeavy, MILLION);
    write_binary(&files[1].1, Shape::WaitHeavy, MILLION);
    write_jsonl(&files[2].1, Shape::LockHeavy);
    write_jsonl(&files[3].1, Shape::WaitHeavy);
    write_std(&files[4].1);
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
    // Where the time goes: reading alone, from the file and from memory.
    let mut group = c.benchmark_group("read alone");
    group.sample_size(10);
    group.throughput(Throughput::Elements(MILLION));
    for (name, path) in &files[..4] {
        group.bench_function(format!("{name}, 1M events"), |b| {
            b.iter(|| {
                read::open(path)
                    .unwrap()
                    .filter(|line| line.is_ok())
                    .count()
            })
        });
    }
    for (name, path) in &files[..2] {
        let bytes = std::fs::read(path).unwrap();
        // The core's decoder with nothing around it: the floor under the reader.
        group.bench_function(format!("{name}, 1M events, core Decoder alone"), |b| {
            b.iter(|| {
                let mut decoder = Decoder::default();
                let (mut at, mut lines) = (0, 0);
                while let Some((decoded, used)) = decoder.decode(&bytes[at..]).unwrap() {
                    at += used;
                    lines += usize::from(matches!(decoded, Decoded::Line(_)));
                }
                lines
            })
        });
        group.bench_function(format!("{name}, 1M events, from memory"), |b| {
            b.iter(|| {
                read::from_reader(path, &bytes[..])
                    .unwrap()
                    .filter(|line| line.is_ok())
                    .count()
            })
        });
    }
    group.finish();
    println!("\nsize on disk (the same synthetic traces)");
    println!("{:<24} {:>12} {:>14}", "trace", "bytes", "bytes / event");
    for (name, path) in &files {
        let bytes = std::fs::metadata(path).unwrap().len();
        let events = read::open(path)
            .unwrap()
            .filter(|line| matches!(line, Ok(TraceLine::Event(_))))
            .count();
        println!(
            "{name:<24} {bytes:>12} {:>14.2}",
            bytes as f64 / events as f64
        );
    }
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

/// In a child: analyse `events` of `shape`, generated on the fly or (with `file`) read
/// from that binary file; print seconds and peak.
fn scaling_child(shape: &str, events: u64, file: Option<&str>) {
    let shape = if shape == "lock" {
        Shape::LockHeavy
    } else {
        Shape::WaitHeavy
    };
    let started = Instant::now();
    let findings = match file {
        None => analyse(Synthetic::new(shape, events)),
        Some(path) => analyse(
            read::open(Path::new(path))
                .unwrap()
                .map(|line| line.unwrap()),
        ),
    };
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
    let dir = std::env::temp_dir().join(format!("waitgraph-scaling-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    println!("\nscaling (one process per size: events generated on the fly and analysed, generation included; or read from a binary file and analysed)");
    println!(
        "{:<10} {:<6} {:>12} {:>9} {:>11} {:>11} {:>16}",
        "from", "shape", "events", "seconds", "M events/s", "peak KiB", "time vs 10x fewer"
    );
    for source in ["generated", "binary"] {
        for shape in ["lock", "wait"] {
            let mut previous: Option<f64> = None;
            for &events in &sizes {
                let mut command = std::process::Command::new(std::env::current_exe().unwrap());
                command.args(["--scaling-child", shape, &events.to_string()]);
                let file = dir.join(format!("{shape}-{events}.wgtrace"));
                if source == "binary" {
                    let kind = if shape == "lock" {
                        Shape::LockHeavy
                    } else {
                        Shape::WaitHeavy
                    };
                    write_binary(&file, kind, events);
                    command.arg(&file);
                }
                let output = command.output().unwrap();
                let _ = std::fs::remove_file(&file);
                let text = String::from_utf8_lossy(&output.stdout);
                let fields: Vec<f64> = text
                    .split_whitespace()
                    .filter_map(|f| f.parse().ok())
                    .collect();
                let (seconds, peak) = (fields[0], fields[1]);
                let ratio = previous.map_or("".to_string(), |p| format!("{:.2}x", seconds / p));
                println!(
                    "{source:<10} {shape:<6} {events:>12} {seconds:>9.2} {:>11.2} {peak:>11} {ratio:>16}",
                    events as f64 / seconds / 1e6
                );
                previous = Some(seconds);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--scaling-child") {
        scaling_child(
            &args[at + 1],
            args[at + 2].parse().unwrap(),
            args.get(at + 3).map(String::as_str),
        );
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

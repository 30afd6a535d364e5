//! `waitgraph check` speed on real crates from the local cargo registry: `syn` 2 (a large
//! crate: parsing, indexing, walking every body, the call graph, the rules), and the same
//! source twice (two copies as two crates): the time per line should not grow with size.
//! Throughput is in source lines (criterion's elements) on one core.
//!
//! `cargo bench -p waitgraph-analyzer --bench check` (`-- --quick` for a short run).
//! `WAITGRAPH_BENCH_CRATE=path` measures another crate instead of `syn`.

use criterion::{Criterion, Throughput};
use std::path::{Path, PathBuf};
use waitgraph_analyzer::check::check;

/// The newest `syn-2.*` in the registry's source cache.
fn syn_source() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("WAITGRAPH_BENCH_CRATE") {
        return Some(PathBuf::from(path));
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let mut found: Vec<PathBuf> = std::fs::read_dir(home.join("registry/src"))
        .ok()?
        .flat_map(|index| std::fs::read_dir(index.ok()?.path()).ok())
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("syn-2."))
        })
        .collect();
    found.sort();
    found.pop()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn main() {
    let Some(source) = syn_source() else {
        eprintln!("no syn-2.* in the cargo registry: set WAITGRAPH_BENCH_CRATE");
        return;
    };
    let copy = std::env::temp_dir().join(format!("waitgraph-bench-check-{}", std::process::id()));
    copy_tree(&source, &copy);
    let once = vec![source.clone()];
    let twice = vec![source.clone(), copy.clone()];
    let lines_once = check(&once).unwrap().lines as u64;
    let lines_twice = check(&twice).unwrap().lines as u64;
    let mut criterion = Criterion::default().configure_from_args().sample_size(10);
    let mut group = criterion.benchmark_group("check");
    group.throughput(Throughput::Elements(lines_once));
    group.bench_function(
        format!(
            "{} ({lines_once} lines)",
            source.file_name().unwrap().to_string_lossy()
        ),
        |b| b.iter(|| check(&once).unwrap()),
    );
    group.throughput(Throughput::Elements(lines_twice));
    group.bench_function(format!("twice ({lines_twice} lines)"), |b| {
        b.iter(|| check(&twice).unwrap())
    });
    group.finish();
    criterion.final_summary();
    let _ = std::fs::remove_dir_all(copy);
}

//! The attribute's cost: a function doing 10 lock / unlock pairs on std mutexes, with and
//! without `#[waitgraph::instrument]`, in one run.
//!
//! ```sh
//! cargo bench -p waitgraph --bench attribute                                      # probe on, and switched off
//! cargo bench -p waitgraph --bench attribute --no-default-features --features sync  # compiled out
//! ```
//!
//! | id | what |
//! |---|---|
//! | `attribute/plain` | the function without the attribute |
//! | `attribute/instrumented` | with the attribute, the probe recording |
//! | `attribute/switched-off` | with the attribute, `WAITGRAPH=off` (`set_enabled(false)`) |
//! | `attribute/compiled-out` | with the attribute, built without the `probe` feature |

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::sync::Mutex;

const LOCKS: usize = 10;

#[inline(never)]
fn plain(locks: &[Mutex<u64>; LOCKS]) -> u64 {
    let mut sum = 0;
    for lock in locks {
        let mut value = lock.lock().unwrap();
        *value = black_box(*value + 1);
        sum += *value;
    }
    sum
}

#[inline(never)]
#[waitgraph::instrument]
fn instrumented(locks: &[Mutex<u64>; LOCKS]) -> u64 {
    let mut sum = 0;
    for lock in locks {
        let mut value = lock.lock().unwrap();
        *value = black_box(*value + 1);
        sum += *value;
    }
    sum
}

fn attribute(c: &mut Criterion) {
    let locks: [Mutex<u64>; LOCKS] = std::array::from_fn(|_| Mutex::new(0));
    let mut group = c.benchmark_group("attribute");
    group.bench_function("plain", |b| b.iter(|| plain(black_box(&locks))));
    if cfg!(feature = "probe") {
        #[cfg(feature = "probe")]
        {
            waitgraph::set_enabled(true);
            group.bench_function("instrumented", |b| {
                b.iter(|| instrumented(black_box(&locks)))
            });
            waitgraph::set_enabled(false);
            group.bench_function("switched-off", |b| {
                b.iter(|| instrumented(black_box(&locks)))
            });
            waitgraph::set_enabled(true);
        }
    } else {
        group.bench_function("compiled-out", |b| {
            b.iter(|| instrumented(black_box(&locks)))
        });
    }
    group.finish();
}

criterion_group!(benches, attribute);
criterion_main!(benches);

//! A soak: the demo's two shards under load for 60 s (30 s before the command, 30 s
//! after), the probe's registry and the process's resident memory sampled every 0.5 s;
//! both must stay flat (the demo fails the run if they grow). Long, so ignored by
//! default:
//!
//! ```sh
//! cargo test --release -p waitgraph-e2e --test soak -- --ignored --nocapture
//! ```

use std::time::Duration;
use waitgraph_e2e::run_demo;

#[test]
#[ignore = "a 60 s soak: cargo test --release -p waitgraph-e2e --test soak -- --ignored"]
fn under_load_for_a_minute_the_registry_and_the_memory_stay_flat() {
    let run = run_demo(
        &[
            "run",
            "--variant",
            "async-shrink",
            "--shards",
            "2",
            "--shrink-to",
            "4",
            "--load-for",
            "30000",
            "--watch-memory",
        ],
        false,
        Duration::from_secs(180),
    );
    println!("{}", run.stdout());
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert!(run.stdout().contains("footprint over"), "{}", run.output);
    assert!(!run.stdout().contains("it grows"), "{}", run.output);
}

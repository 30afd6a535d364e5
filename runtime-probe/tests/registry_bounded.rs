//! The registry holds what is alive and nothing else: every kind of resource leaves it
//! when the program drops it. (Before, barriers, channels, jobs, executors, events and
//! joined threads stayed for ever: each entry kept its own primitive's state alive.)
//!
//! One test per binary, so no other test's resources move the count.

use waitgraph::sync::{channel, Barrier, Event, Executor, Job};

fn registered() -> usize {
    waitgraph::dump().resources
}

/// Creates and drops `count` resources with `make_one` (each one used, so registered),
/// and asserts the registry is back to its size before.
fn leaves_no_entry(kind: &str, count: usize, mut make_one: impl FnMut(usize)) {
    let before = registered();
    for n in 0..count {
        make_one(n);
    }
    let after = registered();
    assert_eq!(
        after, before,
        "{count} {kind} created and dropped: the registry went from {before} to {after} entries"
    );
}

const MILLION: usize = 1_000_000;

#[test]
fn every_kind_of_resource_leaves_the_registry_when_dropped() {
    leaves_no_entry("barriers", MILLION, |_| {
        let barrier = Barrier::new(1);
        assert!(barrier.wait().is_leader());
    });
    leaves_no_entry("channels", MILLION, |n| {
        let (tx, rx) = channel::bounded(1);
        tx.send(n).unwrap();
        assert_eq!(rx.recv().unwrap(), n);
    });
    leaves_no_entry("events", MILLION, |_| {
        let event = Event::new("ready");
        let _producer = event.declare_producer();
        event.waiting(|| ());
    });
    leaves_no_entry("executors, each with a job", MILLION, |_| {
        let executor = Executor::new("per-request");
        let _serving = executor.enroll();
        let job = executor.queue();
        job.run(|| ());
        job.wait();
    });
    let executor = Executor::new("workers");
    let _serving = executor.enroll();
    leaves_no_entry("jobs through one executor", MILLION, |n| {
        let job: Job = executor.queue();
        assert_eq!(job.run(|| n), Some(n));
        job.wait();
    });
    // A thread costs its stack and a clone() of the OS: fewer of them, the same rule.
    leaves_no_entry("joined threads", 20_000, |n| {
        let handle = waitgraph::thread::spawn(move || n);
        assert_eq!(handle.join().unwrap(), n);
    });
}

/// The million for threads too (each costs an OS thread: a minute or so, so ignored by
/// default): `cargo test --release -p waitgraph --test registry_bounded -- --ignored`.
#[test]
#[ignore = "a million OS threads: cargo test --release -p waitgraph --test registry_bounded -- --ignored"]
fn a_million_joined_threads_leave_no_entry() {
    leaves_no_entry("joined threads", MILLION, |n| {
        let handle = waitgraph::thread::spawn(move || n);
        assert_eq!(handle.join().unwrap(), n);
    });
}

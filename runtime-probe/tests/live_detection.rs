//! The watchdog against real threads: each scenario runs in a child process with a
//! deadline. Deadlocks must be reported (exit 3, with the right cycle); correct programs
//! must complete with no finding at all.

mod support;

use std::sync::Arc;
use std::sync::Barrier as StdBarrier;
use std::time::Duration;
use support::*;
use waitgraph::report::Finding;
use waitgraph::sync::{channel, Barrier, Condvar, Executor, Job, Mutex, RwLock, SpinWait};

const DEADLINE: Duration = Duration::from_secs(20);

/// Entry point of every child process.
#[test]
#[ignore = "entry point of the child processes the other tests start"]
fn child() {
    serve_child(|scenario| match scenario {
        "ab_ba" => ab_ba(false),
        "ab_ba_with_bystander" => ab_ba(true),
        "three_thread_cycle" => three_thread_cycle(),
        "double_lock" => double_lock(),
        "writer_and_reader" => writer_and_reader(),
        "condvar_notifier_blocked" => condvar_notifier_blocked(),
        "barrier_party_blocked" => barrier_party_blocked(),
        "channel_senders_blocked" => channel_senders_blocked(),
        "join_blocked" => join_blocked(),
        "job_on_own_event_loop" => job_on_own_event_loop(),
        "pool_blocked_on_waiters_lock" => pool_blocked_on_waiters_lock(),
        "fair_read_reentry" => fair_read_reentry(),
        "pool_barrier_k_of_n" => pool_barrier_k_of_n(),
        "scoped_ab_ba" => scoped_ab_ba(),
        "producer_consumer" => producer_consumer(),
        "busy_pool" => busy_pool(),
        "timed_waits" => timed_waits(),
        "barrier_completes" => barrier_completes(),
        "job_with_a_free_worker" => job_with_a_free_worker(),
        "one_sender_alive" => one_sender_alive(),
        "hammer" => hammer(),
        other => panic!("unknown scenario {other}"),
    });
}

fn sorted(mut names: Vec<&str>) -> Vec<&str> {
    names.sort_unstable();
    names
}

/// Every step waits for something the next step can provide.
fn assert_well_formed(finding: &Finding) {
    assert!(finding.confirmed);
    let n = finding.cycle.len();
    for (i, step) in finding.cycle.iter().enumerate() {
        let next = &finding.cycle[(i + 1) % n].thread;
        assert!(
            step.blocked_by.contains(next),
            "step {i} ({}) is not blocked by {next}: {finding:#?}",
            step.thread
        );
        assert!(step.site.is_some(), "step {i} has a site");
    }
}

fn detected(scenario: &str) -> Finding {
    let outcome = run_child("child", scenario, DEADLINE);
    let finding = outcome.deadlock().clone();
    assert_well_formed(&finding);
    finding
}

fn clean(scenario: &str) {
    run_child("child", scenario, Duration::from_secs(60)).assert_clean();
}

// ---- deadlocks ----------------------------------------------------------------------

fn ab_ba(with_bystander: bool) -> bool {
    let a = Arc::new(Mutex::named("a", ()));
    let b = Arc::new(Mutex::named("b", ()));
    let both = Arc::new(StdBarrier::new(2));
    let (a1, b1, both1, a3) = (a.clone(), b.clone(), both.clone(), a.clone());
    spawn("first", move || {
        let _a = a1.lock();
        if with_bystander {
            // The bystander queues for `a` before the cycle forms.
            spawn("bystander", move || drop(a3.lock()));
            std::thread::sleep(Duration::from_millis(50));
        }
        both1.wait();
        let _b = b1.lock(); // waitgraph: allow(lock-order-inversion) the hang under test
    });
    spawn("second", move || {
        let _b = b.lock();
        both.wait();
        let _a = a.lock();
    });
    false
}

#[test]
fn ab_ba_is_reported_with_both_threads_and_both_locks() {
    let finding = detected("ab_ba");
    assert_eq!(sorted(cycle_threads(&finding)), vec!["first", "second"]);
    assert_eq!(sorted(cycle_resources(&finding)), vec!["a", "b"]);
    let first = step(&finding, "first");
    assert_eq!(first.holds.len(), 1);
    assert_eq!(first.holds[0].resource, "a");
    assert_eq!(first.waits_for.resource, "b");
    assert!(first
        .site
        .as_ref()
        .unwrap()
        .file
        .ends_with("live_detection.rs"));
    assert!(finding.victims.is_empty());
}

#[test]
fn victims_are_reported_apart_from_the_cycle() {
    let finding = detected("ab_ba_with_bystander");
    assert_eq!(sorted(cycle_threads(&finding)), vec!["first", "second"]);
    let victims: Vec<&str> = finding.victims.iter().map(|v| v.thread.as_str()).collect();
    assert_eq!(victims, vec!["bystander"]);
    assert_eq!(finding.victims[0].waits_for.resource, "a");
}

fn three_thread_cycle() -> bool {
    let locks: Vec<Arc<Mutex<()>>> = (0..3)
        .map(|i| Arc::new(Mutex::with_name(format!("lock-{i}"), ())))
        .collect();
    let all = Arc::new(StdBarrier::new(3));
    for i in 0..3 {
        let (first, second, all) = (locks[i].clone(), locks[(i + 1) % 3].clone(), all.clone());
        spawn(&format!("t{i}"), move || {
            let _first = first.lock();
            all.wait();
            let _second = second.lock();
        });
    }
    false
}

#[test]
fn a_three_thread_lock_cycle_is_reported_whole() {
    let finding = detected("three_thread_cycle");
    assert_eq!(sorted(cycle_threads(&finding)), vec!["t0", "t1", "t2"]);
    assert_eq!(
        sorted(cycle_resources(&finding)),
        vec!["lock-0", "lock-1", "lock-2"]
    );
}

fn double_lock() -> bool {
    spawn("relocker", || {
        let m = Mutex::named("config", 0);
        let _first = m.lock();
        let _second = m.lock(); // waitgraph: allow(double-lock) the hang under test
    });
    false
}

#[test]
fn locking_a_held_mutex_again_is_a_cycle_of_one() {
    let finding = detected("double_lock");
    assert_eq!(cycle_threads(&finding), vec!["relocker"]);
    assert_eq!(finding.cycle[0].holds[0].resource, "config");
    assert!(finding.summary.contains("only it"), "{}", finding.summary);
}

fn writer_and_reader() -> bool {
    let index = Arc::new(RwLock::named("index", 0));
    let journal = Arc::new(Mutex::named("journal", ()));
    let both = Arc::new(StdBarrier::new(2));
    let (index1, journal1, both1) = (index.clone(), journal.clone(), both.clone());
    spawn("writer", move || {
        let _journal = journal1.lock();
        both1.wait();
        *index1.write() += 1;
    });
    spawn("reader", move || {
        let _index = index.read();
        both.wait();
        let _journal = journal.lock(); // waitgraph: allow(lock-order-inversion) the hang under test
    });
    false
}

#[test]
fn a_writer_waiting_on_a_reader_that_waits_on_the_writer_is_reported() {
    let finding = detected("writer_and_reader");
    assert_eq!(sorted(cycle_threads(&finding)), vec!["reader", "writer"]);
    let writer = step(&finding, "writer");
    assert_eq!(writer.waits_for.wait, "lock");
    assert_eq!(writer.waits_for.kind, "rwlock");
    let reader = step(&finding, "reader");
    assert_eq!(reader.holds[0].mode, "shared");
}

fn condvar_notifier_blocked() -> bool {
    let ledger = Arc::new(Mutex::named("ledger", ()));
    let ready = Arc::new((Mutex::named("ready-flag", false), Condvar::named("ready")));
    let notified_once = Arc::new(StdBarrier::new(2));
    let (ledger1, ready1, notified1) = (ledger.clone(), ready.clone(), notified_once.clone());
    spawn("notifier", move || {
        ready1.1.notify_one(); // learned as a notifier
        notified1.wait();
        std::thread::sleep(Duration::from_millis(50));
        let _ledger = ledger1.lock();
        *ready1.0.lock() = true;
        ready1.1.notify_one();
    });
    spawn("waiter", move || {
        notified_once.wait();
        let _ledger = ledger.lock();
        let mut flag = ready.0.lock();
        while !*flag {
            ready.1.wait(&mut flag);
        }
    });
    false
}

#[test]
fn a_condvar_waiter_whose_only_notifier_is_blocked_on_it_is_reported() {
    let finding = detected("condvar_notifier_blocked");
    assert_eq!(sorted(cycle_threads(&finding)), vec!["notifier", "waiter"]);
    let waiter = step(&finding, "waiter");
    assert_eq!(waiter.waits_for.resource, "ready");
    assert_eq!(waiter.waits_for.wait, "condvar-wait");
    // The condvar's mutex is given back during the wait; only the ledger is held.
    let held: Vec<&str> = waiter.holds.iter().map(|h| h.resource.as_str()).collect();
    assert_eq!(held, vec!["ledger"]);
}

fn barrier_party_blocked() -> bool {
    let gate = Arc::new(Barrier::named("phase", 2));
    let state = Arc::new(Mutex::named("state", ()));
    let enrolled = Arc::new(StdBarrier::new(2));
    let (gate1, state1, enrolled1) = (gate.clone(), state.clone(), enrolled.clone());
    spawn("party-a", move || {
        gate1.enroll();
        let _state = state1.lock();
        enrolled1.wait();
        gate1.wait();
    });
    spawn("party-b", move || {
        gate.enroll();
        enrolled.wait();
        std::thread::sleep(Duration::from_millis(30));
        let _state = state.lock();
        gate.wait();
    });
    false
}

#[test]
fn a_barrier_whose_missing_party_is_blocked_by_a_waiting_party_is_reported() {
    let finding = detected("barrier_party_blocked");
    assert_eq!(sorted(cycle_threads(&finding)), vec!["party-a", "party-b"]);
    let a = finding
        .cycle
        .iter()
        .find(|s| s.thread == "party-a")
        .unwrap();
    assert_eq!(a.waits_for.resource, "phase");
    assert_eq!(a.waits_for.wait, "barrier-wait");
}

fn channel_senders_blocked() -> bool {
    let (tx, rx) = channel::named::<u32>("results", None);
    let table = Arc::new(Mutex::named("table", ()));
    let table_held = Arc::new(StdBarrier::new(3));
    for i in 0..2 {
        let (tx, table, table_held) = (tx.clone(), table.clone(), table_held.clone());
        spawn(&format!("sender-{i}"), move || {
            tx.send(i).unwrap();
            table_held.wait();
            let _table = table.lock();
            tx.send(i).unwrap();
        });
    }
    drop(tx);
    spawn("receiver", move || {
        rx.recv().unwrap();
        rx.recv().unwrap();
        let _table = table.lock();
        table_held.wait();
        rx.recv().unwrap();
    });
    false
}

#[test]
fn a_receiver_whose_every_sender_is_blocked_on_it_is_reported() {
    let finding = detected("channel_senders_blocked");
    let threads = cycle_threads(&finding);
    assert!(threads.contains(&"receiver"), "{threads:?}");
    assert_eq!(threads.len(), 2);
    let receiver = finding
        .cycle
        .iter()
        .find(|s| s.thread == "receiver")
        .unwrap();
    assert_eq!(receiver.waits_for.wait, "recv");
    assert_eq!(
        receiver.blocked_by.len(),
        2,
        "both senders could end the wait"
    );
    // The other sender is deadlocked as well, off the reported cycle.
    let all: Vec<&str> = threads
        .iter()
        .copied()
        .chain(finding.also_deadlocked.iter().map(|v| v.thread.as_str()))
        .collect();
    assert_eq!(sorted(all), vec!["receiver", "sender-0", "sender-1"]);
}

fn join_blocked() -> bool {
    spawn("joiner", || {
        let cache = Arc::new(Mutex::named("cache", ()));
        let _cache = cache.lock();
        let for_child = cache.clone();
        let child = waitgraph::thread::Builder::new()
            .name("joined".into())
            .spawn(move || drop(for_child.lock()))
            .unwrap();
        let _ = child.join();
    });
    false
}

#[test]
fn joining_a_thread_blocked_on_the_joiners_lock_is_reported() {
    let finding = detected("join_blocked");
    assert_eq!(sorted(cycle_threads(&finding)), vec!["joined", "joiner"]);
    let joiner = step(&finding, "joiner");
    assert_eq!(joiner.waits_for.wait, "join");
    assert_eq!(joiner.waits_for.resource, "joined");
}

fn job_on_own_event_loop() -> bool {
    spawn("event-loop", || {
        let event_loop = Executor::new("event-loop");
        let _serving = event_loop.enroll();
        let job = event_loop.queue();
        // The job would run on this very thread, after the current command.
        job.wait();
    });
    false
}

#[test]
fn waiting_for_a_job_queued_to_ones_own_event_loop_is_reported() {
    let finding = detected("job_on_own_event_loop");
    assert_eq!(cycle_threads(&finding), vec!["event-loop"]);
    assert_eq!(finding.cycle[0].waits_for.wait, "job-wait");
    assert_eq!(finding.cycle[0].waits_for.resource, "job on event-loop");
}

/// A pool whose workers take jobs from a std channel (the pool's queue is the program's
/// own); jobs are closures.
type Work = Box<dyn FnOnce() + Send>;

fn start_pool(
    name: &'static str,
    workers: usize,
) -> (Executor, std::sync::mpsc::Sender<(Job, Work)>) {
    let pool = Executor::new(name);
    let (tx, rx) = std::sync::mpsc::channel::<(Job, Work)>();
    let rx = Arc::new(std::sync::Mutex::new(rx));
    for i in 0..workers {
        let (pool, rx) = (pool.clone(), rx.clone());
        spawn(&format!("{name}-{i}"), move || {
            let _serving = pool.enroll();
            loop {
                let next = pool.idle(|| rx.lock().unwrap().recv());
                let Ok((job, work)) = next else { return };
                job.run(work);
            }
        });
    }
    (pool, tx)
}

fn pool_blocked_on_waiters_lock() -> bool {
    spawn("submitter", || {
        let (pool, queue) = start_pool("pool", 2);
        std::thread::sleep(Duration::from_millis(50)); // workers enrolled
        let gil = Arc::new(Mutex::named("gil", ()));
        let _gil = gil.lock();
        for _ in 0..2 {
            let gil = gil.clone();
            queue
                .send((pool.queue(), Box::new(move || drop(gil.lock()))))
                .unwrap();
        }
        std::thread::sleep(Duration::from_millis(50)); // both workers blocked on the gil
        let job = pool.queue();
        queue.send((job.clone(), Box::new(|| ()))).unwrap();
        job.wait();
    });
    false
}

#[test]
fn a_job_queued_to_a_pool_whose_workers_wait_for_the_waiter_is_reported() {
    let finding = detected("pool_blocked_on_waiters_lock");
    let threads = cycle_threads(&finding);
    assert!(threads.contains(&"submitter"));
    let submitter = finding
        .cycle
        .iter()
        .find(|s| s.thread == "submitter")
        .unwrap();
    assert_eq!(submitter.waits_for.wait, "job-wait");
    assert_eq!(
        sorted(submitter.blocked_by.iter().map(String::as_str).collect()),
        vec!["pool-0", "pool-1"]
    );
    let all: Vec<&str> = threads
        .iter()
        .copied()
        .chain(finding.also_deadlocked.iter().map(|v| v.thread.as_str()))
        .collect();
    assert_eq!(sorted(all), vec!["pool-0", "pool-1", "submitter"]);
}

fn fair_read_reentry() -> bool {
    let table = Arc::new(RwLock::named("table", 0));
    let reading = Arc::new(StdBarrier::new(2));
    let (table1, reading1) = (table.clone(), reading.clone());
    spawn("reader", move || {
        let _first = table1.read();
        reading1.wait();
        std::thread::sleep(Duration::from_millis(50)); // the writer is queued by now
        let _second = table1.read();
    });
    spawn("writer", move || {
        reading.wait();
        *table.write() += 1;
    });
    false
}

#[test]
fn a_second_fair_read_while_a_writer_waits_is_reported() {
    let finding = detected("fair_read_reentry");
    assert_eq!(sorted(cycle_threads(&finding)), vec!["reader", "writer"]);
    let reader = step(&finding, "reader");
    assert_eq!(reader.waits_for.wait, "read");
    assert_eq!(reader.holds[0].mode, "shared");
}

fn pool_barrier_k_of_n() -> bool {
    spawn("main", || {
        let (pool, queue) = start_pool("workers", 4);
        std::thread::sleep(Duration::from_millis(50));
        let gil = Arc::new(Mutex::named("gil", ()));
        let _gil = gil.lock();
        // Two queries are blocked on the gil this thread holds.
        for _ in 0..2 {
            let gil = gil.clone();
            queue
                .send((pool.queue(), Box::new(move || drop(gil.lock()))))
                .unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
        // Shrink: one admin job per worker, each waits at a barrier counting all four.
        let exit = Arc::new(Barrier::for_executor("workers-exit", 4, &pool));
        for _ in 0..4 {
            let exit = exit.clone();
            queue
                .send((
                    pool.queue(),
                    Box::new(move || {
                        exit.wait();
                    }),
                ))
                .unwrap();
        }
        let spin = SpinWait::on(&*exit);
        while exit.generation() == 0 {
            spin.pause(Duration::from_micros(1));
        }
    });
    false
}

#[test]
fn a_barrier_fed_by_a_pool_with_too_few_free_workers_is_reported() {
    let finding = detected("pool_barrier_k_of_n");
    let main = step(&finding, "main");
    assert_eq!(main.waits_for.wait, "spin-wait");
    assert_eq!(main.waits_for.resource, "workers-exit");
    assert_eq!(main.holds[0].resource, "gil");
    let worker = step(&finding, "workers-");
    assert_eq!(worker.waits_for.resource, "gil");
    // The two workers parked at the barrier are victims.
    let parked = finding
        .victims
        .iter()
        .filter(|v| v.waits_for.wait == "barrier-wait")
        .count();
    assert_eq!(parked, 2, "{finding:#?}");
}

fn scoped_ab_ba() -> bool {
    spawn("scope-owner", || {
        let a = Mutex::named("a", ());
        let b = Mutex::named("b", ());
        let both = StdBarrier::new(2);
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("scoped-1".into())
                .spawn_scoped(s, || {
                    let _a = a.lock();
                    both.wait();
                    let _b = b.lock(); // waitgraph: allow(lock-order-inversion) the hang under test
                })
                .unwrap();
            std::thread::Builder::new()
                .name("scoped-2".into())
                .spawn_scoped(s, || {
                    let _b = b.lock();
                    both.wait();
                    let _a = a.lock();
                })
                .unwrap();
        });
    });
    false
}

#[test]
fn scoped_threads_are_seen_like_any_other() {
    let finding = detected("scoped_ab_ba");
    assert_eq!(
        sorted(cycle_threads(&finding)),
        vec!["scoped-1", "scoped-2"]
    );
}

// ---- correct programs: no finding -----------------------------------------------------

fn producer_consumer() -> bool {
    let (tx, rx) = channel::bounded::<u64>(16);
    let total = Arc::new(Mutex::named("total", 0u64));
    let mut threads = Vec::new();
    for p in 0..2 {
        let tx = tx.clone();
        threads.push(spawn(&format!("producer-{p}"), move || {
            for i in 0..20_000 {
                tx.send(i).unwrap();
            }
        }));
    }
    drop(tx);
    for c in 0..2 {
        let (rx, total) = (rx.clone(), total.clone());
        threads.push(spawn(&format!("consumer-{c}"), move || {
            for value in rx.iter() {
                *total.lock() += value;
            }
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*total.lock(), 2 * (0..20_000u64).sum::<u64>());
    true
}

#[test]
fn producers_and_consumers_under_load_are_not_reported() {
    clean("producer_consumer");
}

fn busy_pool() -> bool {
    let (pool, queue) = start_pool("busy", 4);
    let counter = Arc::new(Mutex::named("counter", 0u32));
    for _ in 0..20 {
        let jobs: Vec<Job> = (0..100)
            .map(|_| {
                let job = pool.queue();
                let counter = counter.clone();
                queue
                    .send((job.clone(), Box::new(move || *counter.lock() += 1)))
                    .unwrap();
                job
            })
            .collect();
        for job in jobs {
            job.wait();
        }
    }
    assert_eq!(*counter.lock(), 2000);
    true
}

#[test]
fn a_busy_pool_is_not_reported() {
    clean("busy_pool");
}

fn timed_waits() -> bool {
    let lock = Arc::new(Mutex::named("held-a-while", ()));
    let held = Arc::new(StdBarrier::new(2));
    let (lock1, held1) = (lock.clone(), held.clone());
    let holder = spawn("holder", move || {
        let _guard = lock1.lock();
        held1.wait();
        std::thread::sleep(Duration::from_millis(600));
    });
    held.wait();
    assert!(lock.try_lock_for(Duration::from_millis(150)).is_none());
    let flag = Mutex::new(false);
    let cv = Condvar::new();
    assert!(cv
        .wait_for(&mut flag.lock(), Duration::from_millis(150))
        .timed_out());
    let barrier = Barrier::new(2);
    assert!(barrier.wait_timeout(Duration::from_millis(150)).is_none());
    let (_tx, rx) = channel::unbounded::<()>();
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(150)),
        Err(channel::TryRecvError::Empty)
    );
    let pool = Executor::new("nobody");
    assert!(!pool.queue().wait_timeout(Duration::from_millis(150)));
    holder.join().unwrap();
    true
}

#[test]
fn timed_waits_that_time_out_are_not_reported() {
    clean("timed_waits");
}

fn barrier_completes() -> bool {
    let barrier = Arc::new(Barrier::named("round", 4));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let barrier = barrier.clone();
            spawn(&format!("party-{i}"), move || {
                for _ in 0..200 {
                    barrier.wait();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(barrier.generation(), 200);
    true
}

#[test]
fn a_barrier_that_completes_is_not_reported() {
    clean("barrier_completes");
}

fn job_with_a_free_worker() -> bool {
    let (pool, queue) = start_pool("mostly-busy", 4);
    std::thread::sleep(Duration::from_millis(50));
    let gil = Arc::new(Mutex::named("gil", ()));
    let guard = gil.lock();
    for _ in 0..3 {
        let gil = gil.clone();
        queue
            .send((pool.queue(), Box::new(move || drop(gil.lock()))))
            .unwrap();
    }
    std::thread::sleep(Duration::from_millis(100));
    let job = pool.queue();
    queue
        .send((
            job.clone(),
            Box::new(|| std::thread::sleep(Duration::from_millis(200))),
        ))
        .unwrap();
    job.wait();
    drop(guard);
    true
}

#[test]
fn a_job_waited_on_while_one_worker_is_free_is_not_reported() {
    clean("job_with_a_free_worker");
}

fn one_sender_alive() -> bool {
    let (tx, rx) = channel::named::<u32>("updates", None);
    let table = Arc::new(Mutex::named("table", ()));
    let started = Arc::new(StdBarrier::new(3));
    let (tx1, table1, started1) = (tx.clone(), table.clone(), started.clone());
    let blocked = spawn("blocked-sender", move || {
        tx1.send(1).unwrap();
        started1.wait();
        let _table = table1.lock();
    });
    let started2 = started.clone();
    let slow = spawn("slow-sender", move || {
        tx.send(2).unwrap();
        started2.wait();
        std::thread::sleep(Duration::from_millis(300));
        tx.send(3).unwrap();
    });
    rx.recv().unwrap();
    rx.recv().unwrap();
    let guard = table.lock();
    started.wait();
    assert_eq!(rx.recv(), Ok(3));
    drop(guard);
    blocked.join().unwrap();
    slow.join().unwrap();
    true
}

#[test]
fn a_receiver_with_one_live_sender_is_not_reported() {
    clean("one_sender_alive");
}

fn hammer() -> bool {
    let locks: Arc<Vec<Mutex<u64>>> = Arc::new(
        (0..3)
            .map(|i| Mutex::with_name(format!("shared-{i}"), 0))
            .collect(),
    );
    let table = Arc::new(RwLock::named("table", 0u64));
    let ping = Arc::new((Mutex::named("turn", 0u64), Condvar::named("turn-changed")));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut threads = Vec::new();
    for t in 0..8usize {
        let (locks, table, ping, stop) = (locks.clone(), table.clone(), ping.clone(), stop.clone());
        threads.push(spawn(&format!("hammer-{t}"), move || {
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                // Always in the same order: no inversion.
                let first = (t + i as usize) % 3;
                let second = (first + 1).min(2);
                let mut a = locks[first.min(second)].lock();
                if first != second {
                    *locks[first.max(second)].lock() += 1;
                }
                *a += 1;
                drop(a);
                if i.is_multiple_of(3) {
                    *table.write() += 1;
                } else {
                    let _ = *table.read();
                }
                if t < 2 {
                    // Two threads pass a turn back and forth through the condvar.
                    let mut turn = ping.0.lock();
                    if *turn % 2 == t as u64 {
                        *turn += 1;
                        ping.1.notify_all();
                    } else {
                        ping.1.wait_for(&mut turn, Duration::from_millis(5));
                    }
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    true
}

#[test]
fn eight_threads_hammering_locks_and_condvars_are_not_reported() {
    clean("hammer");
}

/// Live and offline agree: each deadlock above, recorded, is found in its trace by the
/// prediction engine (`waitgraph analyze`'s), confirmed (the run hung in it), with the
/// watchdog's threads.
#[test]
fn every_deadlock_caught_live_is_found_in_its_trace() {
    let mut missed = Vec::new();
    for scenario in [
        "ab_ba",
        "three_thread_cycle",
        "double_lock",
        "writer_and_reader",
        "condvar_notifier_blocked",
        "barrier_party_blocked",
        "channel_senders_blocked",
        "join_blocked",
        "job_on_own_event_loop",
        "pool_blocked_on_waiters_lock",
        "fair_read_reentry",
        "pool_barrier_k_of_n",
        "scoped_ab_ba",
    ] {
        let trace = std::env::temp_dir().join(format!(
            "waitgraph-agree-{}-{scenario}.trace",
            std::process::id()
        ));
        let outcome = run_child_recording("child", scenario, DEADLINE, Some(&trace));
        let live = outcome.deadlock();
        // Every wait of the predicted cycle is one the watchdog saw a thread stuck in.
        let stuck: Vec<(&str, &str)> = live
            .cycle
            .iter()
            .chain(&live.also_deadlocked)
            .chain(&live.victims)
            .map(|s| (s.thread.as_str(), s.waits_for.resource.as_str()))
            .collect();
        let prediction = predict_from(&trace);
        let _ = std::fs::remove_file(&trace);
        let found = prediction.findings.iter().any(|f| {
            f.confirmed
                && f.severity == waitgraph::report::Severity::Error
                && f.cycle
                    .iter()
                    .all(|s| stuck.contains(&(s.thread.as_str(), s.waits_for.resource.as_str())))
        });
        if !found {
            missed.push(format!(
                "{scenario}: live {:?}, offline {:#?}",
                cycle_threads(live),
                prediction.findings
            ));
        }
    }
    assert!(missed.is_empty(), "{}", missed.join("\n\n"));
}

/// And the other way round: the correct programs above, recorded, predict nothing (no
/// error; a bounded stall may be a warning).
#[test]
fn correct_programs_predict_no_deadlock_from_their_traces() {
    let mut flagged = Vec::new();
    for scenario in [
        "producer_consumer",
        "busy_pool",
        "timed_waits",
        "barrier_completes",
        "job_with_a_free_worker",
        "one_sender_alive",
        "hammer",
    ] {
        let trace = std::env::temp_dir().join(format!(
            "waitgraph-clean-{}-{scenario}.jsonl",
            std::process::id()
        ));
        let outcome = run_child_recording("child", scenario, DEADLINE, Some(&trace));
        outcome.assert_clean();
        let prediction = predict_from(&trace);
        let _ = std::fs::remove_file(&trace);
        // The trace ended whole at exit (not an empty file that predicts nothing).
        assert!(
            prediction.events > 0 && !prediction.notes.iter().any(|n| n.contains("cut")),
            "{scenario}: {} events, notes {:?}",
            prediction.events,
            prediction.notes
        );
        let errors: Vec<_> = prediction
            .findings
            .iter()
            .filter(|f| f.severity == waitgraph::report::Severity::Error)
            .map(|f| f.describe())
            .collect();
        if !errors.is_empty() {
            flagged.push(format!("{scenario}:\n{}", errors.join("\n")));
        }
    }
    assert!(flagged.is_empty(), "{}", flagged.join("\n\n"));
}

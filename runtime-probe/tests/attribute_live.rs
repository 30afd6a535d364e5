//! The watchdog on programs that use std primitives and the attribute only (plus role
//! arguments for what code cannot show): each scenario runs in a child process with a
//! deadline. Deadlocks must be reported with the right cycle; correct programs must
//! complete with no finding.

mod support;

use std::sync::mpsc;
use std::sync::{Arc, Barrier as StdBarrier, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use support::*;
use waitgraph::sync::{Barrier, Executor};

const DEADLINE: Duration = Duration::from_secs(20);

#[test]
#[ignore = "entry point of the child processes the other tests start"]
fn child() {
    serve_child(|scenario| match scenario {
        "std_condvar_notifier_blocked" => std_condvar_notifier_blocked(),
        "incident_with_roles" => incident_with_roles(true),
        "incident_with_roles_healthy" => incident_with_roles(false),
        "std_condvar_handoff" => std_condvar_handoff(),
        "std_locks_hammer" => std_locks_hammer(),
        "reply_after_scheduling" => reply_after_scheduling(true),
        "reply_after_scheduling_healthy" => reply_after_scheduling(false),
        other => panic!("unknown scenario {other}"),
    });
}

// ---- a std condvar whose only notifier is blocked ------------------------------------

struct Handoff {
    audit: Mutex<()>,
    ready: Mutex<bool>,
    changed: Condvar,
    both: StdBarrier,
}

impl Handoff {
    #[waitgraph::instrument]
    fn wait_holding_audit(&self) {
        let _audit = self.audit.lock().unwrap();
        self.both.wait();
        let mut ready = self.ready.lock().unwrap();
        while !*ready {
            ready = self.changed.wait(ready).unwrap(); // waitgraph: allow(blocking-under-lock) the hang under test
        }
    }

    #[waitgraph::instrument]
    fn notify_then_audit(&self) {
        // Notified once before: the probe has learned who notifies this condvar.
        self.changed.notify_all();
        self.both.wait();
        let _audit = self.audit.lock().unwrap();
        *self.ready.lock().unwrap() = true;
        self.changed.notify_all();
    }
}

fn std_condvar_notifier_blocked() -> bool {
    let handoff = Arc::new(Handoff {
        audit: Mutex::new(()),
        ready: Mutex::new(false),
        changed: Condvar::new(),
        both: StdBarrier::new(2),
    });
    let other = handoff.clone();
    spawn("waiter", move || handoff.wait_holding_audit());
    spawn("notifier", move || other.notify_then_audit());
    false
}

#[test]
fn a_std_condvar_whose_notifier_waits_for_the_waiter_is_a_deadlock() {
    let finding = run_child("child", "std_condvar_notifier_blocked", DEADLINE)
        .deadlock()
        .clone();
    let mut threads = cycle_threads(&finding);
    threads.sort_unstable();
    assert_eq!(threads, ["notifier", "waiter"]);
    let waiter = step(&finding, "waiter");
    assert_eq!(waiter.waits_for.wait, "condvar-wait");
    assert_eq!(
        waiter.waits_for.resource,
        "attribute_live::Handoff::changed"
    );
    assert_eq!(waiter.holds[0].resource, "attribute_live::Handoff::audit");
    let notifier = step(&finding, "notifier");
    assert_eq!(notifier.waits_for.wait, "lock");
    assert_eq!(
        notifier.waits_for.resource,
        "attribute_live::Handoff::audit"
    );
    assert_eq!(
        notifier.site.as_ref().unwrap().function.as_deref(),
        Some("attribute_live::notify_then_audit")
    );
}

// ---- the incident, with std primitives and roles -------------------------------------

type Work = Box<dyn FnOnce() + Send>;

/// One worker of a std pool: every iteration serves the executor "workers".
#[waitgraph::instrument(serves = "workers")]
fn worker_loop(queue: &Mutex<mpsc::Receiver<Work>>) {
    loop {
        let work = queue.lock().unwrap().recv();
        match work {
            Ok(work) => run_job(work),
            Err(_) => return,
        }
    }
}

#[waitgraph::instrument(job = "workers")]
fn run_job(work: Work) {
    work()
}

#[waitgraph::instrument]
fn query(gil: &Mutex<u32>) {
    *gil.lock().unwrap() += 1;
}

/// The main thread's spin: declared as a wait for the barrier named "workers-exit".
#[waitgraph::instrument(waits_for = "workers-exit")]
fn wait_for_exit(exit: &Barrier) {
    while exit.generation() == 0 {
        std::thread::sleep(Duration::from_micros(50));
    }
}

#[waitgraph::instrument]
fn shrink(gil: &Arc<Mutex<u32>>, queue: &mpsc::Sender<Work>, pool: &Executor, hold_gil: bool) {
    let held = hold_gil.then(|| gil.lock().unwrap());
    // Two queries wait for the gil this thread holds (or run, if it does not).
    for _ in 0..2 {
        let gil = gil.clone();
        queue.send(Box::new(move || query(&gil))).unwrap();
    }
    std::thread::sleep(Duration::from_millis(50));
    // One exit job per worker, each waiting at a barrier that counts all four.
    let exit = Arc::new(Barrier::for_executor("workers-exit", 4, pool));
    for _ in 0..4 {
        let exit = exit.clone();
        queue
            .send(Box::new(move || {
                exit.wait();
            }))
            .unwrap();
    }
    wait_for_exit(&exit);
    drop(held);
}

/// A std pool of `size` workers (`worker_loop`, serving "workers") fed by a channel,
/// and a thread "main" running `main` with the sending end; returns when all are done.
fn with_std_pool(size: usize, main: impl FnOnce(&mpsc::Sender<Work>) + Send + 'static) -> bool {
    let (send, receive) = mpsc::channel::<Work>();
    let receive = Arc::new(Mutex::new(receive));
    let workers: Vec<JoinHandle<()>> = (0..size)
        .map(|i| {
            let receive = receive.clone();
            spawn(&format!("workers-{i}"), move || worker_loop(&receive))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    let main = spawn("main", move || {
        main(&send);
        drop(send);
    });
    main.join().unwrap();
    for worker in workers {
        worker.join().unwrap();
    }
    true
}

fn incident_with_roles(hold_gil: bool) -> bool {
    let pool = Executor::new("workers");
    let gil = Arc::new(Mutex::new(0));
    with_std_pool(4, move |send| shrink(&gil, send, &pool, hold_gil))
}

#[test]
fn the_incident_with_std_locks_and_roles_is_a_deadlock() {
    let finding = run_child("child", "incident_with_roles", DEADLINE)
        .deadlock()
        .clone();
    let main = step(&finding, "main");
    assert_eq!(main.waits_for.wait, "spin-wait");
    assert_eq!(main.waits_for.resource, "workers-exit");
    assert_eq!(main.holds[0].resource, "attribute_live::shrink::gil");
    assert_eq!(
        main.context,
        ["attribute_live::shrink", "attribute_live::wait_for_exit"]
    );
    let worker = step(&finding, "workers-");
    assert_eq!(worker.waits_for.resource, "attribute_live::shrink::gil");
    assert_eq!(
        worker.context,
        [
            "attribute_live::worker_loop",
            "attribute_live::run_job",
            "attribute_live::query"
        ]
    );
}

#[test]
fn the_incident_without_the_gil_held_completes_clean() {
    run_child(
        "child",
        "incident_with_roles_healthy",
        Duration::from_secs(60),
    )
    .assert_clean();
}

// ---- a reply awaited from work queued through `schedules` ------------------------------

/// Queues work to the std pool "workers": the caller's next receive waits for it.
#[waitgraph::instrument(schedules = "workers")]
fn submit(queue: &mpsc::Sender<Work>, work: Work) {
    queue.send(work).unwrap();
}

/// Holding the cache (or not), asks the pool for two lookups that need the cache and
/// waits for the first reply: with the cache held, both workers wait for it.
#[waitgraph::instrument]
fn lookup(cache: &Arc<Mutex<u32>>, queue: &mpsc::Sender<Work>, hold: bool) -> u32 {
    let held = hold.then(|| cache.lock().unwrap());
    let (reply, replies) = mpsc::channel();
    for _ in 0..2 {
        let (cache, reply) = (cache.clone(), reply.clone());
        submit(
            queue,
            Box::new(move || {
                let _ = reply.send(*cache.lock().unwrap());
            }),
        );
    }
    std::thread::sleep(Duration::from_millis(50));
    let value = replies.recv().unwrap();
    drop(held);
    value
}

fn reply_after_scheduling(hold: bool) -> bool {
    let _pool = Executor::new("workers");
    let cache = Arc::new(Mutex::new(7));
    with_std_pool(2, move |send| {
        lookup(&cache, send, hold);
    })
}

#[test]
fn a_reply_awaited_from_scheduled_work_that_needs_a_held_lock_is_a_deadlock() {
    let finding = run_child("child", "reply_after_scheduling", DEADLINE)
        .deadlock()
        .clone();
    let main = step(&finding, "main");
    // The receive is a wait for the pool's work, at the program's own line.
    assert_eq!(main.waits_for.resource, "workers");
    assert_eq!(main.holds[0].resource, "attribute_live::lookup::cache");
    let site = main.site.as_ref().unwrap();
    assert!(site.file.ends_with("tests/attribute_live.rs"), "{site}");
    assert_eq!(main.context, ["attribute_live::lookup"]);
    let worker = step(&finding, "workers-");
    assert_eq!(worker.waits_for.resource, "attribute_live::lookup::cache");
}

#[test]
fn a_reply_awaited_from_scheduled_work_completes_clean_without_the_lock() {
    run_child(
        "child",
        "reply_after_scheduling_healthy",
        Duration::from_secs(60),
    )
    .assert_clean();
}

// ---- correct programs ------------------------------------------------------------------

#[waitgraph::instrument]
fn produce(state: &(Mutex<Vec<u32>>, Condvar), count: u32) {
    for item in 0..count {
        state.0.lock().unwrap().push(item);
        state.1.notify_one();
    }
}

#[waitgraph::instrument]
fn consume(state: &(Mutex<Vec<u32>>, Condvar), count: u32) -> u64 {
    let mut sum = 0;
    let mut taken = 0;
    let mut items = state.0.lock().unwrap();
    while taken < count {
        items = state.1.wait_while(items, |items| items.is_empty()).unwrap();
        while let Some(item) = items.pop() {
            sum += u64::from(item);
            taken += 1;
        }
    }
    sum
}

fn std_condvar_handoff() -> bool {
    let state = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
    let consumer_state = state.clone();
    let consumer = std::thread::spawn(move || consume(&consumer_state, 20_000));
    let producer = std::thread::spawn(move || produce(&state, 20_000));
    producer.join().unwrap();
    assert_eq!(consumer.join().unwrap(), (0..20_000u64).sum::<u64>());
    true
}

#[test]
fn a_std_producer_and_consumer_complete_with_no_finding() {
    run_child("child", "std_condvar_handoff", Duration::from_secs(60)).assert_clean();
}

#[waitgraph::instrument]
fn transfer_in_order(accounts: &Mutex<u64>, ledger: &parking_lot::Mutex<Vec<u64>>) {
    let mut accounts = accounts.lock().unwrap();
    let mut ledger = ledger.lock();
    *accounts += 1;
    if ledger.len() < 64 {
        ledger.push(*accounts);
    }
}

fn std_locks_hammer() -> bool {
    let accounts = Arc::new(Mutex::new(0));
    let ledger = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (accounts, ledger) = (accounts.clone(), ledger.clone());
            std::thread::spawn(move || {
                for _ in 0..20_000 {
                    transfer_in_order(&accounts, &ledger);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(*accounts.lock().unwrap(), 80_000);
    true
}

#[test]
fn contended_std_and_parking_lot_locks_in_one_order_complete_with_no_finding() {
    run_child("child", "std_locks_hammer", Duration::from_secs(60)).assert_clean();
}

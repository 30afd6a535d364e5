//! Hangs in annotated code that uses locks the probe does not own, reached the ways real
//! programs reach them: other lock_api versions (parking_lot 0.11, spin's lock_api
//! locks), `lazy_static!`, once_cell's `Lazy`, `OnceLock`, `LazyLock`; and std
//! primitives made where dropped ones lived (the probe keys them by address); one-time
//! initialisation (`Once`, `OnceLock`) reached again while it runs; a condvar whose
//! notifier blocks before it ever notified while other threads still run. Each program is
//! annotated with the attribute alone and runs in a child process with a deadline: every
//! hang must be reported as a deadlock within `REPORTED_WITHIN`, and the correct programs
//! beside them must complete with no finding.

mod support;

use std::sync::{Arc, Barrier, LazyLock, OnceLock};
use std::time::Duration;
use support::*;

const DEADLINE: Duration = Duration::from_secs(20);
/// What a hang must be reported within, from the wait's start.
const REPORTED_WITHIN: Duration = Duration::from_secs(2);

#[test]
#[ignore = "entry point of the child processes the other tests start"]
fn child() {
    serve_child(|scenario| match scenario {
        "parking_lot_011_double_lock" => in_thread(parking_lot_011_double_lock),
        "spin_double_lock" => in_thread(spin_double_lock),
        "lazy_static_double_lock" => in_thread(lazy_static_double_lock),
        "once_cell_double_lock" => in_thread(once_cell_double_lock),
        "once_lock_double_lock" => in_thread(once_lock_double_lock),
        "lazy_lock_read_then_write" => in_thread(lazy_lock_read_then_write),
        "parking_lot_011_inversion" => parking_lot_011_inversion(),
        "statics_shared_in_order" => statics_shared_in_order(),
        "condvar_made_where_another_lived" => condvar_made_where_another_lived(),
        "recursive_once_lock" => in_thread(recursive_once_lock),
        "recursive_once" => in_thread(recursive_once),
        "recursive_lazy_lock_force" => in_thread(recursive_lazy_lock_force),
        "initialiser_waits_for_a_waiter" => initialiser_waits_for_a_waiter(),
        "one_time_initialisation_shared" => one_time_initialisation_shared(),
        "notifier_blocked_before_notifying" => notifier_blocked_before_notifying(),
        "reader_blocked_while_the_notifier_sleeps" => reader_blocked_while_the_notifier_sleeps(),
        "notifier_sleeps_past_the_threshold" => notifier_sleeps_past_the_threshold(),
        "notified_from_a_spawned_closure" => notified_from_a_spawned_closure(),
        "std_pool_jobs_finish" => std_pool_jobs_finish(),
        "wrapper_double_lock" => stalls_for_a_while(wrapper_double_lock),
        "opted_out_double_lock" => stalls_for_a_while(opted_out_double_lock),
        "lock_made_where_another_lived" => in_thread(lock_made_where_another_lived),
        "parameters_in_opposite_orders" => parameters_in_opposite_orders(),
        other => panic!("unknown scenario {other}"),
    });
}

/// Runs a hanging body on a thread named `hangs` (the main thread parks meanwhile).
fn in_thread(body: fn()) -> bool {
    spawn("hangs", body);
    false
}

/// The child's deadlock: one thread waiting for a lock it holds itself, reported in time,
/// naming the lock as `name` and the waiting function.
fn double_lock(scenario: &str, name: &str, function: &str) {
    let outcome = run_child("child", scenario, DEADLINE);
    let finding = outcome.deadlock();
    assert_eq!(cycle_threads(finding), ["hangs"], "{finding:#?}");
    let step = &finding.cycle[0];
    assert_eq!(step.waits_for.resource, name, "{step:#?}");
    assert!(
        step.holds.iter().any(|held| held.resource == name),
        "it holds what it waits for: {step:#?}"
    );
    assert!(
        step.context.iter().any(|f| f.ends_with(function)),
        "{step:#?}"
    );
    let waited = Duration::from_millis(step.waited_ms.expect("how long it waited"));
    assert!(waited <= REPORTED_WITHIN, "reported after {waited:?}");
}

// ---- other lock_api versions --------------------------------------------------------------

#[waitgraph::instrument]
fn take_twice_011(lock: &parking_lot_011::Mutex<u32>) {
    let _first = lock.lock();
    let _second = lock.lock(); // waitgraph: allow(double-lock) the hang under test
}

fn parking_lot_011_double_lock() {
    let lock = parking_lot_011::Mutex::new(0);
    take_twice_011(&lock);
}

#[test]
fn a_parking_lot_011_double_lock_is_a_deadlock() {
    double_lock(
        "parking_lot_011_double_lock",
        "annotated_hangs::take_twice_011::lock",
        "take_twice_011",
    );
}

#[waitgraph::instrument]
fn take_twice_spin(lock: &spin::lock_api::Mutex<u32>) {
    let _first = lock.lock();
    let _second = lock.lock(); // waitgraph: allow(double-lock) the hang under test
}

fn spin_double_lock() {
    let lock = spin::lock_api::Mutex::new(0);
    take_twice_spin(&lock);
}

#[test]
fn a_spin_lock_api_double_lock_is_a_deadlock() {
    double_lock(
        "spin_double_lock",
        "annotated_hangs::take_twice_spin::lock",
        "take_twice_spin",
    );
}

static FIRST_011: parking_lot_011::Mutex<u32> = parking_lot_011::const_mutex(0);
static SECOND_011: parking_lot_011::Mutex<u32> = parking_lot_011::const_mutex(0);

#[waitgraph::instrument]
fn first_then_second(both: &Barrier) {
    let _first = FIRST_011.lock();
    both.wait();
    let _second = SECOND_011.lock(); // waitgraph: allow(lock-order-inversion) the hang under test
}

#[waitgraph::instrument]
fn second_then_first(both: &Barrier) {
    let _second = SECOND_011.lock();
    both.wait();
    let _first = FIRST_011.lock();
}

fn parking_lot_011_inversion() -> bool {
    let both = Arc::new(Barrier::new(2));
    let other = both.clone();
    spawn("forward", move || first_then_second(&both));
    spawn("backward", move || second_then_first(&other));
    false
}

#[test]
fn a_parking_lot_011_lock_order_inversion_is_a_deadlock() {
    let outcome = run_child("child", "parking_lot_011_inversion", DEADLINE);
    let finding = outcome.deadlock();
    let mut threads = cycle_threads(finding);
    threads.sort_unstable();
    assert_eq!(threads, ["backward", "forward"], "{finding:#?}");
    let mut resources = cycle_resources(finding);
    resources.sort_unstable();
    assert_eq!(
        resources,
        ["annotated_hangs::FIRST_011", "annotated_hangs::SECOND_011"]
    );
}

// ---- statics behind lazy wrappers ---------------------------------------------------------

lazy_static::lazy_static! {
    static ref REGISTRY: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());
}

#[waitgraph::instrument]
fn register_twice() {
    let mut registry = REGISTRY.lock().unwrap();
    registry.push(1);
    // A helper that takes the lock again, inlined by hand.
    REGISTRY.lock().unwrap().push(2); // waitgraph: allow(double-lock) the hang under test
}

fn lazy_static_double_lock() {
    register_twice();
}

#[test]
fn a_double_lock_through_lazy_static_is_a_deadlock() {
    double_lock(
        "lazy_static_double_lock",
        "annotated_hangs::REGISTRY",
        "register_twice",
    );
}

static CACHE: once_cell::sync::Lazy<parking_lot::Mutex<u32>> =
    once_cell::sync::Lazy::new(|| parking_lot::Mutex::new(0));

#[waitgraph::instrument]
fn bump_twice() {
    let mut cache = CACHE.lock();
    *cache += 1;
    *CACHE.lock() += 1; // waitgraph: allow(double-lock) the hang under test
}

fn once_cell_double_lock() {
    bump_twice();
}

#[test]
fn a_double_lock_through_once_cell_lazy_is_a_deadlock() {
    double_lock(
        "once_cell_double_lock",
        "annotated_hangs::CACHE",
        "bump_twice",
    );
}

static CONFIG: OnceLock<std::sync::Mutex<String>> = OnceLock::new();

#[waitgraph::instrument]
fn config() -> &'static std::sync::Mutex<String> {
    CONFIG.get_or_init(|| std::sync::Mutex::new(String::new()))
}

#[waitgraph::instrument]
fn reconfigure() {
    let mut current = config().lock().unwrap();
    current.push('x');
    config().lock().unwrap().push('y');
}

fn once_lock_double_lock() {
    reconfigure();
}

#[test]
fn a_double_lock_through_once_lock_is_a_deadlock() {
    double_lock(
        "once_lock_double_lock",
        "annotated_hangs::reconfigure::config()",
        "reconfigure",
    );
}

static TABLE: LazyLock<std::sync::RwLock<Vec<u32>>> =
    LazyLock::new(|| std::sync::RwLock::new(vec![1]));

#[waitgraph::instrument]
fn grow_while_reading() {
    let table = TABLE.read().unwrap();
    let len = table.len() as u32;
    TABLE.write().unwrap().push(len); // waitgraph: allow(double-lock) the hang under test
}

fn lazy_lock_read_then_write() {
    grow_while_reading();
}

#[test]
fn a_write_under_a_read_through_lazy_lock_is_a_deadlock() {
    double_lock(
        "lazy_lock_read_then_write",
        "annotated_hangs::TABLE",
        "grow_while_reading",
    );
}

// ---- correct programs ---------------------------------------------------------------------

lazy_static::lazy_static! {
    static ref ORDERS: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());
}
static TOTALS: once_cell::sync::Lazy<parking_lot_011::Mutex<u64>> =
    once_cell::sync::Lazy::new(|| parking_lot_011::Mutex::new(0));
static LIMITS: LazyLock<spin::lock_api::RwLock<u32>> =
    LazyLock::new(|| spin::lock_api::RwLock::new(100));

/// Every thread takes the statics in one order, some initialising them concurrently.
#[waitgraph::instrument]
fn record_order(value: u32) {
    let limit = *LIMITS.read();
    let mut orders = ORDERS.lock().unwrap();
    if value < limit {
        orders.push(value);
        *TOTALS.lock() += u64::from(value);
    }
}

fn statics_shared_in_order() -> bool {
    let start = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let start = start.clone();
            spawn(&format!("client-{i}"), move || {
                start.wait();
                for value in 0..2_000 {
                    record_order(value);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(*TOTALS.lock(), 4 * (0..100u64).sum::<u64>());
    true
}

#[test]
fn statics_initialised_concurrently_and_taken_in_order_are_not_reported() {
    run_child("child", "statics_shared_in_order", DEADLINE).assert_clean();
}

// ---- a primitive made where a dropped one lived -------------------------------------------

type Handshake = (std::sync::Mutex<bool>, std::sync::Condvar);

/// Allocates with `make` until the value lands at `address` (freed just before: the
/// allocator hands the same block back at once, in practice on the first try).
fn at_the_address_of<T>(address: *const T, make: impl Fn() -> Arc<T>) -> Arc<T> {
    let mut elsewhere = Vec::new();
    for _ in 0..10_000 {
        let made = make();
        if Arc::as_ptr(&made) == address {
            return made;
        }
        elsewhere.push(made);
    }
    panic!("no allocation landed where the dropped value lived");
}

static LEDGER: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[waitgraph::instrument]
fn notify_then_take_the_ledger(pair: Arc<Handshake>, done: &Barrier) {
    *pair.0.lock().unwrap() = true;
    pair.1.notify_all();
    drop(pair);
    done.wait();
    // main holds the ledger from now until a thread this one never met notifies it.
    let _ledger = LEDGER.lock().unwrap();
}

/// The first handshake: `early` notifies, then is left blocked on the ledger later.
#[waitgraph::instrument]
fn first_handshake(done: Arc<Barrier>) -> *const Handshake {
    let pair: Arc<Handshake> = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
    let theirs = pair.clone();
    spawn("early", move || notify_then_take_the_ledger(theirs, &done));
    let mut ready = pair.0.lock().unwrap();
    while !*ready {
        ready = pair.1.wait(ready).unwrap();
    }
    drop(ready);
    // The last handle is dropped here, on this thread, whose allocator then hands the
    // block back to the next allocation of this size.
    while Arc::strong_count(&pair) > 1 {
        std::thread::yield_now();
    }
    Arc::as_ptr(&pair)
}

#[waitgraph::instrument]
fn notify_later(pair: Arc<Handshake>) {
    std::thread::sleep(Duration::from_millis(400));
    *pair.0.lock().unwrap() = true;
    pair.1.notify_all();
}

/// The second handshake, on a new condvar at the first one's address, holding the
/// ledger `early` now waits for; only `late`, unknown to the condvar, notifies it.
#[waitgraph::instrument]
fn second_handshake(address: *const Handshake, done: &Barrier) {
    let _ledger = LEDGER.lock().unwrap();
    let pair = at_the_address_of(address, || {
        Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()))
    });
    done.wait();
    let theirs = pair.clone();
    let late = spawn("late", move || notify_later(theirs));
    let mut ready = pair.0.lock().unwrap();
    while !*ready {
        ready = pair.1.wait(ready).unwrap();
    }
    drop(ready);
    late.join().unwrap();
}

fn condvar_made_where_another_lived() -> bool {
    let done = Arc::new(Barrier::new(2));
    let address = first_handshake(done.clone());
    // The first pair is freed when `first_handshake` returns, before the second is made.
    second_handshake(address, &done);
    true
}

#[test]
fn a_condvar_made_where_a_notified_one_lived_starts_with_no_notifiers() {
    run_child("child", "condvar_made_where_another_lived", DEADLINE).assert_clean();
}

#[waitgraph::instrument]
fn count_entries(ledger: &std::sync::Mutex<u32>) -> u32 {
    *ledger.lock().unwrap()
}

#[waitgraph::instrument]
fn audit_twice(audit: &std::sync::Mutex<u32>) {
    let _first = audit.lock().unwrap();
    let _second = audit.lock().unwrap(); // waitgraph: allow(double-lock) the hang under test
}

fn lock_made_where_another_lived() {
    let ledger = Arc::new(std::sync::Mutex::new(1));
    count_entries(&ledger);
    let address = Arc::as_ptr(&ledger);
    drop(ledger);
    let audit = at_the_address_of(address, || Arc::new(std::sync::Mutex::new(2)));
    audit_twice(&audit);
}

#[test]
fn a_lock_made_where_another_lived_is_reported_under_its_own_name() {
    double_lock(
        "lock_made_where_another_lived",
        "annotated_hangs::audit_twice::audit",
        "audit_twice",
    );
}

// ---- one-time initialisation ---------------------------------------------------------------

struct Settings {
    limit: u32,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

#[waitgraph::instrument]
fn settings() -> &'static Settings {
    SETTINGS.get_or_init(load_settings)
}

/// Loading reads a default from the settings themselves: recursive initialisation.
#[waitgraph::instrument]
fn load_settings() -> Settings {
    let fallback = settings().limit;
    Settings {
        limit: fallback + 1,
    }
}

fn recursive_once_lock() {
    settings();
}

#[test]
fn a_once_lock_initialised_recursively_is_a_deadlock() {
    double_lock(
        "recursive_once_lock",
        "annotated_hangs::SETTINGS",
        "settings",
    );
}

static LOGGING: std::sync::Once = std::sync::Once::new();

#[waitgraph::instrument]
fn init_logging() {
    LOGGING.call_once(|| {
        // Logging its own start goes through the logger: the same `Once` again.
        log_line("logging started");
    });
}

#[waitgraph::instrument]
fn log_line(line: &str) {
    init_logging();
    let _ = line;
}

fn recursive_once() {
    init_logging();
}

#[test]
fn a_once_reached_again_from_its_own_closure_is_a_deadlock() {
    double_lock("recursive_once", "annotated_hangs::LOGGING", "init_logging");
}

static PLUGINS: LazyLock<Vec<String>> = LazyLock::new(load_plugins);

#[waitgraph::instrument]
fn plugins() -> &'static Vec<String> {
    LazyLock::force(&PLUGINS)
}

/// Loading names the plugins loaded so far: through the same lazy value.
#[waitgraph::instrument]
fn load_plugins() -> Vec<String> {
    let loaded = plugins().len();
    vec![format!("builtin-{loaded}")]
}

fn recursive_lazy_lock_force() {
    plugins();
}

#[test]
fn a_lazy_lock_forced_again_while_it_initialises_is_a_deadlock() {
    double_lock(
        "recursive_lazy_lock_force",
        "annotated_hangs::PLUGINS",
        "plugins",
    );
}

static CATALOG: OnceLock<Vec<u32>> = OnceLock::new();
static INDEX: std::sync::Mutex<u32> = std::sync::Mutex::new(0);

/// Builds the catalogue, which needs the index.
#[waitgraph::instrument]
fn catalog(both: &Barrier) -> &'static Vec<u32> {
    CATALOG.get_or_init(|| {
        both.wait();
        let index = INDEX.lock().unwrap();
        vec![*index]
    })
}

/// Holds the index while it reads the catalogue, which another thread is building.
#[waitgraph::instrument]
fn reindex(both: &Barrier) -> usize {
    let _index = INDEX.lock().unwrap();
    both.wait();
    CATALOG.get_or_init(Vec::new).len()
}

fn initialiser_waits_for_a_waiter() -> bool {
    let both = Arc::new(Barrier::new(2));
    let other = both.clone();
    spawn("builder", move || {
        catalog(&both);
    });
    spawn("indexer", move || {
        reindex(&other);
    });
    false
}

#[test]
fn an_initialiser_waiting_for_a_thread_that_waits_for_the_initialisation_is_a_deadlock() {
    let outcome = run_child("child", "initialiser_waits_for_a_waiter", DEADLINE);
    let finding = outcome.deadlock();
    let builder = step(finding, "builder");
    assert_eq!(
        builder.waits_for.resource, "annotated_hangs::INDEX",
        "{finding:#?}"
    );
    assert!(builder
        .holds
        .iter()
        .any(|held| held.resource == "annotated_hangs::CATALOG"));
    let indexer = step(finding, "indexer");
    assert_eq!(indexer.waits_for.resource, "annotated_hangs::CATALOG");
}

static SHARED_CONFIG: OnceLock<Vec<u32>> = OnceLock::new();
static DEFAULTS: LazyLock<Vec<u32>> = LazyLock::new(|| {
    std::thread::sleep(Duration::from_millis(30));
    vec![0, 0]
});
static STARTED: std::sync::Once = std::sync::Once::new();
static STARTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Every thread asks for the configuration and starts the service: whoever comes first
/// initialises, the others wait for it and go on.
#[waitgraph::instrument]
fn configure_and_start() -> usize {
    let config = SHARED_CONFIG.get_or_init(|| {
        std::thread::sleep(Duration::from_millis(30));
        vec![1, 2, 3]
    });
    STARTED.call_once(|| {
        std::thread::sleep(Duration::from_millis(30));
        STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    config.len() + LazyLock::force(&DEFAULTS).len() - 2
}

fn one_time_initialisation_shared() -> bool {
    let start = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let start = start.clone();
            spawn(&format!("service-{i}"), move || {
                start.wait();
                assert_eq!(configure_and_start(), 3);
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(STARTS.load(std::sync::atomic::Ordering::Relaxed), 1);
    true
}

#[test]
fn one_time_initialisation_raced_by_several_threads_is_not_reported() {
    run_child("child", "one_time_initialisation_shared", DEADLINE).assert_clean();
}

// ---- hangs behind guards kept as std's type ------------------------------------------------

/// Runs `body` on a thread named `hangs`, lets the watchdog look for longer than its
/// stall threshold (1 s), then ends the child: exit 1 with what it found on stderr.
fn stalls_for_a_while(body: fn()) -> bool {
    spawn("hangs", body);
    std::thread::sleep(Duration::from_millis(1_600));
    true
}

/// The child's stall warning for `hangs`, waiting for `resource` in `function`.
fn stalled(scenario: &str, resource: &str, function: &str) {
    let outcome = run_child("child", scenario, DEADLINE);
    let stderr = &outcome.child.stderr;
    let warning = outcome.stall_warning();
    assert!(warning.contains("`hangs`"), "{warning}");
    assert!(
        warning.contains("no holder is known to the probe"),
        "{warning}"
    );
    assert!(stderr.contains(resource), "{}", outcome.child);
    assert!(stderr.contains(function), "{}", outcome.child);
}

/// Read and write accessors that return std's guards.
trait Access<T> {
    fn rl(&self) -> std::sync::RwLockReadGuard<'_, T>;
    fn wl(&self) -> std::sync::RwLockWriteGuard<'_, T>;
}

impl<T> Access<T> for std::sync::RwLock<T> {
    #[waitgraph::instrument]
    fn rl(&self) -> std::sync::RwLockReadGuard<'_, T> {
        self.read().unwrap()
    }

    #[waitgraph::instrument]
    fn wl(&self) -> std::sync::RwLockWriteGuard<'_, T> {
        self.write().unwrap()
    }
}

static ROUTES: std::sync::RwLock<Vec<u32>> = std::sync::RwLock::new(Vec::new());

#[waitgraph::instrument]
fn add_route_if_missing(route: u32) {
    let routes = ROUTES.rl();
    if !routes.contains(&route) {
        // The read guard is still alive: the write waits for this thread itself.
        ROUTES.wl().push(route);
    }
}

fn wrapper_double_lock() {
    add_route_if_missing(7);
}

#[test]
fn a_double_lock_behind_accessors_returning_std_guards_is_a_stall() {
    // Reached as `self` in an impl for `RwLock`: named after its type.
    stalled("wrapper_double_lock", "RwLock", "annotated_hangs::wl");
}

static JOURNAL: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

#[waitgraph::instrument]
fn append_twice() {
    let mut journal = waitgraph::uninstrumented!(JOURNAL.lock()).unwrap();
    journal.push(1);
    waitgraph::uninstrumented!(JOURNAL.lock()).unwrap().push(2);
}

fn opted_out_double_lock() {
    append_twice();
}

#[test]
fn a_double_lock_opted_out_with_uninstrumented_is_a_stall() {
    stalled(
        "opted_out_double_lock",
        "annotated_hangs::JOURNAL",
        "append_twice",
    );
}

// ---- a notifier blocked before it ever notified, other threads running -------------------

struct Ledger {
    table: std::sync::Mutex<()>,
    settled: std::sync::Mutex<bool>,
    changed: std::sync::Condvar,
}

impl Ledger {
    fn new() -> Arc<Ledger> {
        Arc::new(Ledger {
            table: std::sync::Mutex::new(()),
            settled: std::sync::Mutex::new(false),
            changed: std::sync::Condvar::new(),
        })
    }

    /// Waits for the settlement while holding the table.
    #[waitgraph::instrument]
    fn wait_for_settlement(&self, both: &Barrier) {
        let _table = self.table.lock().unwrap();
        both.wait();
        let mut settled = self.settled.lock().unwrap();
        while !*settled {
            settled = self.changed.wait(settled).unwrap(); // waitgraph: allow(blocking-under-lock) the hang under test
        }
    }

    /// Settles: takes the table first, then says so.
    #[waitgraph::instrument]
    fn settle(&self, both: &Barrier) {
        both.wait();
        let _table = self.table.lock().unwrap();
        *self.settled.lock().unwrap() = true;
        self.changed.notify_all();
    }

    /// Settles after `delay`, without the table.
    #[waitgraph::instrument]
    fn settle_after(&self, delay: Duration) {
        std::thread::sleep(delay);
        *self.settled.lock().unwrap() = true;
        self.changed.notify_all();
    }

    /// Reads the table: blocked while the waiter holds it.
    #[waitgraph::instrument]
    fn audit(&self, both: &Barrier) {
        both.wait();
        let _table = self.table.lock().unwrap();
        let _ = *self.settled.lock().unwrap();
    }
}

/// A thread that keeps running: the whole-process rule cannot apply.
fn ticker() {
    spawn("ticker", || loop {
        std::thread::sleep(Duration::from_millis(5));
    });
}

fn notifier_blocked_before_notifying() -> bool {
    ticker();
    let ledger = Ledger::new();
    let both = Arc::new(Barrier::new(2));
    let (theirs, other) = (ledger.clone(), both.clone());
    spawn("waiter", move || ledger.wait_for_settlement(&both));
    spawn("settler", move || theirs.settle(&other));
    false
}

#[test]
fn a_notifier_blocked_on_the_waiters_lock_before_it_notified_is_a_deadlock() {
    let outcome = run_child("child", "notifier_blocked_before_notifying", DEADLINE);
    let finding = outcome.deadlock();
    let mut threads = cycle_threads(finding);
    threads.sort_unstable();
    assert_eq!(threads, ["settler", "waiter"], "{finding:#?}");
    let waiter = step(finding, "waiter");
    assert_eq!(waiter.waits_for.wait, "condvar-wait");
    assert_eq!(waiter.holds[0].resource, "annotated_hangs::Ledger::table");
    let settler = step(finding, "settler");
    assert_eq!(settler.waits_for.resource, "annotated_hangs::Ledger::table");
    let waited = Duration::from_millis(waiter.waited_ms.expect("how long it waited"));
    assert!(waited <= REPORTED_WITHIN, "reported after {waited:?}");
}

fn reader_blocked_while_the_notifier_sleeps() -> bool {
    ticker();
    let ledger = Ledger::new();
    let both = Arc::new(Barrier::new(2));
    let (reader, notifier, other) = (ledger.clone(), ledger.clone(), both.clone());
    let threads = [
        spawn("waiter", move || ledger.wait_for_settlement(&both)),
        spawn("auditor", move || reader.audit(&other)),
        spawn("settler", move || {
            notifier.settle_after(Duration::from_millis(400))
        }),
    ];
    for thread in threads {
        thread.join().unwrap();
    }
    true
}

#[test]
fn a_thread_blocked_behind_the_waiter_that_does_not_notify_is_not_a_deadlock() {
    // The auditor took the condvar's mutex before and waits for the waiter's lock; the
    // settler, which will notify, sleeps: nothing is stuck.
    run_child(
        "child",
        "reader_blocked_while_the_notifier_sleeps",
        DEADLINE,
    )
    .assert_clean();
}

fn notifier_sleeps_past_the_threshold() -> bool {
    let ledger = Ledger::new();
    let notifier = ledger.clone();
    let settler = spawn("settler", move || {
        notifier.settle_after(Duration::from_millis(1_500))
    });
    ledger.wait_for_settlement(&Barrier::new(1));
    settler.join().unwrap();
    true
}

#[test]
fn a_wait_whose_notifier_sleeps_past_the_stall_threshold_is_not_a_stall() {
    // The settler is inside the function that notifies: the waiter waits for it, and it
    // is free (asleep), so the 1.5 s wait is no stall.
    run_child("child", "notifier_sleeps_past_the_threshold", DEADLINE).assert_clean();
}

/// Hands the settlement to a helper thread (a closure), then waits for the table the
/// waiter holds: this thread is not the notifier, the helper is.
#[waitgraph::instrument]
fn hand_off_then_audit(ledger: &Arc<Ledger>, both: &Barrier) {
    let theirs = ledger.clone();
    let helper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        *theirs.settled.lock().unwrap() = true;
        theirs.changed.notify_all();
    });
    both.wait();
    drop(ledger.table.lock().unwrap());
    helper.join().unwrap();
}

fn notified_from_a_spawned_closure() -> bool {
    let ledger = Ledger::new();
    let both = Arc::new(Barrier::new(2));
    let (theirs, other) = (ledger.clone(), both.clone());
    let waiter = spawn("waiter", move || ledger.wait_for_settlement(&both));
    let auditor = spawn("auditor", move || hand_off_then_audit(&theirs, &other));
    waiter.join().unwrap();
    auditor.join().unwrap();
    true
}

#[test]
fn a_function_whose_spawned_closure_notifies_is_not_the_notifier() {
    // The auditor's function notifies `changed` only inside a closure another thread
    // runs: blocked behind the waiter, the auditor closes no cycle.
    run_child("child", "notified_from_a_spawned_closure", DEADLINE).assert_clean();
}

// ---- a hand-written pool on std primitives whose jobs finish -----------------------------

#[derive(Default)]
struct Pool {
    queue: std::sync::Mutex<(std::collections::VecDeque<u32>, bool)>,
    queued: std::sync::Condvar,
    done: std::sync::Mutex<u32>,
    finished: std::sync::Condvar,
    stats: std::sync::Mutex<u64>,
}

impl Pool {
    /// A worker: takes jobs until shut down, says when each is done.
    #[waitgraph::instrument]
    fn work(&self) {
        loop {
            let job = {
                let mut queue = self.queue.lock().unwrap();
                loop {
                    if let Some(job) = queue.0.pop_front() {
                        break job;
                    }
                    if queue.1 {
                        return;
                    }
                    queue = self.queued.wait(queue).unwrap();
                }
            };
            *self.stats.lock().unwrap() += u64::from(job);
            *self.done.lock().unwrap() += 1;
            self.finished.notify_all();
        }
    }

    #[waitgraph::instrument]
    fn submit(&self, job: u32) {
        self.queue.lock().unwrap().0.push_back(job);
        self.queued.notify_one();
    }

    #[waitgraph::instrument]
    fn wait_for(&self, jobs: u32) {
        let mut done = self.done.lock().unwrap();
        while *done < jobs {
            done = self.finished.wait(done).unwrap();
        }
    }

    #[waitgraph::instrument]
    fn shut_down(&self) {
        self.queue.lock().unwrap().1 = true;
        self.queued.notify_all();
    }
}

fn std_pool_jobs_finish() -> bool {
    let pool = Arc::new(Pool::default());
    let workers: Vec<_> = (0..3)
        .map(|i| {
            let pool = pool.clone();
            spawn(&format!("worker-{i}"), move || pool.work())
        })
        .collect();
    for round in 0..20 {
        for job in 0..50 {
            pool.submit(job);
        }
        pool.wait_for((round + 1) * 50);
        // Idle workers for a while (once past the stall threshold): waits on a condvar
        // its notifier, asleep, will notify in the next round.
        let idle = if round == 0 { 1_200 } else { 20 };
        std::thread::sleep(Duration::from_millis(idle));
    }
    pool.shut_down();
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(*pool.stats.lock().unwrap(), 20 * (0..50u64).sum::<u64>());
    true
}

#[test]
fn a_pool_on_std_primitives_whose_jobs_finish_is_not_reported() {
    run_child("child", "std_pool_jobs_finish", DEADLINE).assert_clean();
}

// ---- two locks reached through the same parameters --------------------------------------

#[waitgraph::instrument]
fn lock_both(first: &std::sync::Mutex<u32>, second: &std::sync::Mutex<u32>, both: &Barrier) {
    let _first = first.lock().unwrap();
    both.wait();
    let _second = second.lock().unwrap();
}

fn parameters_in_opposite_orders() -> bool {
    let locks = Arc::new((std::sync::Mutex::new(0), std::sync::Mutex::new(0)));
    let both = Arc::new(Barrier::new(2));
    let (theirs, other) = (locks.clone(), both.clone());
    spawn("ab", move || lock_both(&theirs.0, &theirs.1, &other));
    spawn("ba", move || lock_both(&locks.1, &locks.0, &both));
    false
}

#[test]
fn two_locks_reached_through_the_same_parameters_are_told_apart_in_the_report() {
    let outcome = run_child("child", "parameters_in_opposite_orders", DEADLINE);
    let finding = outcome.deadlock();
    let mut waited = cycle_resources(finding);
    waited.sort_unstable();
    assert_eq!(
        waited,
        [
            "annotated_hangs::lock_both::first #1",
            "annotated_hangs::lock_both::first #2"
        ],
        "{finding:#?}"
    );
    for step in &finding.cycle {
        assert!(
            step.holds
                .iter()
                .all(|held| held.resource != step.waits_for.resource),
            "no thread appears to wait for what it holds: {step:#?}"
        );
    }
}

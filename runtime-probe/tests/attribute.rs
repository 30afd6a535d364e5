//! What `#[waitgraph::instrument]` records: the exact event sequence of instrumented
//! functions on std, parking_lot and waitgraph types, and calls on other types left
//! exactly as they were.

use std::io::Write as _;
use std::panic::AssertUnwindSafe;
use std::sync::{mpsc, Arc, Condvar, Mutex, RwLock};
use std::time::Duration;
use waitgraph::model::{Event, EventKind, ResourceKey};
use waitgraph::record;

/// One line per event: what happened, to which resource (by the name reports use), and
/// for acquires and waits the line of the call.
fn lines(events: &[Event]) -> Vec<String> {
    let label = |key: &ResourceKey| {
        record::resource(*key).map_or_else(|| format!("#{}", key.0), |info| info.label())
    };
    let line = |event: &Event| event.site.as_ref().map_or(0, |site| site.line);
    events
        .iter()
        .map(|event| match &event.kind {
            EventKind::Enter { function } => format!("enter {function}"),
            EventKind::Exit { function } => format!("exit {function}"),
            EventKind::LockAcquired { resource, mode } => {
                format!(
                    "acquire {} {} @{}",
                    mode.as_str(),
                    label(resource),
                    line(event)
                )
            }
            EventKind::LockReleased { resource, mode } => {
                format!("release {} {}", mode.as_str(), label(resource))
            }
            EventKind::WaitBegin {
                resource,
                wait,
                timed,
            } => format!(
                "wait {}{} {} @{}",
                wait.as_str(),
                if *timed { " (timed)" } else { "" },
                label(resource),
                line(event)
            ),
            EventKind::WaitEnd { end, .. } => format!("end {end:?}"),
            EventKind::Notify { resource, all } => {
                format!(
                    "notify{} {}",
                    if *all { "-all" } else { "" },
                    label(resource)
                )
            }
            EventKind::Send { resource } => format!("send {}", label(resource)),
            EventKind::BarrierArrive { resource, .. } => format!("arrive {}", label(resource)),
            EventKind::JobQueued { executor, .. } => format!("queued {}", label(executor)),
            EventKind::JobStarted { executor, .. } => format!("started {}", label(executor)),
            EventKind::JobFinished { executor, .. } => format!("finished {}", label(executor)),
            EventKind::Enroll { resource } => format!("enroll {}", label(resource)),
            other => format!("{other:?}"),
        })
        .collect()
}

/// The line a marker comment is on in this file, so expectations name call sites.
fn line_of(marker: &str) -> u32 {
    let source = include_str!("attribute.rs");
    let index = source
        .lines()
        .position(|line| line.contains(marker) && !line.contains("line_of("))
        .unwrap_or_else(|| panic!("marker {marker} not found"));
    index as u32 + 1
}

/// The lines without their call sites' line numbers.
fn without_sites(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .map(|line| line.split(" @").next().unwrap_or(line))
        .collect()
}

fn captured(f: impl FnOnce()) -> Vec<String> {
    lines(&record::capture(f).1)
}

#[waitgraph::instrument]
fn drop_early(m: &Mutex<u32>, other: &Mutex<u32>) -> u32 {
    let guard = m.lock().unwrap(); // @drop-early-lock
    let value = *guard;
    drop(guard);
    let second = other.lock().unwrap(); // @drop-early-other
    value + *second
}

#[test]
fn a_guard_dropped_early_is_released_where_it_is_dropped() {
    let (m, other) = (Mutex::new(1), Mutex::new(2));
    let mut result = 0;
    let events = captured(|| result = drop_early(&m, &other));
    assert_eq!(result, 3);
    assert_eq!(
        events,
        [
            "enter attribute::drop_early".to_string(),
            format!(
                "acquire exclusive attribute::drop_early::m @{}",
                line_of("@drop-early-lock")
            ),
            "release exclusive attribute::drop_early::m".into(),
            format!(
                "acquire exclusive attribute::drop_early::other @{}",
                line_of("@drop-early-other")
            ),
            "release exclusive attribute::drop_early::other".into(),
            "exit attribute::drop_early".into(),
        ]
    );
}

#[waitgraph::instrument]
fn wait_for_ready(state: &(Mutex<bool>, Condvar), started: mpsc::Sender<()>) {
    let (ready, changed) = state;
    let mut guard = ready.lock().unwrap(); // @std-wait-lock
    started.send(()).unwrap();
    while !*guard {
        guard = changed.wait(guard).unwrap(); // @std-condvar-wait
    }
    drop(guard);
}

#[waitgraph::instrument]
fn make_ready(state: &(Mutex<bool>, Condvar)) {
    let (ready, changed) = state;
    *ready.lock().unwrap() = true;
    changed.notify_all(); // @std-notify
}

/// Spurious wakeups may repeat a wait: keep one of each identical run.
fn without_repeated_waits(lines: Vec<String>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for line in lines {
        let n = kept.len();
        if n >= 4 && line.starts_with("wait ") && kept[n - 3] == line {
            kept.truncate(n - 3);
        }
        kept.push(line);
    }
    kept
}

/// Leaves out the published waits (and their ends) of one kind for one resource
/// (`"lock NAME"`).
fn without_waits_for(what: &str, lines: Vec<String>) -> Vec<String> {
    let wait = format!("wait {what} @");
    let mut kept = Vec::new();
    let mut waiting = false;
    for line in lines {
        if line.starts_with(&wait) {
            waiting = true;
        } else if waiting && line.starts_with("end ") {
            waiting = false;
        } else {
            kept.push(line);
        }
    }
    kept
}

#[test]
fn a_guard_moved_into_a_std_condvar_wait_is_released_and_taken_again() {
    let state = Arc::new((Mutex::new(false), Condvar::new()));
    let (started, waiter_holds) = mpsc::channel();
    let notifier_state = state.clone();
    // The notifier can only take the lock once the waiter gives it back in its wait.
    let notifier = std::thread::spawn(move || {
        waiter_holds.recv().unwrap();
        let ((), events) = record::capture(|| make_ready(&notifier_state));
        lines(&events)
    });
    let events = without_repeated_waits(captured(|| wait_for_ready(&state, started)));
    let lock_line = line_of("@std-wait-lock");
    let wait_line = line_of("@std-condvar-wait");
    assert_eq!(
        events,
        [
            "enter attribute::wait_for_ready".to_string(),
            format!("acquire exclusive attribute::wait_for_ready::ready @{lock_line}"),
            "send attribute::wait_for_ready::started".into(),
            "release exclusive attribute::wait_for_ready::ready".into(),
            format!("wait condvar-wait attribute::wait_for_ready::changed @{wait_line}"),
            "end Woken".into(),
            format!("acquire exclusive attribute::wait_for_ready::ready @{wait_line}"),
            "release exclusive attribute::wait_for_ready::ready".into(),
            "exit attribute::wait_for_ready".into(),
        ]
    );
    // The waiter holds the lock from before it says it has started until its wait gives
    // the lock back: the notifier may wait for it, and a wait past the probe's grace
    // period is published. Whether it is depends on the scheduler, not on the attribute.
    let notifier_events = without_waits_for(
        "lock attribute::wait_for_ready::ready",
        notifier.join().unwrap(),
    );
    assert_eq!(notifier_events[0], "enter attribute::make_ready");
    assert!(
        notifier_events[1].starts_with("acquire exclusive attribute::wait_for_ready::ready"),
        "{notifier_events:?}"
    );
    assert_eq!(
        notifier_events[2],
        "release exclusive attribute::wait_for_ready::ready"
    );
    assert_eq!(
        notifier_events[3],
        "notify-all attribute::wait_for_ready::changed"
    );
    assert_eq!(notifier_events[4], "exit attribute::make_ready");
}

#[waitgraph::instrument]
fn wait_for_ready_parking_lot(
    state: &(parking_lot::Mutex<bool>, parking_lot::Condvar),
    started: mpsc::Sender<()>,
) {
    let (ready, changed) = state;
    let mut guard = ready.lock(); // @pl-wait-lock
    started.send(()).unwrap();
    while !*guard {
        changed.wait(&mut guard); // @pl-condvar-wait
    }
}

#[test]
fn a_guard_lent_to_a_parking_lot_condvar_wait_is_released_and_taken_again() {
    let state = Arc::new((parking_lot::Mutex::new(false), parking_lot::Condvar::new()));
    let (started, waiter_holds) = mpsc::channel();
    let notifier_state = state.clone();
    let notifier = std::thread::spawn(move || {
        waiter_holds.recv().unwrap();
        *notifier_state.0.lock() = true;
        notifier_state.1.notify_one();
    });
    let events = without_repeated_waits(captured(|| wait_for_ready_parking_lot(&state, started)));
    notifier.join().unwrap();
    let (lock_line, wait_line) = (line_of("@pl-wait-lock"), line_of("@pl-condvar-wait"));
    let ready = "attribute::wait_for_ready_parking_lot::ready";
    assert_eq!(
        events,
        [
            "enter attribute::wait_for_ready_parking_lot".to_string(),
            format!("acquire exclusive {ready} @{lock_line}"),
            "send attribute::wait_for_ready_parking_lot::started".into(),
            format!("release exclusive {ready}"),
            format!(
                "wait condvar-wait attribute::wait_for_ready_parking_lot::changed @{wait_line}"
            ),
            "end Woken".into(),
            format!("acquire exclusive {ready} @{wait_line}"),
            format!("release exclusive {ready}"),
            "exit attribute::wait_for_ready_parking_lot".into(),
        ]
    );
}

#[waitgraph::instrument]
fn temporaries_in_a_match(m: &Mutex<u32>, inner: &Mutex<u32>) -> &'static str {
    // The guard is a temporary of the scrutinee: held for the whole match.
    match *m.lock().unwrap() {
        0 => "zero",
        _ => {
            let _inner = inner.lock().unwrap();
            "some"
        }
    }
}

#[test]
fn a_temporary_guard_in_a_match_scrutinee_lives_to_the_end_of_the_match() {
    let (m, inner) = (Mutex::new(5), Mutex::new(0));
    let mut result = "";
    let events = captured(|| result = temporaries_in_a_match(&m, &inner));
    assert_eq!(result, "some");
    let shape = without_sites(&events);
    assert_eq!(
        shape,
        [
            "enter attribute::temporaries_in_a_match",
            "acquire exclusive attribute::temporaries_in_a_match::m",
            "acquire exclusive attribute::temporaries_in_a_match::inner",
            "release exclusive attribute::temporaries_in_a_match::inner",
            "release exclusive attribute::temporaries_in_a_match::m",
            "exit attribute::temporaries_in_a_match",
        ]
    );
}

#[waitgraph::instrument]
fn early_exits(
    m: &Mutex<Vec<u32>>,
    input: &str,
    stop_early: bool,
) -> Result<u32, std::num::ParseIntError> {
    let mut items = m.lock().unwrap();
    if stop_early {
        return Ok(0);
    }
    let value: u32 = input.parse()?;
    items.push(value);
    Ok(value)
}

#[test]
fn question_mark_and_early_return_release_and_exit() {
    let m = Mutex::new(Vec::new());
    let expected = [
        "enter attribute::early_exits",
        "acquire exclusive attribute::early_exits::m",
        "release exclusive attribute::early_exits::m",
        "exit attribute::early_exits",
    ];
    for (input, stop_early, ok) in [("x", false, false), ("7", true, true), ("7", false, true)] {
        let mut result = None;
        let events = captured(|| result = Some(early_exits(&m, input, stop_early)));
        assert_eq!(result.unwrap().is_ok(), ok);
        let shape = without_sites(&events);
        assert_eq!(shape, expected, "input {input:?}, stop_early {stop_early}");
    }
    assert_eq!(*m.lock().unwrap(), [7]);
}

#[waitgraph::instrument]
fn panics_while_locked(m: &parking_lot::Mutex<u32>) {
    let mut guard = m.lock();
    *guard += 1;
    panic!("inside the locked region");
}

#[test]
fn a_panic_inside_a_locked_region_still_records_release_and_exit() {
    let m = parking_lot::Mutex::new(0);
    let events = captured(|| {
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| panics_while_locked(&m)));
        assert!(outcome.is_err());
    });
    let shape = without_sites(&events);
    assert_eq!(
        shape,
        [
            "enter attribute::panics_while_locked",
            "acquire exclusive attribute::panics_while_locked::m",
            "release exclusive attribute::panics_while_locked::m",
            "exit attribute::panics_while_locked",
        ]
    );
    assert!(!m.is_locked());
}

#[waitgraph::instrument]
fn recursive(levels: &[Mutex<u32>]) -> u32 {
    let Some((first, rest)) = levels.split_first() else {
        return 0;
    };
    let guard = first.lock().unwrap();
    *guard + recursive(rest)
}

#[test]
fn recursion_nests_contexts_and_holds() {
    let levels = [Mutex::new(1), Mutex::new(2)];
    let mut total = 0;
    let events = captured(|| total = recursive(&levels));
    assert_eq!(total, 3);
    let shape = without_sites(&events);
    let first = "attribute::recursive::first";
    assert_eq!(shape[0], "enter attribute::recursive");
    assert_eq!(shape[1], format!("acquire exclusive {first}"));
    assert_eq!(shape[2], "enter attribute::recursive");
    assert_eq!(shape[3], format!("acquire exclusive {first}"));
    assert_eq!(shape[4], "enter attribute::recursive");
    assert_eq!(shape[5], "exit attribute::recursive");
    assert_eq!(shape[6], format!("release exclusive {first}"));
    assert_eq!(shape[7], "exit attribute::recursive");
    assert_eq!(shape[8], format!("release exclusive {first}"));
    assert_eq!(shape[9], "exit attribute::recursive");
    // Two different mutexes: the inner hold is not the outer one.
    let keys: Vec<ResourceKey> = record::capture(|| recursive(&levels))
        .1
        .iter()
        .filter_map(|event| match event.kind {
            EventKind::LockAcquired { resource, .. } => Some(resource),
            _ => None,
        })
        .collect();
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0], keys[1]);
}

struct Holder<T> {
    value: Arc<RwLock<T>>,
}

impl<T: Clone + Default> Holder<T> {
    #[waitgraph::instrument]
    fn replace(&self, with: T) -> T {
        let old = self.value.read().unwrap().clone(); // @generic-read
        *self.value.write().unwrap() = with; // @generic-write
        old
    }
}

#[test]
fn methods_on_generic_types_are_instrumented_and_named_after_the_type() {
    let holder = Holder {
        value: Arc::new(RwLock::new(1u8)),
    };
    let mut old = 0;
    let events = captured(|| old = holder.replace(2));
    assert_eq!(old, 1);
    assert_eq!(*holder.value.read().unwrap(), 2);
    assert_eq!(
        events,
        [
            "enter attribute::replace".to_string(),
            format!(
                "acquire shared attribute::Holder::value @{}",
                line_of("@generic-read")
            ),
            "release shared attribute::Holder::value".into(),
            format!(
                "acquire exclusive attribute::Holder::value @{}",
                line_of("@generic-write")
            ),
            "release exclusive attribute::Holder::value".into(),
            "exit attribute::replace".into(),
        ]
    );
}

/// A generic function cannot know its lock type: its calls stay as written.
trait Lockish {
    fn lock(&self) -> u32;
}

impl Lockish for Mutex<u32> {
    fn lock(&self) -> u32 {
        *Mutex::lock(self).unwrap()
    }
}

#[waitgraph::instrument]
fn through_a_trait<L: Lockish>(lock: &L) -> u32 {
    lock.lock()
}

#[test]
fn calls_in_generic_functions_that_cannot_be_resolved_behave_as_written() {
    let m = Mutex::new(9);
    let mut value = 0;
    let events = captured(|| value = through_a_trait(&m));
    assert_eq!(value, 9);
    assert_eq!(
        events,
        [
            "enter attribute::through_a_trait",
            "exit attribute::through_a_trait"
        ]
    );
}

static GLOBAL: Mutex<u32> = Mutex::new(0);
static LAZY: std::sync::LazyLock<parking_lot::RwLock<Vec<u32>>> =
    std::sync::LazyLock::new(|| parking_lot::RwLock::new(vec![1]));

#[waitgraph::instrument]
fn statics_and_parking_lot_modes() -> usize {
    *GLOBAL.lock().unwrap() += 1;
    let upgradable = LAZY.upgradable_read();
    let len = upgradable.len();
    drop(upgradable);
    LAZY.write().push(2);
    let read = LAZY.try_read().map(|items| items.len());
    len + read.unwrap_or(0)
}

#[test]
fn statics_lazy_locks_and_parking_lot_modes() {
    let mut result = 0;
    let events = captured(|| result = statics_and_parking_lot_modes());
    assert!(result >= 3);
    let shape = without_sites(&events);
    assert_eq!(
        shape,
        [
            "enter attribute::statics_and_parking_lot_modes",
            "acquire exclusive attribute::GLOBAL",
            "release exclusive attribute::GLOBAL",
            "acquire upgradable attribute::LAZY",
            "release upgradable attribute::LAZY",
            "acquire exclusive attribute::LAZY",
            "release exclusive attribute::LAZY",
            "acquire shared attribute::LAZY",
            "release shared attribute::LAZY",
            "exit attribute::statics_and_parking_lot_modes",
        ]
    );
}

#[waitgraph::instrument]
fn waitgraph_primitives(m: &waitgraph::sync::Mutex<u32>) -> u32 {
    let guard = m.lock(); // @native-lock
    *guard
}

#[test]
fn waitgraph_primitives_record_through_their_own_hooks_once() {
    let m = waitgraph::sync::Mutex::named("native", 4);
    let mut value = 0;
    let events = captured(|| value = waitgraph_primitives(&m));
    assert_eq!(value, 4);
    assert_eq!(
        events,
        [
            "enter attribute::waitgraph_primitives".to_string(),
            format!("acquire exclusive native @{}", line_of("@native-lock")),
            "release exclusive native".into(),
            "exit attribute::waitgraph_primitives".into(),
        ]
    );
}

#[waitgraph::instrument]
fn channels_barrier_and_join(tx: &mpsc::SyncSender<u32>, rx: &mpsc::Receiver<u32>) -> u32 {
    tx.send(1).unwrap();
    let first = rx.recv().unwrap();
    let timed_out = rx.recv_timeout(Duration::from_millis(1)).is_err();
    let barrier = std::sync::Barrier::new(1);
    barrier.wait();
    let worker = std::thread::spawn(|| 2);
    first + worker.join().unwrap() + u32::from(timed_out)
}

#[test]
fn channels_barriers_and_joins_publish_their_waits() {
    let (tx, rx) = mpsc::sync_channel(1);
    let mut result = 0;
    let events = captured(|| result = channels_barrier_and_join(&tx, &rx));
    assert_eq!(result, 4);
    let shape = without_sites(&events);
    let function = "attribute::channels_barrier_and_join";
    assert_eq!(shape[0], format!("enter {function}"));
    assert_eq!(shape[1], format!("send {function}::tx"));
    // A value was queued: the receive did not wait.
    assert_eq!(shape[2], format!("wait recv (timed) {function}::rx"));
    assert_eq!(shape[3], "end TimedOut");
    assert_eq!(shape[4], format!("arrive {function}::barrier"));
    assert_eq!(shape[5], format!("wait barrier-wait {function}::barrier"));
    assert_eq!(shape[6], "end Woken");
    // The joined thread may already be done (no wait), or not.
    assert_eq!(shape.last().unwrap(), &format!("exit {function}"));
}

// ---- calls on other types: as written, no event ----------------------------------

/// A wrapper with its own `lock()` that also derefs to a mutex: its own method wins, as
/// without the attribute.
struct Wrapper(Mutex<u32>);

impl std::ops::Deref for Wrapper {
    type Target = Mutex<u32>;
    fn deref(&self) -> &Mutex<u32> {
        &self.0
    }
}

impl Wrapper {
    fn lock(&self) -> &'static str {
        "the wrapper's own lock"
    }
}

/// A receiver that needs `&mut self` for `recv` (like an async channel's).
struct MutReceiver(Vec<u32>);

impl MutReceiver {
    fn recv(&mut self) -> Option<u32> {
        self.0.pop()
    }
}

macro_rules! same_named_methods {
    ($name:ident, $($attribute:tt)*) => {
        $($attribute)*
        fn $name(wrapper: &Wrapper, receiver: &mut MutReceiver) -> Vec<String> {
            let mut seen = Vec::new();
            let stdout = std::io::stdout();
            let mut locked = stdout.lock();
            locked.flush().unwrap();
            drop(locked);
            seen.push(format!("{:?}", std::io::stdin().lock().fill_buf_len()));
            let path = std::path::Path::new("/tmp").join("waitgraph");
            seen.push(path.display().to_string());
            let mut buffer: Vec<u8> = Vec::new();
            let written = buffer.write(b"abc").unwrap();
            seen.push(format!("{written} {buffer:?}"));
            let mut child = std::process::Command::new("true").spawn().unwrap();
            seen.push(format!("{}", child.wait().unwrap().success()));
            seen.push(wrapper.lock().to_string());
            seen.push(format!("{:?} {:?}", receiver.recv(), receiver.recv()));
            let words = vec!["a", "b"].join("-");
            seen.push(words);
            seen
        }
    };
}

trait FillBufLen {
    fn fill_buf_len(&mut self) -> usize;
}

impl FillBufLen for std::io::StdinLock<'_> {
    fn fill_buf_len(&mut self) -> usize {
        0
    }
}

same_named_methods!(plain_corpus,);
same_named_methods!(instrumented_corpus, #[waitgraph::instrument]);

#[test]
fn same_named_methods_on_other_types_behave_exactly_as_without_the_attribute() {
    let wrapper = Wrapper(Mutex::new(0));
    let plain = plain_corpus(&wrapper, &mut MutReceiver(vec![1, 2]));
    let mut instrumented = Vec::new();
    let events =
        captured(|| instrumented = instrumented_corpus(&wrapper, &mut MutReceiver(vec![1, 2])));
    assert_eq!(plain, instrumented);
    assert_eq!(instrumented[4], "the wrapper's own lock");
    assert_eq!(
        events,
        [
            "enter attribute::instrumented_corpus",
            "exit attribute::instrumented_corpus"
        ]
    );
}

#[waitgraph::instrument]
fn upgrade_on_parking_lot_011(table: &parking_lot_011::RwLock<Vec<u32>>) -> usize {
    let seen = table.upgradable_read();
    let mut table = parking_lot_011::RwLockUpgradableReadGuard::upgrade(seen);
    table.push(1);
    let table = parking_lot_011::RwLockWriteGuard::downgrade(table);
    table.len()
}

#[test]
fn an_older_parking_lots_locks_and_transitions_are_recorded() {
    let table = parking_lot_011::RwLock::new(Vec::new());
    let mut len = 0;
    let events = captured(|| len = upgrade_on_parking_lot_011(&table));
    assert_eq!(len, 1);
    let lock = "attribute::upgrade_on_parking_lot_011::table";
    assert_eq!(
        without_sites(&events),
        [
            "enter attribute::upgrade_on_parking_lot_011".to_string(),
            format!("acquire upgradable {lock}"),
            format!("release upgradable {lock}"),
            format!("acquire exclusive {lock}"),
            format!("release exclusive {lock}"),
            format!("acquire shared {lock}"),
            format!("release shared {lock}"),
            "exit attribute::upgrade_on_parking_lot_011".to_string(),
        ]
    );
}

#[waitgraph::instrument]
fn through_the_wrappers_deref(wrapper: &Wrapper) -> u32 {
    use std::ops::Deref;
    let first = *wrapper.deref().lock().unwrap();
    first + *wrapper.0.lock().unwrap()
}

#[test]
fn a_wrappers_mutex_is_reached_by_dereferencing_it_or_by_its_field() {
    let wrapper = Wrapper(Mutex::new(2));
    let mut value = 0;
    let events = captured(|| value = through_the_wrappers_deref(&wrapper));
    assert_eq!(value, 4);
    let acquires = events
        .iter()
        .filter(|e| e.starts_with("acquire exclusive"))
        .count();
    assert_eq!(acquires, 2, "{events:#?}");
}

#[waitgraph::instrument]
fn opted_out(m: &Mutex<u32>) -> std::sync::MutexGuard<'_, u32> {
    waitgraph::uninstrumented!(m.lock()).unwrap()
}

#[test]
fn an_opted_out_expression_keeps_its_type_and_keeps_no_hold() {
    let m = Mutex::new(3);
    let mut value = 0;
    let events = captured(|| value = *opted_out(&m));
    assert_eq!(value, 3);
    // The acquire is seen (a wait, had it blocked, would be published), its hold is let
    // go at once: the guard leaves as std's type, out of the probe's sight.
    assert_eq!(
        without_sites(&events),
        [
            "enter attribute::opted_out",
            "acquire exclusive attribute::opted_out::m",
            "release exclusive attribute::opted_out::m",
            "exit attribute::opted_out"
        ]
    );
}

#[waitgraph::instrument]
fn inside_macros(m: &Mutex<u32>) -> String {
    assert_eq!(*m.lock().unwrap(), 1);
    format!("{}", *m.lock().unwrap())
}

#[test]
fn calls_inside_expression_macros_are_instrumented() {
    let m = Mutex::new(1);
    let mut text = String::new();
    let events = captured(|| text = inside_macros(&m));
    assert_eq!(text, "1");
    let acquires = events
        .iter()
        .filter(|line| line.starts_with("acquire"))
        .count();
    assert_eq!(acquires, 2, "{events:?}");
}

// ---- roles ---------------------------------------------------------------------------

#[waitgraph::instrument(name = "host::take_gil", acquires = "host-gil")]
fn take_gil() {}

#[waitgraph::instrument(releases = "host-gil")]
fn give_gil_back() {}

#[test]
fn acquires_and_releases_hold_a_named_resource_across_functions() {
    let events = captured(|| {
        take_gil();
        give_gil_back();
    });
    let shape = without_sites(&events);
    assert_eq!(
        shape,
        [
            "enter host::take_gil",
            "wait lock host-gil",
            "end Woken",
            "acquire exclusive host-gil",
            "exit host::take_gil",
            "enter attribute::give_gil_back",
            "release exclusive host-gil",
            "exit attribute::give_gil_back",
        ]
    );
}

#[waitgraph::instrument(job = "attribute-workers")]
fn a_job() {}

#[waitgraph::instrument(schedules = "attribute-workers")]
fn schedule_a_job() {}

#[waitgraph::instrument(waits_for = "attribute-exit")]
fn spin_on_exit(barrier: &waitgraph::sync::Barrier) {
    while barrier.generation() == 0 {
        std::thread::yield_now();
    }
}

#[test]
fn job_schedules_and_waits_for_name_the_executor_and_the_target() {
    let workers = waitgraph::sync::Executor::new("attribute-workers");
    let events = captured(|| {
        schedule_a_job();
        a_job();
    });
    let shape = without_sites(&events);
    assert_eq!(
        shape,
        [
            "enter attribute::schedule_a_job",
            "queued attribute-workers",
            "exit attribute::schedule_a_job",
            "enter attribute::a_job",
            // The `job` role: the thread serves the executor from now on.
            "enroll attribute-workers",
            "started attribute-workers",
            "finished attribute-workers",
            "exit attribute::a_job",
        ]
    );
    // The job role made this thread a worker of the program's own executor.
    assert_eq!(workers.workers(), 1);

    let exit = waitgraph::sync::Barrier::named("attribute-exit", 1);
    let events = captured(|| {
        exit.wait();
        spin_on_exit(&exit);
    });
    assert!(
        events
            .iter()
            .any(|line| line.starts_with("wait spin-wait attribute-exit")),
        "{events:?}"
    );
}

#[waitgraph::instrument]
fn locks_in_conditions(m: &Mutex<Vec<u32>>) -> bool {
    if m.lock().unwrap().is_empty() {
        return false;
    }
    while m.lock().unwrap().len() > 1 {
        m.lock().unwrap().pop();
    }
    let first = m.lock().unwrap().first().copied();
    first == Some(1)
}

#[test]
fn locks_in_conditions_are_taken_and_released_per_evaluation() {
    let m = Mutex::new(vec![1, 2, 3]);
    let mut result = false;
    let events = captured(|| result = locks_in_conditions(&m));
    assert!(result);
    let acquires = events
        .iter()
        .filter(|line| line.starts_with("acquire"))
        .count();
    let releases = events
        .iter()
        .filter(|line| line.starts_with("release"))
        .count();
    // is_empty, three loop checks, two pops, first.
    assert_eq!((acquires, releases), (7, 7), "{events:?}");
}

#[waitgraph::instrument]
fn timed_condition_waits(
    std_state: &(Mutex<u32>, Condvar),
    pl_state: &(parking_lot::Mutex<u32>, parking_lot::Condvar),
    checks: &mut u32,
) -> (bool, bool, bool) {
    let short = Duration::from_millis(5);
    // Never waits: the condition is false at once.
    let guard = std_state.0.lock().unwrap();
    let (guard, ready) = std_state
        .1
        .wait_timeout_while(guard, short, |_| false)
        .unwrap();
    drop(guard);
    // Waits until the timeout: the condition stays true.
    let guard = std_state.0.lock().unwrap();
    let (_guard, std_outcome) = std_state
        .1
        .wait_timeout_while(guard, short, |_| {
            *checks += 1;
            true
        })
        .unwrap();
    let mut guard = pl_state.0.lock();
    let pl_outcome = pl_state.1.wait_while_for(&mut guard, |_| true, short);
    let until = pl_state
        .1
        .wait_until(&mut guard, std::time::Instant::now() + short);
    (
        !ready.timed_out() && std_outcome.timed_out(),
        pl_outcome.timed_out(),
        until.timed_out(),
    )
}

#[test]
fn timed_condition_waits_publish_only_when_they_wait_and_run_the_condition_as_often() {
    let std_state = (Mutex::new(0), Condvar::new());
    let pl_state = (parking_lot::Mutex::new(0), parking_lot::Condvar::new());
    let mut checks = 0;
    let mut outcome = (false, false, false);
    let events = captured(|| outcome = timed_condition_waits(&std_state, &pl_state, &mut checks));
    assert_eq!(outcome, (true, true, true));
    // std checks once before each wait and once after the last: at least twice.
    assert!(checks >= 2, "{checks}");
    let shape = without_sites(&events);
    let std_lock = "attribute::timed_condition_waits::std_state.0";
    let std_condvar = "attribute::timed_condition_waits::std_state.1";
    let pl_lock = "attribute::timed_condition_waits::pl_state.0";
    let pl_condvar = "attribute::timed_condition_waits::pl_state.1";
    let expected = [
        "enter attribute::timed_condition_waits".to_string(),
        format!("acquire exclusive {std_lock}"),
        format!("release exclusive {std_lock}"),
        format!("acquire exclusive {std_lock}"),
        format!("release exclusive {std_lock}"),
        format!("wait condvar-wait (timed) {std_condvar}"),
        "end TimedOut".into(),
        format!("acquire exclusive {std_lock}"),
        format!("acquire exclusive {pl_lock}"),
        format!("release exclusive {pl_lock}"),
        format!("wait condvar-wait (timed) {pl_condvar}"),
        "end TimedOut".into(),
        format!("acquire exclusive {pl_lock}"),
        format!("release exclusive {pl_lock}"),
        format!("wait condvar-wait (timed) {pl_condvar}"),
        "end TimedOut".into(),
        format!("acquire exclusive {pl_lock}"),
        format!("release exclusive {pl_lock}"),
        format!("release exclusive {std_lock}"),
        "exit attribute::timed_condition_waits".into(),
    ];
    assert_eq!(shape, expected);
}

#[waitgraph::instrument]
fn guard_transitions(
    lock: &parking_lot::RwLock<Vec<u32>>,
    m: &parking_lot::Mutex<(u32, u32)>,
) -> u32 {
    use parking_lot::{RwLockUpgradableReadGuard, RwLockWriteGuard};
    let upgradable = lock.upgradable_read();
    let mut write = RwLockUpgradableReadGuard::upgrade(upgradable); // @upgrade
    write.push(3);
    let read = RwLockWriteGuard::downgrade(write);
    let len = read.len() as u32;
    drop(read);
    let pair = m.lock();
    let value = pair.1;
    drop(pair);
    // Not a guard: as written.
    let weak = std::sync::Arc::downgrade(&std::sync::Arc::new(1));
    assert!(weak.upgrade().is_none());
    len * 2 + value
}

#[waitgraph::instrument]
fn native_condvar_with_a_condition(
    state: &(waitgraph::sync::Mutex<u32>, waitgraph::sync::Condvar),
) -> u32 {
    let mut guard = state.0.lock();
    state.1.wait_while(&mut guard, |value| *value == 0);
    *guard
}

#[test]
fn a_condition_closure_on_a_native_condvar_is_typed_as_written() {
    let state = (
        waitgraph::sync::Mutex::new(5),
        waitgraph::sync::Condvar::new(),
    );
    assert_eq!(native_condvar_with_a_condition(&state), 5);
}

#[test]
fn parking_lot_guard_transitions_move_the_hold_with_the_guard() {
    let lock = parking_lot::RwLock::new(vec![1, 2]);
    let m = parking_lot::Mutex::new((0, 7));
    let mut result = 0;
    let events = captured(|| result = guard_transitions(&lock, &m));
    assert_eq!(result, 13);
    assert_eq!(lock.read().len(), 3);
    let shape = without_sites(&events);
    let rw = "attribute::guard_transitions::lock";
    let mutex = "attribute::guard_transitions::m";
    assert_eq!(
        shape,
        [
            "enter attribute::guard_transitions".to_string(),
            format!("acquire upgradable {rw}"),
            format!("release upgradable {rw}"),
            format!("acquire exclusive {rw}"),
            format!("release exclusive {rw}"),
            format!("acquire shared {rw}"),
            format!("release shared {rw}"),
            format!("acquire exclusive {mutex}"),
            format!("release exclusive {mutex}"),
            "exit attribute::guard_transitions".into(),
        ]
    );
    let upgrade = events
        .iter()
        .find(|line| line.starts_with("acquire exclusive"))
        .unwrap();
    assert!(
        upgrade.ends_with(&format!("@{}", line_of("@upgrade"))),
        "{upgrade}"
    );
}

// ---- code that names the original guard types keeps compiling ----------------------------

/// A wrapper trait over `RwLock`, every function annotated: its methods return std's
/// guard types.
trait ReadWrite<T> {
    fn rl(&self) -> std::sync::RwLockReadGuard<'_, T>;
    fn wl(&self) -> std::sync::RwLockWriteGuard<'_, T>;
}

impl<T> ReadWrite<T> for RwLock<T> {
    #[waitgraph::instrument]
    fn rl(&self) -> std::sync::RwLockReadGuard<'_, T> {
        self.read().unwrap()
    }

    #[waitgraph::instrument]
    fn wl(&self) -> std::sync::RwLockWriteGuard<'_, T> {
        let guard = self
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        guard
    }
}

/// Takes the guard by value, as its parameter type says.
#[waitgraph::instrument]
fn add_one(mut guard: std::sync::MutexGuard<'_, u32>) -> std::sync::MutexGuard<'_, u32> {
    *guard += 1;
    guard
}

/// Waits until the value is even, threading the guard through a wait of its own.
#[waitgraph::instrument]
fn wait_until_even<'a>(
    mut guard: std::sync::MutexGuard<'a, u32>,
    changed: &Condvar,
) -> std::sync::MutexGuard<'a, u32> {
    while *guard % 2 == 1 {
        guard = changed.wait(guard).unwrap();
    }
    guard
}

#[waitgraph::instrument]
fn guards_through_std_typed_positions(
    counter: &Mutex<u32>,
    changed: &Condvar,
    table: &RwLock<Vec<u32>>,
) -> u32 {
    let guard = counter.lock().unwrap(); // @handed-over-lock
    let guard = add_one(guard);
    let guard = wait_until_even(guard, changed);
    let spare = Mutex::new(0);
    let typed: std::sync::MutexGuard<'_, u32> = spare.lock().unwrap();
    drop(typed);
    table.wl().push(*guard);
    let value = *guard + table.rl().len() as u32;
    drop(guard);
    // The attribute's own guard still works where nothing names a type.
    let own = counter.lock().unwrap(); // @own-guard
    value + *own
}

#[test]
fn guards_flowing_into_std_typed_positions_compile_and_record_their_waits_only() {
    let (counter, changed, table) = (Mutex::new(1), Condvar::new(), RwLock::new(Vec::new()));
    let mut value = 0;
    let events =
        captured(|| value = guards_through_std_typed_positions(&counter, &changed, &table));
    assert_eq!(value, 2 + 1 + 2);
    assert_eq!(*table.read().unwrap(), [2]);
    let counter_name = "attribute::guards_through_std_typed_positions::counter";
    // The first guard was handed over to `add_one`: its hold left the record there.
    let first = events
        .iter()
        .position(|e| {
            e == &format!(
                "acquire exclusive {counter_name} @{}",
                line_of("@handed-over-lock")
            )
        })
        .expect("the first acquire is recorded");
    assert_eq!(
        events[first + 1],
        format!("release exclusive {counter_name}")
    );
    assert_eq!(events[first + 2], "enter attribute::add_one");
    // The guard kept under its own type is held until it drops.
    let own = events
        .iter()
        .position(|e| {
            e == &format!(
                "acquire exclusive {counter_name} @{}",
                line_of("@own-guard")
            )
        })
        .expect("the last acquire is recorded");
    assert_eq!(events[own + 1], format!("release exclusive {counter_name}"));
    assert_eq!(
        events[own + 2],
        "exit attribute::guards_through_std_typed_positions"
    );
    // Nothing is believed held at the end.
    let held: i32 = events
        .iter()
        .map(|e| i32::from(e.starts_with("acquire ")) - i32::from(e.starts_with("release ")))
        .sum();
    assert_eq!(held, 0, "{events:#?}");
}

#[waitgraph::instrument]
fn acquire_passed_straight_to_a_std_typed_parameter(counter: &Mutex<u32>) -> u32 {
    let bumped = add_one(counter.lock().unwrap());
    let value = *bumped;
    drop(bumped);
    let holder = (counter.lock().unwrap(), 1);
    value + *holder.0
}

#[test]
fn an_acquire_passed_straight_to_a_std_typed_parameter_is_handed_over() {
    let counter = Mutex::new(1);
    let mut value = 0;
    let events = captured(|| value = acquire_passed_straight_to_a_std_typed_parameter(&counter));
    assert_eq!(value, 4);
    let name = "attribute::acquire_passed_straight_to_a_std_typed_parameter::counter";
    assert_eq!(
        without_sites(&events)[..4],
        [
            "enter attribute::acquire_passed_straight_to_a_std_typed_parameter".to_string(),
            format!("acquire exclusive {name}"),
            format!("release exclusive {name}"),
            "enter attribute::add_one".to_string(),
        ]
    );
    // The guard in the tuple (no type written) stays the attribute's: held to the end.
    let last: Vec<&str> = without_sites(&events).into_iter().rev().take(3).collect();
    assert_eq!(
        last,
        [
            "exit attribute::acquire_passed_straight_to_a_std_typed_parameter",
            &format!("release exclusive {name}"),
            &format!("acquire exclusive {name}"),
        ]
    );
}

// ---- on an `impl` block --------------------------------------------------------------

struct Ledger {
    entries: Mutex<Vec<u32>>,
}

#[waitgraph::instrument]
impl Ledger {
    fn add(&self, value: u32) {
        self.entries.lock().unwrap().push(value);
    }

    #[waitgraph::instrument(name = "ledger-total")]
    fn total(&self) -> u32 {
        self.entries.lock().unwrap().iter().sum()
    }

    const fn zero() -> u32 {
        0
    }
}

#[test]
fn on_an_impl_block_every_method_is_named_after_its_type() {
    let ledger = Ledger {
        entries: Mutex::new(Vec::new()),
    };
    let events = captured(|| {
        ledger.add(Ledger::zero() + 2);
        assert_eq!(ledger.total(), 2);
    });
    let entered: Vec<&String> = events.iter().filter(|e| e.starts_with("enter ")).collect();
    // A method's own arguments still apply (`name`).
    assert_eq!(
        entered,
        ["enter attribute::Ledger::add", "enter ledger-total"]
    );
    assert!(
        events.iter().any(|e| e.starts_with("acquire")),
        "{events:?}"
    );
}

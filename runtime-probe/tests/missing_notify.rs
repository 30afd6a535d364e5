//! A std condvar nothing will notify, while other threads still run (so the whole-process
//! rule cannot call it a deadlock): warned about as a stall past the threshold when no
//! instrumented code anywhere in the program notifies a condvar like it (the attribute
//! gathers every notify site at link time), and never when some function does, even one
//! that has not run yet (an idle pool's workers before the first job) or a closure on
//! another thread. Each program runs in a child process with a deadline.
//!
//! A file of its own: the rule is per crate (a notify on `pair.1` in a module reaches
//! every condvar of that module), and the other test files notify all sorts of things.

mod support;

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use support::*;

const DEADLINE: Duration = Duration::from_secs(20);
/// What a hang must be reported within, from the wait's start.
const REPORTED_WITHIN: Duration = Duration::from_secs(2);
/// How long the correct programs keep their threads waiting: past the 1 s threshold.
const LONGER_THAN_THE_THRESHOLD: Duration = Duration::from_millis(1_500);

#[test]
#[ignore = "entry point of the child processes the other tests start"]
fn child() {
    serve_child(|scenario| match scenario {
        "never_notified_beside_a_sleeper" => stalls_beside_a_sleeper(wait_for_the_start),
        "only_the_other_condvar_notified" => stalls_beside_a_sleeper(wait_for_the_end),
        "pool_idle_before_its_first_job" => pool_idle_before_its_first_job(),
        "notified_late_through_a_tuple_field" => tuple_field::notified_late(),
        "notified_late_from_another_module" => notified_late_from_another_module(),
        other => panic!("unknown scenario {other}"),
    });
}

/// Runs `body` on a thread named `hangs` while another thread sleeps in a loop (so some
/// thread can always act), for longer than the stall threshold, then completes.
fn stalls_beside_a_sleeper(body: fn()) -> bool {
    spawn("ticker", || loop {
        std::thread::sleep(Duration::from_millis(50));
    });
    spawn("hangs", body);
    std::thread::sleep(Duration::from_millis(1_600));
    true
}

/// The child's stall warning: `hangs` waits for `resource`, reported in time, with the
/// hint that nothing notifies it; never more than a stall.
fn warned_unnotified(scenario: &str, resource: &str) {
    let outcome = run_child("child", scenario, DEADLINE);
    let stderr = &outcome.child.stderr;
    let warning = outcome.stall_warning();
    assert!(warning.contains("`hangs`"), "{warning}");
    assert!(warning.contains(resource), "{warning}");
    assert!(
        warning.contains("no instrumented function notifies a condvar like it"),
        "{warning}"
    );
    let waited: u64 = warning
        .split("has waited ")
        .nth(1)
        .and_then(|rest| rest.split(" ms").next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("how long it waited: {warning}"));
    assert!(
        Duration::from_millis(waited) <= REPORTED_WITHIN,
        "reported after {waited} ms"
    );
    assert!(
        !stderr.contains("unexpected finding: deadlock"),
        "never a deadlock (a thread that runs may notify): {}",
        outcome.child
    );
}

// ---- hangs ------------------------------------------------------------------------------

/// A start signal nothing ever gives: no code notifies `go`.
static STARTED: Mutex<bool> = Mutex::new(false);
static GO: Condvar = Condvar::new();

#[waitgraph::instrument]
fn wait_for_the_start() {
    let mut started = STARTED.lock().unwrap();
    while !*started {
        started = GO.wait(started).unwrap();
    }
}

/// Two condvars, only one of which is ever notified.
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
    closed: Condvar,
}

static GATE: Gate = Gate {
    open: Mutex::new(false),
    opened: Condvar::new(),
    closed: Condvar::new(),
};

impl Gate {
    #[waitgraph::instrument]
    fn open_then_wait_closed(&self) {
        let mut open = self.open.lock().unwrap();
        *open = true;
        self.opened.notify_all();
        // The code that closes the gate forgot to notify `closed`.
        while *open {
            open = self.closed.wait(open).unwrap();
        }
    }
}

fn wait_for_the_end() {
    GATE.open_then_wait_closed();
}

#[test]
fn a_condvar_no_code_notifies_is_a_stall_while_other_threads_run() {
    warned_unnotified("never_notified_beside_a_sleeper", "GO");
}

#[test]
fn a_condvar_whose_sibling_is_notified_but_not_itself_is_a_stall() {
    warned_unnotified("only_the_other_condvar_notified", "closed");
}

// ---- correct programs -------------------------------------------------------------------

/// A pool on std primitives: workers idle on `queued` until `submit`, which has not run
/// yet when they have waited past the threshold.
#[derive(Default)]
struct Pool {
    queue: Mutex<Vec<u32>>,
    queued: Condvar,
}

impl Pool {
    #[waitgraph::instrument]
    fn take(&self) -> u32 {
        let mut queue = self.queue.lock().unwrap();
        loop {
            if let Some(job) = queue.pop() {
                return job;
            }
            queue = self.queued.wait(queue).unwrap();
        }
    }

    #[waitgraph::instrument]
    fn submit(&self, job: u32) {
        self.queue.lock().unwrap().push(job);
        self.queued.notify_one();
    }
}

fn pool_idle_before_its_first_job() -> bool {
    let pool = Arc::new(Pool::default());
    let workers: Vec<_> = (0..2)
        .map(|i| {
            let pool = pool.clone();
            spawn(&format!("worker-{i}"), move || assert!(pool.take() < 2))
        })
        .collect();
    std::thread::sleep(LONGER_THAN_THE_THRESHOLD);
    pool.submit(0);
    pool.submit(1);
    for worker in workers {
        worker.join().unwrap();
    }
    true
}

#[test]
fn workers_idle_before_the_first_job_are_not_a_stall() {
    run_child("child", "pool_idle_before_its_first_job", DEADLINE).assert_clean();
}

/// In a module of its own: a notify on a tuple field (`pair.1`) may reach any condvar
/// of its module.
mod tuple_field {
    use super::*;

    #[waitgraph::instrument]
    fn wait_for_the_flag(pair: &(Mutex<bool>, Condvar)) {
        let (flag, cvar) = pair;
        let mut set = flag.lock().unwrap();
        while !*set {
            set = cvar.wait(set).unwrap();
        }
    }

    #[waitgraph::instrument]
    fn set_the_flag_later(pair: Arc<(Mutex<bool>, Condvar)>) {
        std::thread::spawn(move || {
            std::thread::sleep(LONGER_THAN_THE_THRESHOLD);
            *pair.0.lock().unwrap() = true;
            pair.1.notify_one();
        });
    }

    pub fn notified_late() -> bool {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        set_the_flag_later(pair.clone());
        wait_for_the_flag(&pair);
        true
    }
}

#[test]
fn a_condvar_notified_late_through_a_tuple_field_is_not_a_stall() {
    // The waiter names it `cvar`, the notifier `pair.1`, from a closure on another thread.
    run_child("child", "notified_late_through_a_tuple_field", DEADLINE).assert_clean();
}

mod replies {
    use super::*;

    /// Answers after a while, in a module of its own, naming the condvar as the waiter does.
    #[waitgraph::instrument]
    pub fn answer_later(reply: &(Mutex<Option<u32>>, Condvar)) {
        std::thread::sleep(LONGER_THAN_THE_THRESHOLD);
        let (slot, answered) = reply;
        *slot.lock().unwrap() = Some(42);
        answered.notify_all();
    }
}

#[waitgraph::instrument]
fn await_the_answer(reply: &(Mutex<Option<u32>>, Condvar)) -> u32 {
    let (slot, answered) = reply;
    let mut slot = slot.lock().unwrap();
    loop {
        if let Some(answer) = *slot {
            return answer;
        }
        slot = answered.wait(slot).unwrap();
    }
}

fn notified_late_from_another_module() -> bool {
    let reply = Arc::new((Mutex::new(None), Condvar::new()));
    let theirs = reply.clone();
    let answerer = spawn("answerer", move || replies::answer_later(&theirs));
    assert_eq!(await_the_answer(&reply), 42);
    answerer.join().unwrap();
    true
}

#[test]
fn a_condvar_notified_late_from_another_module_is_not_a_stall() {
    run_child("child", "notified_late_from_another_module", DEADLINE).assert_clean();
}

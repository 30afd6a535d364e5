//! A thread's slot lives exactly as long as the thread: nothing the program keeps can
//! reach it afterwards, and nothing a thread does while its thread-locals are torn down
//! leaves a slot behind. CI runs this file under AddressSanitizer too, where a write
//! to a freed slot is an error even when it happens to go unnoticed.
//!
//! (A context guard sent to another thread and dropped after its thread exited wrote to
//! the freed slot; the guard is no longer `Send`: see the `compile_fail` example on
//! `waitgraph::context::Entered`.)

use std::cell::RefCell;
use waitgraph::context::{self, Context, Entered};
use waitgraph::sync::Mutex;

static KEPT: Context = Context::new("kept past the slot", file!(), line!());
static LATE: Mutex<u32> = Mutex::named("taken during teardown", 0);

thread_local! {
    /// Touched before the thread's first event, so its destructor runs after the slot's
    /// owner has gone (thread-local destructors run in reverse order of registration).
    static KEEP: Keeper = const { Keeper(RefCell::new(None)) };
}

struct Keeper(RefCell<Option<Entered>>);

impl Drop for Keeper {
    fn drop(&mut self) {
        // An event of the exiting thread after its slot is gone...
        *LATE.lock() += 1;
        // ...and a guard dropped after it.
        self.0.borrow_mut().take();
    }
}

fn live_thread_names() -> Vec<String> {
    waitgraph::dump()
        .threads
        .into_iter()
        .map(|step| step.thread)
        .collect()
}

#[test]
fn a_guard_kept_in_a_thread_local_and_a_late_lock_leave_no_slot_behind() {
    for round in 0..20 {
        let name = format!("teardown-{round}");
        std::thread::Builder::new()
            .name(name.clone())
            .spawn(|| {
                KEEP.with(|_| ());
                let entered = context::enter(&KEPT);
                KEEP.with(|keep| *keep.0.borrow_mut() = Some(entered));
            })
            .unwrap()
            .join()
            .unwrap();
        let live = live_thread_names();
        assert!(
            !live.contains(&name),
            "{name} exited but is still a live thread: {live:?}"
        );
    }
    assert_eq!(*LATE.lock(), 20, "every late lock was taken");
}

#[test]
fn contexts_pop_on_the_thread_that_pushed_them() {
    static OUTER: Context = Context::new("outer", file!(), line!());
    static INNER: Context = Context::new("inner", file!(), line!());
    let outer = context::enter(&OUTER);
    {
        let _inner = context::enter(&INNER);
    }
    let lock = Mutex::new(());
    let ((), events) = waitgraph::record::capture(|| drop(lock.lock()));
    let site = events[0].site.as_ref().expect("an acquire has a site");
    assert_eq!(site.function.as_deref(), Some("outer"));
    drop(outer);
}

//! Each thread's slot: what it holds, what it waits for, where it is. The owning thread
//! is the only writer of the held table and the context stack (plain relaxed stores);
//! the watchdog reads them from outside and may see a torn view, which is why a deadlock
//! is confirmed only by two scans that agree (see [`super::watchdog`]).
//!
//! | field | written by | read by | synchronisation |
//! |---|---|---|---|
//! | `held`, `held_len` | owner, on acquire / release | watchdog | relaxed stores, `Release` on the length |
//! | `contexts`, `context_len` | owner, on function enter / exit | watchdog | as above |
//! | `wait` | owner, before it blocks and after | watchdog | a per-slot mutex, held for a copy only |
//! | `wait_epoch` | owner, once per wait | watchdog | relaxed: equality across scans is all it means |
//! | `backtrace_wanted` / `backtrace` | watchdog asks, owner answers | watchdog | atomic flag, mutex |
//! | `lone_chain`, `lone_generation`, `lone_unsent` | owner, when prediction takes a lock with none held | owner only | relaxed (atomics only so the slot can be shared) |

use crate::model::Context;
use crate::model::{LockMode, ResourceKey, ThreadKey, WaitKind};
use parking_lot::Mutex;
use std::cell::Cell;
use std::panic::Location;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::time::Instant;

/// How many locks one thread can hold at once and still be fully seen. Beyond it the
/// extra holds are counted as a probe error and left out (a missed edge, never a false one).
pub const HELD_CAPACITY: usize = 32;
/// How deep the function-context stack is kept.
pub const CONTEXT_CAPACITY: usize = 32;

const MODE_SHIFT: u32 = 62;

/// What a blocked thread published before it blocked.
#[derive(Clone, Copy, Debug)]
pub struct WaitRecord {
    pub resource: ResourceKey,
    pub kind: WaitKind,
    pub site: &'static Location<'static>,
    pub since: Instant,
    /// The wait ends by itself (a timeout): it can stall, never deadlock.
    pub timed: bool,
    pub epoch: u64,
    /// The resource's state when the wait began (a condvar's notification count, a
    /// barrier's round): once it has moved on, the wait is over even if the thread has
    /// not run yet to clear this record.
    pub token: u64,
}

/// One lock held, as the owner wrote it.
#[derive(Clone, Copy, Debug)]
pub struct HeldEntry {
    pub resource: ResourceKey,
    pub mode: LockMode,
    pub site: Option<&'static Location<'static>>,
}

/// One row of the held table: the resource and mode packed in one word, and where it
/// was acquired, side by side so a push touches one cache line.
struct HeldCell {
    word: AtomicU64,
    site: AtomicPtr<Location<'static>>,
}

/// The owner's hot fields first, on their own cache line: the table length and the first
/// rows of the table.
#[repr(C, align(64))]
pub struct ThreadSlot {
    held_len: AtomicUsize,
    held: [HeldCell; HELD_CAPACITY],
    pub key: ThreadKey,
    pub name: Option<String>,
    /// std's id of the thread (what parking_lot's own deadlock check names).
    pub os_thread: std::thread::ThreadId,
    /// The operating system's id of the thread, where the platform says it (the
    /// watchdog's whole-process rule compares it with the process's thread list).
    pub os_id: Option<u64>,
    pub alive: AtomicBool,
    held_overflow: AtomicUsize,
    contexts: [AtomicPtr<Context>; CONTEXT_CAPACITY],
    context_len: AtomicUsize,
    wait: Mutex<Option<WaitRecord>>,
    wait_epoch: AtomicU64,
    backtrace_wanted: AtomicBool,
    backtrace: Mutex<Option<Arc<str>>>,
    /// In-process prediction's shortcut (`record::chains`): the lock (packed, 0 for
    /// none) whose chain with nothing else held the prediction of recording
    /// `lone_generation` already has, and whether it is held now without having been
    /// sent. Taking it again with nothing held then costs three loads and a store.
    lone_chain: AtomicU64,
    lone_generation: AtomicU64,
    lone_unsent: AtomicBool,
}

fn pack(resource: ResourceKey, mode: LockMode) -> u64 {
    let mode = match mode {
        LockMode::Exclusive => 0,
        LockMode::Shared => 1,
        LockMode::Upgradable => 2,
    };
    resource.0 | (mode << MODE_SHIFT)
}

fn unpack(word: u64) -> (ResourceKey, LockMode) {
    let mode = match word >> MODE_SHIFT {
        0 => LockMode::Exclusive,
        1 => LockMode::Shared,
        _ => LockMode::Upgradable,
    };
    (ResourceKey(word & ((1 << MODE_SHIFT) - 1)), mode)
}

impl ThreadSlot {
    pub fn new(key: ThreadKey, name: Option<String>) -> ThreadSlot {
        ThreadSlot {
            key,
            name,
            os_thread: std::thread::current().id(),
            os_id: super::os_threads::current(),
            alive: AtomicBool::new(true),
            held: std::array::from_fn(|_| HeldCell {
                word: AtomicU64::new(0),
                site: AtomicPtr::new(ptr::null_mut()),
            }),
            held_len: AtomicUsize::new(0),
            held_overflow: AtomicUsize::new(0),
            contexts: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            context_len: AtomicUsize::new(0),
            wait: Mutex::new(None),
            wait_epoch: AtomicU64::new(0),
            backtrace_wanted: AtomicBool::new(false),
            backtrace: Mutex::new(None),
            lone_chain: AtomicU64::new(0),
            lone_generation: AtomicU64::new(0),
            lone_unsent: AtomicBool::new(false),
        }
    }

    /// The name reports use.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => format!("thread #{}", self.key.0),
        }
    }

    // ---- owner side -------------------------------------------------------------

    /// Records a hold. Returns false (and counts it) when the table is full.
    #[inline]
    pub fn push_held(
        &self,
        resource: ResourceKey,
        mode: LockMode,
        site: &'static Location<'static>,
    ) -> bool {
        let len = self.held_len.load(Relaxed);
        if len == HELD_CAPACITY {
            self.held_overflow.fetch_add(1, Relaxed);
            return false;
        }
        self.held[len].word.store(pack(resource, mode), Relaxed);
        self.held[len]
            .site
            .store(site as *const _ as *mut _, Relaxed);
        self.held_len.store(len + 1, Release);
        true
    }

    /// Whether taking `resource` in `mode` now repeats the lone chain the prediction of
    /// recording `generation` has (nothing else held): then it is kept back, unsent.
    #[inline]
    pub fn repeats_lone_chain(
        &self,
        resource: ResourceKey,
        mode: LockMode,
        generation: u64,
    ) -> bool {
        let repeat = self.held_len.load(Relaxed) == 0
            && self.lone_chain.load(Relaxed) == pack(resource, mode)
            && self.lone_generation.load(Relaxed) == generation;
        if repeat {
            self.lone_unsent.store(true, Relaxed);
        }
        repeat
    }

    /// Whether releasing `resource` in `mode` ends a hold kept back by
    /// [`repeats_lone_chain`](Self::repeats_lone_chain): then its release is not sent either.
    #[inline]
    pub fn ends_unsent_lone_hold(&self, resource: ResourceKey, mode: LockMode) -> bool {
        let unsent =
            self.lone_unsent.load(Relaxed) && self.lone_chain.load(Relaxed) == pack(resource, mode);
        if unsent {
            self.lone_unsent.store(false, Relaxed);
        }
        unsent
    }

    /// The prediction of recording `generation` now has the chain of `resource` in `mode`
    /// taken with nothing else held.
    pub fn remember_lone_chain(&self, resource: ResourceKey, mode: LockMode, generation: u64) {
        self.lone_chain.store(pack(resource, mode), Relaxed);
        self.lone_generation.store(generation, Relaxed);
    }

    /// The hold kept back by [`repeats_lone_chain`](Self::repeats_lone_chain), if it is
    /// still held: no longer kept back (the caller sends it or tracks it).
    pub fn take_unsent_lone_hold(
        &self,
    ) -> Option<(ResourceKey, LockMode, Option<&'static Location<'static>>)> {
        // A load first: this runs before every other event of a predicting thread, and
        // only the owner writes the flag, so no read-modify-write is needed.
        if !self.lone_unsent.load(Relaxed) {
            return None;
        }
        self.lone_unsent.store(false, Relaxed);
        let (resource, mode) = unpack(self.lone_chain.load(Relaxed));
        // SAFETY: only `&'static Location` pointers are ever stored.
        let site = unsafe { self.held[0].site.load(Relaxed).as_ref() };
        Some((resource, mode, site))
    }

    /// Forgets the most recent hold of `resource` in `mode`.
    #[inline]
    pub fn pop_held(&self, resource: ResourceKey, mode: LockMode) {
        let word = pack(resource, mode);
        let len = self.held_len.load(Relaxed);
        // Locks are mostly released in the reverse order of their acquisition.
        if len > 0 && len <= HELD_CAPACITY && self.held[len - 1].word.load(Relaxed) == word {
            self.held_len.store(len - 1, Release);
            return;
        }
        self.pop_held_out_of_order(word, len);
    }

    #[cold]
    fn pop_held_out_of_order(&self, word: u64, len: usize) {
        let len = len.min(HELD_CAPACITY);
        let mut index = len;
        while index > 0 {
            index -= 1;
            if self.held[index].word.load(Relaxed) == word {
                let last = len - 1;
                if index != last {
                    // Keep the order of the others: shift down (rare: out-of-order release).
                    for i in index..last {
                        self.held[i]
                            .word
                            .store(self.held[i + 1].word.load(Relaxed), Relaxed);
                        self.held[i]
                            .site
                            .store(self.held[i + 1].site.load(Relaxed), Relaxed);
                    }
                }
                self.held_len.store(last, Release);
                return;
            }
        }
    }

    /// Whether the thread holds a lock (owner side).
    #[inline]
    pub fn holds_any(&self) -> bool {
        self.held_len.load(Relaxed) > 0
    }

    /// Publishes a wait, before the thread blocks.
    pub fn begin_wait(
        &self,
        resource: ResourceKey,
        kind: WaitKind,
        site: &'static Location<'static>,
        timed: bool,
        token: u64,
    ) {
        let epoch = self.wait_epoch.fetch_add(1, Relaxed) + 1;
        *self.wait.lock() = Some(WaitRecord {
            resource,
            kind,
            site,
            since: Instant::now(),
            timed,
            epoch,
            token,
        });
    }

    pub fn end_wait(&self) {
        *self.wait.lock() = None;
    }

    /// Whether the thread is inside a declared wait (idle on an executor, waiting for a
    /// job's reply, for a named event): the primitive waits it makes inside (the queue's
    /// condvar, the reply channel) are how it waits, and the declaration, which knows
    /// more, stays the record.
    pub fn in_declared_wait(&self) -> bool {
        self.wait
            .lock()
            .is_some_and(|w| matches!(w.kind, WaitKind::Idle | WaitKind::Job | WaitKind::Event))
    }

    /// Called by a blocked thread between two slices of its wait: answers the watchdog's
    /// request for a backtrace, captured here since only a thread can walk its own stack.
    #[inline]
    pub fn serve_requests(&self) {
        if self.backtrace_wanted.load(Relaxed) {
            self.backtrace_wanted.store(false, Relaxed);
            let captured = std::backtrace::Backtrace::force_capture().to_string();
            *self.backtrace.lock() = Some(trim_probe_frames(&captured).into());
        }
    }

    pub fn push_context(&self, context: &'static Context) {
        let len = self.context_len.load(Relaxed);
        if len < CONTEXT_CAPACITY {
            self.contexts[len].store(context as *const _ as *mut _, Relaxed);
        }
        self.context_len.store(len + 1, Release);
    }

    /// The function the thread is in now, by its innermost context (owner side).
    pub fn innermost_context(&self) -> Option<&'static Context> {
        let len = self.context_len.load(Relaxed);
        if len == 0 || len > CONTEXT_CAPACITY {
            return None;
        }
        let context = self.contexts[len - 1].load(Relaxed);
        // SAFETY: only `&'static Context` pointers are ever stored.
        unsafe { context.as_ref() }
    }

    /// How many function contexts the thread is in (owner side).
    pub fn context_depth(&self) -> usize {
        self.context_len.load(Relaxed)
    }

    pub fn pop_context(&self) {
        let len = self.context_len.load(Relaxed);
        self.context_len.store(len.saturating_sub(1), Release);
    }

    // ---- watchdog side ----------------------------------------------------------

    pub fn held(&self) -> Vec<HeldEntry> {
        let len = self.held_len.load(Acquire).min(HELD_CAPACITY);
        (0..len)
            .map(|i| {
                let (resource, mode) = unpack(self.held[i].word.load(Relaxed));
                let site = self.held[i].site.load(Relaxed);
                // SAFETY: only `&'static Location` pointers are ever stored.
                let site = unsafe { site.as_ref() };
                HeldEntry {
                    resource,
                    mode,
                    site,
                }
            })
            .collect()
    }

    pub fn held_overflow(&self) -> usize {
        self.held_overflow.load(Relaxed)
    }

    pub fn wait(&self) -> Option<WaitRecord> {
        *self.wait.lock()
    }

    pub fn contexts(&self) -> Vec<&'static Context> {
        let len = self.context_len.load(Acquire).min(CONTEXT_CAPACITY);
        (0..len)
            .filter_map(|i| {
                let context = self.contexts[i].load(Relaxed);
                // SAFETY: only `&'static Context` pointers are ever stored.
                unsafe { context.as_ref() }
            })
            .collect()
    }

    pub fn request_backtrace(&self) {
        self.backtrace_wanted.store(true, Relaxed);
    }

    pub fn backtrace(&self) -> Option<Arc<str>> {
        self.backtrace.lock().clone()
    }

    pub fn clear_backtrace(&self) {
        *self.backtrace.lock() = None;
    }
}

/// Drops the frames of the probe's own wait loop from the top of a backtrace, so it
/// starts where the program called the primitive.
fn trim_probe_frames(backtrace: &str) -> String {
    let is_probe_frame = |line: &str| {
        let name = line
            .trim_start()
            .split_once(": ")
            .map_or("", |(_, name)| name);
        name.starts_with("waitgraph::probe::")
            || name.starts_with("waitgraph::sync::hooks::")
            || name.contains("::lock_blocking")
            || name.contains("::wait_inner")
            || name.starts_with("std::backtrace")
    };
    let lines: Vec<&str> = backtrace.lines().collect();
    // A frame is a numbered line plus its indented `at` lines.
    let mut start = 0;
    while start < lines.len() && is_probe_frame(lines[start]) {
        start += 1;
        while start < lines.len() && lines[start].trim_start().starts_with("at ") {
            start += 1;
        }
    }
    let mut trimmed = lines[start..].join("\n");
    trimmed.push('\n');
    trimmed
}

thread_local! {
    /// Fast access to this thread's slot; null until the thread first records something
    /// and again once its slot is retired at exit.
    static CURRENT: Cell<*const ThreadSlot> = const { Cell::new(ptr::null()) };
    /// Owns the slot and retires it when the thread exits.
    static OWNER: SlotOwner = const { SlotOwner { slot: Cell::new(None) } };
    /// The key the parent chose for this thread (0: none), taken at registration.
    static CHOSEN_KEY: Cell<u64> = const { Cell::new(0) };
}

/// Registers the current thread under `key`, chosen by its parent before it ran (see
/// `registry::new_thread_key`). Does nothing if the thread is registered already.
pub fn register_as(key: ThreadKey) {
    let _ = CHOSEN_KEY.try_with(|chosen| chosen.set(key.0));
    with_current(|_| ());
}

struct SlotOwner {
    slot: Cell<Option<Arc<ThreadSlot>>>,
}

impl Drop for SlotOwner {
    fn drop(&mut self) {
        // Cleared first: from here on `with_current` finds no slot, and `OWNER` can no
        // longer be reached, so no new slot is registered for this thread either.
        let _ = CURRENT.try_with(|current| current.set(ptr::null()));
        if let Some(slot) = self.slot.take() {
            super::registry::retire_thread(&slot);
        }
    }
}

// The slot is lent, never handed out: a reference exists only for the length of a
// closure on the thread that owns the slot, so nothing (a guard moved to another
// thread, a guard kept in a thread-local that outlives `OWNER`) can reach it after
// the thread has let go of it. Guards remember that they recorded something, not where.

/// Runs `f` on this thread's slot, registering the thread on first use. Returns `None`
/// without running `f` while the thread's thread-locals are being torn down: such late
/// events are not recorded (and leave no slot behind).
#[inline]
pub fn with_current<R>(f: impl FnOnce(&ThreadSlot) -> R) -> Option<R> {
    let slot = CURRENT.try_with(|current| current.get()).ok()?;
    if slot.is_null() {
        return register_current().map(|slot| f(&slot));
    }
    // SAFETY: a non-null `CURRENT` points into the `Arc` that `OWNER` keeps; `OWNER`
    // nulls `CURRENT` before it lets the `Arc` go, and only this thread reads or writes
    // either. The reference does not outlive this call, which runs on this thread and
    // cannot reach `OWNER`'s destructor.
    Some(f(unsafe { &*slot }))
}

#[cold]
fn register_current() -> Option<Arc<ThreadSlot>> {
    crate::record::start_from_environment();
    // Through `OWNER` first: once it is destroyed (thread-local teardown) nothing is
    // registered, so a late event cannot leave a live slot that nobody retires.
    OWNER
        .try_with(|owner| {
            let chosen = CHOSEN_KEY.try_with(|chosen| chosen.replace(0)).unwrap_or(0);
            let slot = super::registry::register_thread(
                (chosen != 0).then_some(ThreadKey(chosen)),
                std::thread::current().name().map(str::to_owned),
            );
            owner.slot.set(Some(slot.clone()));
            CURRENT
                .try_with(|current| current.set(Arc::as_ptr(&slot)))
                .ok()?;
            Some(slot)
        })
        .ok()
        .flatten()
}

/// Runs `f` on this thread's slot if it has one; never registers.
#[inline]
pub fn with_existing<R>(f: impl FnOnce(&ThreadSlot) -> R) -> Option<R> {
    let slot = CURRENT.try_with(|current| current.get()).ok()?;
    // SAFETY: as in `with_current`.
    (!slot.is_null()).then(|| f(unsafe { &*slot }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_pack_and_release_out_of_order() {
        let slot = ThreadSlot::new(ThreadKey(1), None);
        let site = Location::caller();
        slot.push_held(ResourceKey(5), LockMode::Shared, site);
        slot.push_held(ResourceKey(6), LockMode::Exclusive, site);
        slot.push_held(ResourceKey(7), LockMode::Upgradable, site);
        slot.pop_held(ResourceKey(6), LockMode::Exclusive);
        let held: Vec<_> = slot.held().iter().map(|h| (h.resource, h.mode)).collect();
        assert_eq!(
            held,
            vec![
                (ResourceKey(5), LockMode::Shared),
                (ResourceKey(7), LockMode::Upgradable)
            ]
        );
    }

    #[test]
    fn an_overflowing_table_counts_instead_of_growing() {
        let slot = ThreadSlot::new(ThreadKey(1), None);
        for i in 0..HELD_CAPACITY as u64 + 3 {
            slot.push_held(ResourceKey(i + 1), LockMode::Exclusive, Location::caller());
        }
        assert_eq!(slot.held().len(), HELD_CAPACITY);
        assert_eq!(slot.held_overflow(), 3);
    }
}

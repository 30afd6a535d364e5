//! The live registry: every thread's slot and every resource that has been used, with
//! the state the watchdog needs to know who can end a wait on it.
//!
//! No lock here is taken on a lock's acquire or release, except once per resource on
//! its first use (to register it) and once when it is dropped (to forget it), so memory
//! stays bounded by what is alive.

use super::providers::WaitState;
use super::slot::ThreadSlot;
use crate::model::{Class, ResourceInfo, ResourceKey, ResourceKind, Site, ThreadKey};
use parking_lot::{Mutex, MutexGuard};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Arc, Weak};

/// A registered resource: what reports say about it, and the state that decides who
/// provides its events.
pub struct ResourceEntry {
    pub info: ResourceInfo,
    pub shared: Shared,
}

/// The state, per resource, that decides who can end a wait on it.
///
/// A state that carries the resource's identity (a primitive's shared state, whose `Meta`
/// takes the entry out of the registry when it drops) is held weakly: a strong reference
/// would keep the state, and so the entry, alive for ever. A state nothing else owns (a
/// foreign condvar's notifiers) is owned by the entry.
pub enum Shared {
    /// A lock: its holders are in the threads' own slots.
    Lock,
    /// A foreign primitive whose providers the probe cannot know (a std barrier, a std
    /// channel): its waits can stall, never deadlock.
    Opaque,
    /// A thread not started through waitgraph, joined by its std handle.
    OsThread(std::thread::ThreadId),
    /// A primitive's own state.
    Weak(Weak<dyn WaitState>),
    /// A state only the registry keeps.
    Owned(Arc<dyn WaitState>),
}

impl Shared {
    /// The primitive's state, held weakly.
    pub fn weak<T: WaitState>(state: &Arc<T>) -> Shared {
        let state: Arc<dyn WaitState> = state.clone();
        Shared::Weak(Arc::downgrade(&state))
    }

    /// A state the registry owns.
    pub fn owned<T: WaitState>(state: T) -> Shared {
        Shared::Owned(Arc::new(state))
    }

    /// The state, if it has one and it is still alive.
    pub fn state(&self) -> Option<Arc<dyn WaitState>> {
        match self {
            Shared::Weak(state) => state.upgrade(),
            Shared::Owned(state) => Some(state.clone()),
            _ => None,
        }
    }

    /// The state as its concrete type `T`.
    pub fn state_as<T: WaitState>(&self) -> Option<Arc<T>> {
        self.state()?.into_any().downcast::<T>().ok()
    }
}

const SHARDS: usize = 16;

static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);
static NEXT_RESOURCE: AtomicU64 = AtomicU64::new(1);
static THREADS: Mutex<Vec<Arc<ThreadSlot>>> = Mutex::new(Vec::new());
static RESOURCES: [Mutex<BTreeMap<u64, Arc<ResourceEntry>>>; SHARDS] =
    [const { Mutex::new(BTreeMap::new()) }; SHARDS];
static PROBE_ERRORS: AtomicUsize = AtomicUsize::new(0);

fn shard(key: u64) -> &'static Mutex<BTreeMap<u64, Arc<ResourceEntry>>> {
    &RESOURCES[(key as usize) % SHARDS]
}

/// A key for a thread not registered yet (a parent names its child with it before the
/// child runs: `Fork` events).
pub fn new_thread_key() -> ThreadKey {
    ThreadKey(NEXT_THREAD.fetch_add(1, Relaxed))
}

/// Registers the current thread, under `key` if its parent chose one.
pub fn register_thread(key: Option<ThreadKey>, name: Option<String>) -> Arc<ThreadSlot> {
    let key = key.unwrap_or_else(new_thread_key);
    let slot = Arc::new(ThreadSlot::new(key, name));
    let mut threads = THREADS.lock();
    threads.retain(|s| s.alive.load(Acquire));
    threads.push(slot.clone());
    slot
}

/// A thread is exiting. It is marked dead at once; its slot leaves the list now if the
/// list is free, else at the next registration or scan: an exiting thread never waits
/// for the watchdog.
pub fn retire_thread(slot: &Arc<ThreadSlot>) {
    slot.alive.store(false, Release);
    if let Some(mut threads) = THREADS.try_lock() {
        threads.retain(|s| !Arc::ptr_eq(s, slot));
    }
}

/// The live threads, ordered by key (registration order).
pub fn threads() -> Vec<Arc<ThreadSlot>> {
    let mut threads = {
        let mut list = THREADS.lock();
        list.retain(|s| s.alive.load(Acquire));
        list.clone()
    };
    threads.sort_by_key(|slot| slot.key);
    threads
}

pub fn resource(key: ResourceKey) -> Option<Arc<ResourceEntry>> {
    shard(key.0).lock().get(&key.0).cloned()
}

/// Registers a resource under a key chosen outside the registry (a foreign resource's
/// address). Returns false if one is registered under that key already.
pub fn insert_if_absent(key: ResourceKey, entry: ResourceEntry) -> bool {
    let mut shard = shard(key.0).lock();
    if shard.contains_key(&key.0) {
        return false;
    }
    shard.insert(key.0, Arc::new(entry));
    true
}

/// Puts `entry` in place of the resource registered under `key`, if `still` agrees with
/// the one there (checked under the registry's lock). Returns whether it did.
pub fn replace_if(
    key: ResourceKey,
    entry: ResourceEntry,
    still: impl FnOnce(&ResourceEntry) -> bool,
) -> bool {
    let mut shard = shard(key.0).lock();
    match shard.get_mut(&key.0) {
        Some(current) if still(current) => {
            *current = Arc::new(entry);
            true
        }
        _ => false,
    }
}

/// Registers a resource known by name only (what `acquires = "gil"` names).
pub fn register_named(
    kind: ResourceKind,
    name: &'static str,
    site: &'static Location<'static>,
    shared: Shared,
) -> ResourceKey {
    let key = ResourceKey(NEXT_RESOURCE.fetch_add(1, Relaxed));
    let created = Site::from_location(site);
    let info = ResourceInfo {
        key,
        kind,
        class: Class::Named(Cow::Borrowed(name)),
        created,
    };
    shard(key.0)
        .lock()
        .insert(key.0, Arc::new(ResourceEntry { info, shared }));
    key
}

/// The most recently registered live resource of `kind` named `name` (a scan of the
/// registry: for role lookups, not hot paths).
pub fn find_named(name: &str, kind: ResourceKind) -> Option<Arc<ResourceEntry>> {
    RESOURCES
        .iter()
        .filter_map(|shard| {
            shard
                .lock()
                .values()
                .filter(|entry| {
                    entry.info.kind == kind
                        && matches!(&entry.info.class, Class::Named(n) if n == name)
                })
                .max_by_key(|entry| entry.info.key)
                .cloned()
        })
        .max_by_key(|entry| entry.info.key)
}

pub fn remove(key: ResourceKey) {
    forget(key.0);
}

/// Takes a resource out of the registry; while a recording wants them, its description
/// is kept a while for the trace writer, which may describe it after it is gone.
fn forget(key: u64) {
    let mut shard = shard(key).lock();
    // Kept before it leaves, so `describe` always finds it in one place or the other.
    if KEEP_DEPARTED.load(Relaxed) > 0 {
        if let Some(entry) = shard.get(&key) {
            DEPARTED.lock().keep(entry.info.clone());
        }
    }
    shard.remove(&key);
}

/// How many descriptions of departed resources are kept for a recording at most (the
/// oldest go first).
const DEPARTED_CAPACITY: usize = 1 << 16;

static KEEP_DEPARTED: AtomicUsize = AtomicUsize::new(0);
static DEPARTED: Mutex<Departed> = Mutex::new(Departed {
    infos: BTreeMap::new(),
    order: std::collections::VecDeque::new(),
});

struct Departed {
    infos: BTreeMap<u64, ResourceInfo>,
    order: std::collections::VecDeque<u64>,
}

impl Departed {
    fn keep(&mut self, info: ResourceInfo) {
        if self.order.len() == DEPARTED_CAPACITY {
            if let Some(oldest) = self.order.pop_front() {
                self.infos.remove(&oldest);
            }
        }
        self.order.push_back(info.key.0);
        self.infos.insert(info.key.0, info);
    }
}

/// While `keep` is on (a trace being recorded), resources dropped before the writer
/// describes them stay describable.
pub fn keep_departed(keep: bool) {
    if keep {
        KEEP_DEPARTED.fetch_add(1, Relaxed);
    } else if KEEP_DEPARTED.fetch_sub(1, Relaxed) == 1 {
        let mut departed = DEPARTED.lock();
        departed.infos.clear();
        departed.order.clear();
    }
}

/// What a trace says about a resource: the live entry's description, or the one kept
/// since it departed (kept, not taken: a flight recorder describes it in every dump).
pub fn describe(key: ResourceKey) -> Option<ResourceInfo> {
    if let Some(entry) = resource(key) {
        return Some(entry.info.clone());
    }
    DEPARTED.lock().infos.get(&key.0).cloned()
}

pub fn resource_count() -> usize {
    RESOURCES.iter().map(|shard| shard.lock().len()).sum()
}

/// Counts a failure of the probe itself (reported, never a panic in the host).
pub fn probe_error() {
    PROBE_ERRORS.fetch_add(1, Relaxed);
}

pub fn probe_errors() -> usize {
    PROBE_ERRORS.load(Relaxed)
}

/// Identity and class of one primitive instance, embedded in the primitive. The key is
/// handed out on first use, so constructors stay `const` and resources never used cost
/// no registry entry.
pub struct ResourceMeta {
    key: AtomicU64,
    site: &'static Location<'static>,
    name: Option<Cow<'static, str>>,
}

impl ResourceMeta {
    pub const fn new(
        site: &'static Location<'static>,
        name: Option<Cow<'static, str>>,
    ) -> ResourceMeta {
        ResourceMeta {
            key: AtomicU64::new(0),
            site,
            name,
        }
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The key, registering the resource on first use.
    #[inline]
    pub fn key(&self, kind: ResourceKind, shared: impl FnOnce() -> Shared) -> ResourceKey {
        let key = self.key.load(Acquire);
        if key != 0 {
            return ResourceKey(key);
        }
        self.register(kind, shared())
    }

    #[cold]
    fn register(&self, kind: ResourceKind, shared: Shared) -> ResourceKey {
        let key = NEXT_RESOURCE.fetch_add(1, Relaxed);
        let created = Site::from_location(self.site);
        let class = match &self.name {
            Some(name) => Class::Named(name.clone()),
            None => Class::Site(created.clone()),
        };
        let info = ResourceInfo {
            key: ResourceKey(key),
            kind,
            class,
            created,
        };
        shard(key)
            .lock()
            .insert(key, Arc::new(ResourceEntry { info, shared }));
        match self.key.compare_exchange(0, key, AcqRel, Acquire) {
            Ok(_) => ResourceKey(key),
            Err(winner) => {
                shard(key).lock().remove(&key);
                ResourceKey(winner)
            }
        }
    }
}

impl Drop for ResourceMeta {
    fn drop(&mut self) {
        let key = *self.key.get_mut();
        if key != 0 {
            forget(key);
        }
    }
}

/// Holds every registry lock, as a scan in progress would, for tests that check the
/// hot path never waits on the probe.
#[doc(hidden)]
pub struct RegistryHold {
    _threads: MutexGuard<'static, Vec<Arc<ThreadSlot>>>,
    _resources: Vec<MutexGuard<'static, BTreeMap<u64, Arc<ResourceEntry>>>>,
}

#[doc(hidden)]
pub fn hold_for_test() -> RegistryHold {
    RegistryHold {
        _threads: THREADS.lock(),
        _resources: RESOURCES.iter().map(|s| s.lock()).collect(),
    }
}

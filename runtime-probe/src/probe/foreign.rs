//! Resources the probe does not own: std and parking_lot primitives reached through the
//! `#[instrument]` attribute. Such a resource has no field to keep a key in and no drop
//! hook, so its identity is its address (tagged with its kind), and what reports say of
//! it is registered the first time a thread meets it at a call site.
//!
//! | question | answer |
//! |---|---|
//! | identity | `FOREIGN` bit, 4 bits of kind, the address (57 bits) |
//! | class (what reports name it by) | the receiver expression qualified by module path, or by the type of `self` |
//! | cost after the first use on a thread | one thread-local compare |
//! | memory | at most `CAPACITY` entries; the oldest is forgotten first (its label only) |
//!
//! A primitive dropped and another of the same kind made at its address get the same
//! key: the attribute sees neither the drop nor the making. What tells them apart is
//! the name: when a thread meets the key under another name (another receiver, in
//! another function or type) while no thread holds it or waits on it, it is taken for a
//! new primitive: its state (a condvar's notifiers) starts empty, and it takes the new
//! name unless the function the old name belongs to still runs on some thread. Without
//! that, a condvar made where a dead one lived would inherit the dead one's notifiers,
//! and a thread blocked elsewhere that once notified the dead one would close a cycle
//! that does not exist (a false deadlock); and a lock would be reported under a dead
//! lock's name. One primitive reached under two names (a waiter's function and a
//! notifier's) is taken for a new one only at such quiet moments: it loses what was
//! learned of it (a missed edge at worst, never a false one). A primitive made again by
//! the same code, under the same name, stays one resource.

use super::registry::{self, ResourceEntry, Shared};
use crate::model::{Class, ResourceInfo, ResourceKey, ResourceKind, Site};
use parking_lot::Mutex;
use std::cell::Cell;
use std::collections::VecDeque;
use std::panic::Location;

/// Marks keys that are addresses (the registry's own keys count up from 1 and never
/// come near it).
pub const FOREIGN: u64 = 1 << 61;
const KIND_SHIFT: u32 = 57;
const ADDRESS_MASK: u64 = (1 << KIND_SHIFT) - 1;
/// How many foreign resources keep a label.
pub const CAPACITY: usize = 16_384;

/// Where a foreign resource was reached: given by the attribute, one per call site.
#[derive(Debug)]
pub struct Receiver {
    /// `module_path!()` at the call site.
    pub module: &'static str,
    /// The instrumented function the call is in.
    pub function: &'static str,
    /// The receiver expression as written (`self.gil`, `GIL`, `shard.queue`).
    pub text: &'static str,
}

/// For receivers rooted in `self`: the name of `Self`'s type.
pub type Owner = Option<fn() -> &'static str>;

/// Whether `key` is a foreign resource's (std, parking_lot: met through the attribute).
#[inline]
pub fn is_foreign(key: ResourceKey) -> bool {
    key.0 & FOREIGN != 0
}

/// The key of the foreign resource at `address`.
#[inline]
pub fn key<T: ?Sized>(resource: &T, kind: ResourceKind) -> ResourceKey {
    let address = resource as *const T as *const () as usize as u64;
    ResourceKey(FOREIGN | ((kind as u64) << KIND_SHIFT) | (address & ADDRESS_MASK))
}

/// The key of a foreign resource known by a number rather than an address (a thread,
/// by a hash of its std id).
pub fn key_of_id(id: u64, kind: ResourceKind) -> ResourceKey {
    ResourceKey(FOREIGN | ((kind as u64) << KIND_SHIFT) | (id & ADDRESS_MASK))
}

thread_local! {
    /// (key, call site) pairs this thread has seen registered: a direct-mapped cache.
    static KNOWN: [Cell<(u64, usize)>; 64] = const { [const { Cell::new((0, 0)) }; 64] };
}

static ORDER: Mutex<VecDeque<u64>> = Mutex::new(VecDeque::new());

/// Makes sure the registry can name the resource; cheap once this thread has seen it
/// from this call site.
#[inline]
pub fn known(
    key: ResourceKey,
    kind: ResourceKind,
    at: &'static Receiver,
    owner: Owner,
    site: &'static Location<'static>,
    shared: impl FnOnce() -> Shared,
) {
    let tag = at as *const Receiver as usize;
    let index = ((key.0 >> 3) ^ (key.0 >> 9)) as usize % 64;
    let seen = KNOWN
        .try_with(|known| {
            if known[index].get() == (key.0, tag) {
                true
            } else {
                known[index].set((key.0, tag));
                false
            }
        })
        .unwrap_or(false);
    if !seen {
        register(key, kind, at, owner, site, shared());
    }
}

#[cold]
fn register(
    key: ResourceKey,
    kind: ResourceKind,
    at: &'static Receiver,
    owner: Owner,
    site: &'static Location<'static>,
    shared: Shared,
) {
    let class = Class::Named(class_name(at, owner).into());
    let entry = |shared| {
        let info = ResourceInfo {
            key,
            kind,
            class: class.clone(),
            created: Site::from_location(site),
        };
        ResourceEntry { info, shared }
    };
    if let Some(known) = registry::resource(key) {
        if known.info.class != class && !in_use(key) {
            // Taken for a new primitive: its state starts empty. Its name too, unless the
            // function the old name belongs to is still running somewhere (then it is
            // most likely one primitive reached under two names, as a waiter's function
            // and a notifier's name one pair of a mutex and a condvar).
            let mut fresh = entry(shared);
            if scope_running(&known.info.class) {
                fresh.info = known.info.clone();
            }
            let old = known.info.class.clone();
            registry::replace_if(key, fresh, |current| current.info.class == old);
        }
        return;
    }
    if !registry::insert_if_absent(key, entry(shared)) {
        return;
    }
    let mut order = ORDER.lock();
    order.push_back(key.0);
    if order.len() > CAPACITY {
        if let Some(oldest) = order.pop_front() {
            registry::remove(ResourceKey(oldest));
        }
    }
}

/// Whether any thread holds `key` or waits on it (a scan of every thread: only when a
/// resource is met under a new name).
fn in_use(key: ResourceKey) -> bool {
    registry::threads().iter().any(|slot| {
        slot.wait().is_some_and(|wait| wait.resource == key)
            || slot.held().iter().any(|held| held.resource == key)
    })
}

/// Whether the function a local's name belongs to (`module::function::local`) runs on
/// some thread now.
fn scope_running(class: &Class) -> bool {
    let Class::Named(name) = class else {
        return false;
    };
    let Some((scope, _local)) = name.rsplit_once("::") else {
        return false;
    };
    registry::threads()
        .iter()
        .any(|slot| slot.contexts().iter().any(|context| context.name == scope))
}

/// What a foreign resource is called: `demo_pool::shard::Shard::gil` for `self.gil` in a
/// method of `Shard`, `app::GIL` for a static, `app::worker::queue` for a local `queue`
/// in `fn worker`.
pub fn class_name(at: &Receiver, owner: Owner) -> String {
    let text = at.text.trim();
    if let Some(owner) = owner {
        let owner = strip_generics(owner());
        if text == "self" || text == "*self" {
            return owner.to_string();
        }
        if let Some(rest) = text.strip_prefix("self.") {
            return format!("{owner}::{rest}");
        }
    }
    let crate_name = at.module.split("::").next().unwrap_or(at.module);
    if let Some(rest) = text.strip_prefix("crate::") {
        return format!("{crate_name}::{rest}");
    }
    if text.starts_with("::") {
        return text.trim_start_matches("::").to_string();
    }
    // A static or a path names the same thing in every function; a local does not.
    let root = text.trim_start_matches(['*', '(', '&']);
    if text.contains("::") || root.starts_with(|c: char| c.is_ascii_uppercase()) {
        format!("{}::{text}", at.module)
    } else {
        format!("{}::{}::{text}", at.module, at.function)
    }
}

fn strip_generics(name: &str) -> &str {
    name.split('<').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call site's receiver, promoted to a static as the attribute's are (nothing
    /// leaked: the tests run under LeakSanitizer too).
    macro_rules! at {
        ($text:literal) => {
            &Receiver {
                module: "demo_pool::shard",
                function: "serve",
                text: $text,
            }
        };
    }

    #[test]
    fn classes_are_qualified_never_bare() {
        let owner: Owner = Some(|| "demo_pool::shard::Shard<u32>");
        assert_eq!(
            class_name(at!("self.gil"), owner),
            "demo_pool::shard::Shard::gil"
        );
        assert_eq!(class_name(at!("self"), owner), "demo_pool::shard::Shard");
        assert_eq!(class_name(at!("GIL"), None), "demo_pool::shard::GIL");
        assert_eq!(
            class_name(at!("crate::pool::QUEUE"), None),
            "demo_pool::pool::QUEUE"
        );
        assert_eq!(
            class_name(at!("shard.queue"), None),
            "demo_pool::shard::serve::shard.queue"
        );
        assert_eq!(class_name(at!("*GIL"), None), "demo_pool::shard::*GIL");
    }

    #[test]
    fn labels_stay_bounded_and_the_oldest_go_first() {
        let at: &Receiver = at!("shard.queue");
        let site = std::panic::Location::caller();
        let keys: Vec<ResourceKey> = (0..CAPACITY as u64 + 100)
            .map(|i| key_of_id(1 << 40 | i, ResourceKind::Mutex))
            .collect();
        for &key in &keys {
            known(key, ResourceKind::Mutex, at, None, site, || Shared::Lock);
        }
        assert!(ORDER.lock().len() <= CAPACITY);
        assert!(
            registry::resource(keys[0]).is_none(),
            "the oldest label was forgotten"
        );
        assert!(registry::resource(*keys.last().unwrap()).is_some());
    }

    #[test]
    fn keys_keep_kinds_apart_and_are_marked_foreign() {
        let value = 5u64;
        let as_mutex = key(&value, ResourceKind::Mutex);
        let as_condvar = key(&value, ResourceKind::Condvar);
        assert_ne!(as_mutex, as_condvar);
        assert_ne!(as_mutex.0 & FOREIGN, 0);
        assert!(
            as_mutex.0 < 1 << 62,
            "the held table packs the mode above bit 62"
        );
    }
}

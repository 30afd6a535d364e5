//! Prediction in the program sees every lock-order edge without every lock event: a
//! thread's acquisition is sent only when the chain it completes (the classes of the
//! locks the thread holds, in order, and this one's, and whether it holds this very
//! lock already) is new to the thread, as lockdep does for the kernel. A repeat would
//! add nothing the engine keeps: it keeps one piece of evidence per edge and thread, and
//! works on classes (a lock made per request is one class). A lock's class is looked up
//! in the registry once per lock and thread (a cache of [`CLASSES`] locks).
//!
//! | event | sent when |
//! |---|---|
//! | an acquisition | its chain is new to the thread; then first the holds under it that were not sent |
//! | a release | its acquisition was sent |
//! | anything else (a wait, a notification, a job...) | always; first the holds that were not sent, so the engine knows what the thread owes |
//!
//! Only while the recording feeds prediction alone (no trace file, no capture): a trace
//! keeps every event. Chains are remembered per thread, [`CHAINS`] at most (then
//! forgotten and learnt again), and forgotten when a new recording starts.
//!
//! The chain a thread takes most, one lock with nothing else held, is recognised inside
//! the lock's own hook from the thread's slot (`ThreadSlot::repeats_lone_chain`): the
//! hold is kept back there, and taken over here the moment anything else happens on
//! the thread (another lock, a wait, a notification...).

use crate::model::{EventKind, LockMode, ResourceKey, ThreadKey};
use std::cell::RefCell;
use std::hash::Hasher;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use waitgraph_core::binary::FastHasher;

/// Chains a thread remembers.
pub const CHAINS: usize = 1024;
/// Locks whose class a thread keeps at hand (direct-mapped by key).
pub const CLASSES: usize = 256;

/// Set while the running recording only feeds the in-process prediction.
static PREDICTION_ONLY: AtomicBool = AtomicBool::new(false);

pub(crate) fn prediction_only(on: bool) {
    PREDICTION_ONLY.store(on, Relaxed);
}

struct Held {
    key: ResourceKey,
    /// Its class's fingerprint.
    class: u64,
    mode: LockMode,
    site: Option<&'static Location<'static>>,
    sent: bool,
}

struct Chains {
    held: Vec<Held>,
    /// Open addressing, 0 for empty; twice [`CHAINS`] slots.
    seen: Vec<u64>,
    count: usize,
    /// (key, class fingerprint); keys are never reused, so an entry never goes stale.
    classes: Vec<(u64, u64)>,
    /// The recording the chains and `sent` flags are for.
    generation: u64,
}

impl Chains {
    /// A fingerprint of `key`'s class (its kind and name, or its creation site); the
    /// key itself for a lock the registry does not know.
    fn class_of(&mut self, key: ResourceKey) -> u64 {
        if self.classes.is_empty() {
            self.classes = vec![(0, 0); CLASSES];
        }
        let slot = key.0 as usize % CLASSES;
        if self.classes[slot].0 == key.0 {
            return self.classes[slot].1;
        }
        let class = crate::probe::registry::resource(key).map_or(key.0, |entry| {
            let mut hasher = FastHasher::default();
            hasher.write(entry.info.kind.as_str().as_bytes());
            match &entry.info.class {
                crate::model::Class::Named(name) => {
                    hasher.write_u8(0);
                    hasher.write(name.as_bytes());
                }
                crate::model::Class::Site(site) => {
                    hasher.write_u8(1);
                    hasher.write(site.file.as_bytes());
                    hasher.write_u32(site.line);
                    hasher.write_u32(site.column);
                }
            }
            hasher.finish()
        });
        self.classes[slot] = (key.0, class);
        class
    }

    /// Whether `chain` was seen; remembers it if not.
    fn seen_before(&mut self, chain: u64) -> bool {
        if self.seen.is_empty() {
            self.seen = vec![0; CHAINS * 2];
        }
        let mask = self.seen.len() - 1;
        let mut at = chain as usize & mask;
        loop {
            match self.seen[at] {
                0 => break,
                known if known == chain => return true,
                _ => at = (at + 1) & mask,
            }
        }
        if self.count == CHAINS {
            self.seen.iter_mut().for_each(|slot| *slot = 0);
            self.count = 0;
            return self.seen_before(chain);
        }
        self.seen[at] = chain;
        self.count += 1;
        false
    }

    /// Catches up with the running recording `generation` (a new one has seen no chain,
    /// and holds from before it are not tracked), and takes over the hold the thread's
    /// slot kept back, if any.
    fn follow(&mut self, generation: u64) {
        if self.generation != generation {
            self.generation = generation;
            self.seen.iter_mut().for_each(|slot| *slot = 0);
            self.count = 0;
            self.held.clear();
        }
        let kept_back = crate::probe::slot::with_existing(|slot| slot.take_unsent_lone_hold());
        if let Some((key, mode, site)) = kept_back.flatten() {
            let class = self.class_of(key);
            self.held.insert(
                0,
                Held {
                    key,
                    class,
                    mode,
                    site,
                    sent: false,
                },
            );
        }
    }

    /// The holds not sent yet, now marked sent.
    fn unsent(&mut self) -> Vec<(ResourceKey, LockMode, Option<&'static Location<'static>>)> {
        self.held
            .iter_mut()
            .filter(|held| !held.sent)
            .map(|held| {
                held.sent = true;
                (held.key, held.mode, held.site)
            })
            .collect()
    }
}

thread_local! {
    static THREAD: RefCell<Chains> = const {
        RefCell::new(Chains {
            held: Vec::new(),
            seen: Vec::new(),
            count: 0,
            classes: Vec::new(),
            generation: 0,
        })
    };
}

/// Whether this event goes through the chains (the recording feeds prediction alone).
#[inline]
pub(crate) fn filtering() -> bool {
    PREDICTION_ONLY.load(Relaxed)
}

/// A hold begun or ended by `thread`: sent (with what it needs first) or not.
pub(crate) fn hold(
    thread: ThreadKey,
    key: ResourceKey,
    mode: LockMode,
    site: Option<&'static Location<'static>>,
    acquired: bool,
) {
    let generation = super::file::generation();
    let send = THREAD.try_with(|chains| {
        let mut chains = chains.try_borrow_mut().ok()?;
        chains.follow(generation);
        if acquired {
            let mut hasher = FastHasher::default();
            let mut again = false;
            for held in &chains.held {
                again |= held.key == key;
                hasher.write_u64(held.class);
                hasher.write_u8(held.mode as u8);
            }
            let class = chains.class_of(key);
            hasher.write_u64(class);
            hasher.write_u8(mode as u8 | if again { 0x80 } else { 0 });
            let chain = hasher.finish() | 1;
            let new = !chains.seen_before(chain);
            if chains.held.is_empty() {
                crate::probe::slot::with_existing(|slot| {
                    slot.remember_lone_chain(key, mode, generation)
                });
            }
            let before = if new { chains.unsent() } else { Vec::new() };
            chains.held.push(Held {
                key,
                class,
                mode,
                site,
                sent: new,
            });
            Some((before, new))
        } else {
            let at = chains
                .held
                .iter()
                .rposition(|held| held.key == key && held.mode == mode);
            // Not found: taken before prediction began; said, to be safe.
            let sent = at.is_none_or(|at| match at + 1 == chains.held.len() {
                true => chains.held.pop().is_none_or(|held| held.sent),
                false => chains.held.remove(at).sent,
            });
            Some((Vec::new(), sent))
        }
    });
    let Ok(Some((before, send))) = send else {
        return super::emit_now(thread, hold_kind(key, mode, acquired), site);
    };
    for (key, mode, site) in before {
        super::emit_now(thread, hold_kind(key, mode, true), site);
    }
    if send {
        super::emit_now(thread, hold_kind(key, mode, acquired), site);
    }
}

/// Before any other event of the thread: the holds the engine was not told of.
pub(crate) fn send_holds(thread: ThreadKey) {
    let generation = super::file::generation();
    let unsent = THREAD
        .try_with(|chains| {
            chains
                .try_borrow_mut()
                .map(|mut chains| {
                    chains.follow(generation);
                    chains.unsent()
                })
                .unwrap_or_default()
        })
        .unwrap_or_default();
    for (key, mode, site) in unsent {
        super::emit_now(thread, hold_kind(key, mode, true), site);
    }
}

pub(super) fn hold_kind(resource: ResourceKey, mode: LockMode, acquired: bool) -> EventKind {
    if acquired {
        EventKind::LockAcquired { resource, mode }
    } else {
        EventKind::LockReleased { resource, mode }
    }
}

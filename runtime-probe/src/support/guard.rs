//! The guard the attribute hands back for a std or parking_lot lock: the original guard
//! inside, the release recorded when it drops.

use crate::model::{LockMode, ResourceKey};
use crate::sync::hooks;
use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};

/// A lock guard whose hold the probe recorded. Derefs to the protected data like the
/// guard it wraps; dropping it records the release, then unlocks.
///
/// Where the original guard type is required (a function's declared return type,
/// `MutexGuard::map`, a wait the attribute does not know), the compiler says so: wrap
/// the acquiring expression in `waitgraph::uninstrumented!(..)` to keep it as written.
pub struct Guard<G> {
    inner: ManuallyDrop<G>,
    /// The key of the recorded hold, or 0 when it was not recorded.
    hold: u64,
    mode: LockMode,
}

impl<G> Guard<G> {
    #[inline]
    pub(crate) fn new(inner: G, hold: Option<ResourceKey>, mode: LockMode) -> Guard<G> {
        Guard {
            inner: ManuallyDrop::new(inner),
            hold: hold.map_or(0, |key| key.0),
            mode,
        }
    }

    /// Takes the original guard out, the hold's record with it (the caller releases or
    /// hands it on).
    #[inline]
    pub(crate) fn into_parts(self) -> (G, Option<ResourceKey>, LockMode) {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again.
        let inner = unsafe { ManuallyDrop::take(&mut this.inner) };
        let hold = (this.hold != 0).then_some(ResourceKey(this.hold));
        (inner, hold, this.mode)
    }

    #[inline]
    pub(crate) fn parts_mut(&mut self) -> (&mut G, &mut u64) {
        (&mut self.inner, &mut self.hold)
    }
}

impl<G: Deref> Deref for Guard<G> {
    type Target = G::Target;
    #[inline]
    fn deref(&self) -> &G::Target {
        &self.inner
    }
}

impl<G: DerefMut> DerefMut for Guard<G> {
    #[inline]
    fn deref_mut(&mut self) -> &mut G::Target {
        &mut self.inner
    }
}

impl<G> Drop for Guard<G> {
    #[inline]
    fn drop(&mut self) {
        // Recorded before the unlock, so no scan sees two holders of one lock.
        if self.hold != 0 {
            release(self.hold, self.mode);
        }
        // SAFETY: dropped once, here; `into_parts` forgets `self` instead.
        unsafe { ManuallyDrop::drop(&mut self.inner) }
    }
}

/// Out of line, so the guard's drop stays small enough to inline where nothing was
/// recorded (the probe switched off).
#[inline(never)]
fn release(hold: u64, mode: LockMode) {
    hooks::released(ResourceKey(hold), mode);
}

impl<G: fmt::Debug> fmt::Debug for Guard<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.inner, f)
    }
}

impl<G: fmt::Display> fmt::Display for Guard<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.inner, f)
    }
}

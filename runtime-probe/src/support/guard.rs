//! The guard the attribute hands back for a std or parking_lot lock: the original guard
//! inside, the release recorded when it drops.

use crate::model::{LockMode, ResourceKey};
use crate::sync::hooks;
use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::sync::{LockResult, PoisonError, TryLockError, TryLockResult};

use super::select::{group, Probe};

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

    /// The original guard, its hold leaving the record (the lock stays held, out of the
    /// probe's sight: a missed edge at worst, never a hold believed after its release).
    #[inline]
    pub(crate) fn hand_over(self) -> G {
        let (inner, hold, mode) = self.into_parts();
        if let Some(key) = hold {
            release(key.0, mode);
        }
        inner
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

// ---- where the original guard type is required ------------------------------------------

/// An acquire's value with the attribute's guard replaced by the original (`original`):
/// for acquires whose value flows where a std or parking_lot guard type is written.
pub trait Original {
    type Out;
    fn original(self) -> Self::Out;
}

impl<G> Original for Guard<G> {
    type Out = G;
    #[inline]
    fn original(self) -> G {
        self.hand_over()
    }
}

impl<G> Original for LockResult<Guard<G>> {
    type Out = LockResult<G>;
    #[inline]
    fn original(self) -> LockResult<G> {
        match self {
            Ok(guard) => Ok(guard.hand_over()),
            Err(poisoned) => Err(PoisonError::new(poisoned.into_inner().hand_over())),
        }
    }
}

impl<G> Original for TryLockResult<Guard<G>> {
    type Out = TryLockResult<G>;
    #[inline]
    fn original(self) -> TryLockResult<G> {
        match self {
            Ok(guard) => Ok(guard.hand_over()),
            Err(TryLockError::Poisoned(poisoned)) => Err(TryLockError::Poisoned(PoisonError::new(
                poisoned.into_inner().hand_over(),
            ))),
            Err(TryLockError::WouldBlock) => Err(TryLockError::WouldBlock),
        }
    }
}

impl<G> Original for Option<Guard<G>> {
    type Out = Option<G>;
    #[inline]
    fn original(self) -> Option<G> {
        self.map(Guard::hand_over)
    }
}

impl Original for super::Never {
    type Out = super::Never;
    fn original(self) -> super::Never {
        self
    }
}

/// The acquire's value with original guard types.
#[inline]
pub fn original<V: Original>(value: V) -> V::Out {
    value.original()
}

/// A local passed by value to a call: the attribute's guard is handed over as the
/// original (`HandOver`), anything else passes as it is (`PassAsIs`), chosen at compile
/// time like the instrumented calls (`select`).
pub trait HandOver {
    fn __wg_pass(&self) -> Unwrap {
        Unwrap
    }
}

pub trait PassAsIs {
    fn __wg_pass(&self) -> AsIs {
        AsIs
    }
}

impl<G> HandOver for &Probe<group::Pass, Guard<G>> {}
impl<T: ?Sized> PassAsIs for Probe<group::Pass, T> {}

pub struct Unwrap;
pub struct AsIs;

impl Unwrap {
    #[inline]
    pub fn pass<G>(&self, guard: Guard<G>) -> G {
        guard.hand_over()
    }
}

impl AsIs {
    #[inline(always)]
    pub fn pass<T>(&self, value: T) -> T {
        value
    }
}

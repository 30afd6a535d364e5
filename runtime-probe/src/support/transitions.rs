//! lock_api's (parking_lot's) guard transitions on an [`InstrumentedGuard`](super::Guard), written as
//! path calls (`RwLockUpgradableReadGuard::upgrade(guard)`): the hold's record follows
//! the guard, and an upgrade that has to wait for readers publishes that wait.
//!
//! | call | record |
//! |---|---|
//! | `upgrade` | upgradable released; a wait for exclusive access if readers remain; exclusive held |
//! | `try_upgrade` | exclusive held, or the upgradable hold kept |
//! | `downgrade` (write or upgradable to read) | released, shared held |
//! | `downgrade_to_upgradable` | released, upgradable held |
//!
//! `MutexGuard::map` and the other mappings are not among them: a mapped guard leaves
//! the attribute's guard type, which the compiler points out (`uninstrumented!` opts out).

use super::select::Via;
use super::Guard;
use crate::model::{LockMode, ResourceKey, WaitKind};
use crate::sync::hooks;
use crate::sync::hooks::WaitScope;
use lock_api::{
    RawRwLock, RawRwLockDowngrade, RawRwLockUpgrade, RawRwLockUpgradeDowngrade, RwLockReadGuard,
    RwLockUpgradableReadGuard, RwLockWriteGuard,
};
use std::panic::Location;

/// The hold moved to a new mode: released, then recorded again if it was recorded.
fn moved(
    hold: Option<ResourceKey>,
    from: LockMode,
    to: LockMode,
    site: &'static Location<'static>,
) -> Option<ResourceKey> {
    let key = hold?;
    hooks::released(key, from);
    (hooks::enabled() && hooks::acquired(key, to, site)).then_some(key)
}

impl<'a, R: RawRwLockUpgrade + 'a, T: ?Sized + 'a> Via<Guard<RwLockUpgradableReadGuard<'a, R, T>>> {
    /// The guard argument as the branch as written (never taken) sees it.
    pub fn guard_arg(
        &self,
        guard: Guard<RwLockUpgradableReadGuard<'a, R, T>>,
    ) -> RwLockUpgradableReadGuard<'a, R, T> {
        guard.into_parts().0
    }

    #[track_caller]
    pub fn upgrade(
        &self,
        guard: Guard<RwLockUpgradableReadGuard<'a, R, T>>,
    ) -> Guard<RwLockWriteGuard<'a, R, T>> {
        let site = Location::caller();
        let (inner, hold, _) = guard.into_parts();
        // While it waits the thread still excludes writers; it is recorded as waiting
        // for exclusive access without its upgradable hold (a missed edge at worst, never
        // a wait on itself).
        if let Some(key) = hold {
            hooks::released(key, LockMode::Upgradable);
        }
        let inner = match RwLockUpgradableReadGuard::try_upgrade(inner) {
            Ok(write) => write,
            Err(inner) => match hold.filter(|_| hooks::enabled()) {
                Some(key) => {
                    let _wait =
                        WaitScope::begin(key, WaitKind::Lock(LockMode::Exclusive), site, false);
                    RwLockUpgradableReadGuard::upgrade(inner)
                }
                None => RwLockUpgradableReadGuard::upgrade(inner),
            },
        };
        let hold =
            hold.filter(|&key| hooks::enabled() && hooks::acquired(key, LockMode::Exclusive, site));
        Guard::new(inner, hold, LockMode::Exclusive)
    }

    #[allow(clippy::type_complexity)]
    #[track_caller]
    pub fn try_upgrade(
        &self,
        guard: Guard<RwLockUpgradableReadGuard<'a, R, T>>,
    ) -> Result<Guard<RwLockWriteGuard<'a, R, T>>, Guard<RwLockUpgradableReadGuard<'a, R, T>>> {
        let site = Location::caller();
        let (inner, hold, _) = guard.into_parts();
        match RwLockUpgradableReadGuard::try_upgrade(inner) {
            Ok(write) => {
                let hold = moved(hold, LockMode::Upgradable, LockMode::Exclusive, site);
                Ok(Guard::new(write, hold, LockMode::Exclusive))
            }
            Err(inner) => Err(Guard::new(inner, hold, LockMode::Upgradable)),
        }
    }

    #[track_caller]
    pub fn downgrade(
        &self,
        guard: Guard<RwLockUpgradableReadGuard<'a, R, T>>,
    ) -> Guard<RwLockReadGuard<'a, R, T>>
    where
        R: RawRwLockUpgradeDowngrade,
    {
        let (inner, hold, _) = guard.into_parts();
        let hold = moved(
            hold,
            LockMode::Upgradable,
            LockMode::Shared,
            Location::caller(),
        );
        Guard::new(
            RwLockUpgradableReadGuard::downgrade(inner),
            hold,
            LockMode::Shared,
        )
    }
}

impl<'a, R: RawRwLock + 'a, T: ?Sized + 'a> Via<Guard<RwLockWriteGuard<'a, R, T>>> {
    /// The guard argument as the branch as written (never taken) sees it.
    pub fn guard_arg(
        &self,
        guard: Guard<RwLockWriteGuard<'a, R, T>>,
    ) -> RwLockWriteGuard<'a, R, T> {
        guard.into_parts().0
    }

    #[track_caller]
    pub fn downgrade(
        &self,
        guard: Guard<RwLockWriteGuard<'a, R, T>>,
    ) -> Guard<RwLockReadGuard<'a, R, T>>
    where
        R: RawRwLockDowngrade,
    {
        let (inner, hold, _) = guard.into_parts();
        let hold = moved(
            hold,
            LockMode::Exclusive,
            LockMode::Shared,
            Location::caller(),
        );
        Guard::new(RwLockWriteGuard::downgrade(inner), hold, LockMode::Shared)
    }

    #[track_caller]
    pub fn downgrade_to_upgradable(
        &self,
        guard: Guard<RwLockWriteGuard<'a, R, T>>,
    ) -> Guard<RwLockUpgradableReadGuard<'a, R, T>>
    where
        R: RawRwLockUpgradeDowngrade,
    {
        let (inner, hold, _) = guard.into_parts();
        let hold = moved(
            hold,
            LockMode::Exclusive,
            LockMode::Upgradable,
            Location::caller(),
        );
        Guard::new(
            RwLockWriteGuard::downgrade_to_upgradable(inner),
            hold,
            LockMode::Upgradable,
        )
    }
}

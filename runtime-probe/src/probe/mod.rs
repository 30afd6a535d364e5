//! The live side: the registry every hook records into, and the watchdog that reads it.

pub(crate) mod certain_cycles;
pub(crate) mod dump;
pub(crate) mod everyone_waits;
pub(crate) mod faults;
pub(crate) mod files;
pub(crate) mod foreign;
pub(crate) mod notify;
pub(crate) mod notify_sites;
pub(crate) mod os_threads;
pub(crate) mod prompt;
pub(crate) mod providers;
pub(crate) mod registry;
pub(crate) mod slot;
pub(crate) mod snapshot;
pub(crate) mod switch;
pub(crate) mod watchdog;

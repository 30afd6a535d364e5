//! waitgraph
#[cfg(feature = "sync")]
pub mod context;
pub mod graph;
pub mod model;
pub mod report;

#[cfg(feature = "probe")]
pub(crate) mod probe;
#[cfg(feature = "sync")]
pub mod sync;
#[cfg(feature = "sync")]
pub mod thread;

#[cfg(feature = "probe")]
pub use probe::dump::{dump, GraphDump};
#[cfg(feature = "probe")]
pub use probe::switch::{enabled, set_enabled};
#[cfg(feature = "probe")]
pub use probe::watchdog::{Watchdog, WatchdogBuilder, WatchdogHandle};

#[doc(hidden)]
#[cfg(feature = "probe")]
pub mod __private {
    pub use crate::probe::registry::hold_for_test;

    /// One watchdog scan (what the scan benchmark measures): returns how many stuck
    /// groups it found.
    pub fn scan() -> usize {
        crate::probe::snapshot::Scan::take().groups.len()
    }
}

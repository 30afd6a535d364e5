//! Function contexts: where a thread is, by the names of the functions (or spans) it is
//! in, so reports can say "in `Pool::shrink`" where no backtrace is available.
//!
//! The attribute enters a context for each instrumented function; programs can also do
//! it by hand:
//!
//! ```
//! use waitgraph::context::{self, Context};
//! static SHRINK: Context = Context::new("Pool::shrink", file!(), line!());
//! let _in_shrink = context::enter(&SHRINK);
//! ```

pub use crate::model::Context;

/// The current thread is in `context` until the guard drops (a panic included).
#[inline]
pub fn enter(context: &'static Context) -> Entered {
    #[cfg(feature = "probe")]
    if crate::probe::switch::enabled() {
        if let Some(slot) = crate::probe::slot::current() {
            slot.push_context(context);
            if crate::record::active() {
                let function = context.name.clone();
                crate::record::emit(slot.key, crate::model::EventKind::Enter { function }, None);
            }
            return Entered {
                slot: Some((slot, context)),
            };
        }
    }
    let _ = context;
    Entered {
        #[cfg(feature = "probe")]
        slot: None,
    }
}

/// Leaves the context when dropped.
#[must_use = "the context is left when this guard drops"]
pub struct Entered {
    #[cfg(feature = "probe")]
    slot: Option<(&'static crate::probe::slot::ThreadSlot, &'static Context)>,
}

impl Drop for Entered {
    #[inline]
    fn drop(&mut self) {
        #[cfg(feature = "probe")]
        if let Some((slot, context)) = self.slot {
            if crate::record::active() {
                let function = context.name.clone();
                crate::record::emit(slot.key, crate::model::EventKind::Exit { function }, None);
            }
            slot.pop_context();
        }
    }
}

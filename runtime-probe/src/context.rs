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
use std::marker::PhantomData;

/// The current thread is in `context` until the guard drops (a panic included).
#[inline]
pub fn enter(context: &'static Context) -> Entered {
    #[cfg(feature = "probe")]
    if crate::probe::switch::enabled() {
        let pushed = crate::probe::slot::with_current(|slot| {
            slot.push_context(context);
            if crate::record::active() {
                let function = context.name.clone();
                crate::record::emit(slot.key, crate::model::EventKind::Enter { function }, None);
            }
        });
        if pushed.is_some() {
            return Entered {
                context: Some(context),
                on_this_thread: PhantomData,
            };
        }
    }
    let _ = context;
    Entered {
        #[cfg(feature = "probe")]
        context: None,
        on_this_thread: PhantomData,
    }
}

/// Leaves the context when dropped.
///
/// A context belongs to the thread that entered it, so the guard can neither be sent
/// to nor shared with another thread:
///
/// ```compile_fail
/// static WORK: waitgraph::context::Context =
///     waitgraph::context::Context::new("work", file!(), line!());
/// let entered = waitgraph::context::enter(&WORK);
/// std::thread::spawn(move || drop(entered));
/// ```
#[must_use = "the context is left when this guard drops"]
pub struct Entered {
    /// The context pushed on this thread's stack, if one was.
    #[cfg(feature = "probe")]
    context: Option<&'static Context>,
    on_this_thread: PhantomData<*const ()>,
}

impl Drop for Entered {
    #[inline]
    fn drop(&mut self) {
        #[cfg(feature = "probe")]
        if let Some(context) = self.context {
            // Looked up again, not remembered: a guard kept in a thread-local may drop
            // after the thread's slot is gone, and then there is nothing to pop.
            crate::probe::slot::with_existing(|slot| {
                if crate::record::active() {
                    let function = context.name.clone();
                    crate::record::emit(slot.key, crate::model::EventKind::Exit { function }, None);
                }
                slot.pop_context();
            });
        }
    }
}

use super::hooks::{self, Meta, Shared};
use crate::model::{EventKind, ResourceKey, ResourceKind, ThreadKey, WaitKind};
use parking_lot::Mutex as RawMutex;
use std::borrow::Cow;
use std::panic::Location;
use std::sync::Arc;

/// A named event that some threads produce and others wait for, for waits no primitive
/// shows: a flag polled in a loop, a reply read from a socket, a callback from C.
///
/// ```
/// use waitgraph::sync::Event;
/// let drained = Event::new("queue-drained");
/// let _producer = drained.declare_producer();      // this thread can produce it
/// drained.waiting(|| { /* a blocking call of the program's own */ });
/// ```
#[derive(Clone)]
pub struct Event {
    shared: Arc<EventShared>,
}

pub struct EventShared {
    meta: Meta,
    pub(crate) producers: RawMutex<Vec<ThreadKey>>,
}

impl EventShared {
    fn key(self: &Arc<Self>) -> ResourceKey {
        self.meta.key(ResourceKind::Event, || Shared::weak(self))
    }
}

impl Event {
    #[track_caller]
    pub fn new(name: impl Into<Cow<'static, str>>) -> Event {
        let event = Event {
            shared: Arc::new(EventShared {
                meta: Meta::new(Location::caller(), Some(name.into())),
                producers: RawMutex::new(Vec::new()),
            }),
        };
        // Registered at once, so the attribute's roles find it by name.
        if hooks::enabled() {
            event.key();
        }
        event
    }

    pub(crate) fn key(&self) -> ResourceKey {
        self.shared.key()
    }

    /// Declares the current thread a producer of the event until the guard drops.
    pub fn declare_producer(&self) -> Producer {
        let thread = if hooks::enabled() {
            hooks::current_thread()
        } else {
            None
        };
        if let Some(thread) = thread {
            let resource = self.key();
            self.shared.producers.lock().push(thread);
            hooks::note(|| EventKind::ProducerDeclared { resource }, None);
        }
        Producer {
            shared: self.shared.clone(),
            thread,
        }
    }

    /// Runs `wait` as a wait for this event.
    #[track_caller]
    pub fn waiting<R>(&self, wait: impl FnOnce() -> R) -> R {
        hooks::declared_wait(|| self.key(), WaitKind::Event, Location::caller(), wait)
    }
}

/// A declared producer; dropping it withdraws the declaration.
pub struct Producer {
    shared: Arc<EventShared>,
    thread: Option<ThreadKey>,
}

impl Drop for Producer {
    fn drop(&mut self) {
        if let Some(thread) = self.thread {
            let mut producers = self.shared.producers.lock();
            if let Some(position) = producers.iter().position(|&t| t == thread) {
                producers.remove(position);
            }
            drop(producers);
            // Recorded by the declaring thread only: a trace's events are its thread's.
            if hooks::current_thread() == Some(thread) {
                let resource = self.shared.key();
                hooks::note(|| EventKind::ProducerDropped { resource }, None);
            }
        }
    }
}

/// A named event needs any one of its declared producers.
#[cfg(feature = "probe")]
impl hooks::WaitState for EventShared {
    fn provision(
        &self,
        world: &hooks::World,
        _waiter: crate::model::ThreadKey,
        _wait: &hooks::WaitRecord,
    ) -> hooks::Provision {
        hooks::Provision::any(world.live(self.producers.lock().iter().copied()))
    }
}

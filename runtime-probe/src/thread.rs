//! Threads whose `join` the watchdog sees: a join waits for the joined thread, so a
//! thread that joins another while holding a lock that thread needs is a deadlock.
//!
//! ```
//! let handle = waitgraph::thread::Builder::new().name("loader".into()).spawn(|| 6 * 7).unwrap();
//! assert_eq!(handle.join().unwrap(), 42);
//! ```

use crate::model::{EventKind, ResourceKey, ResourceKind, ThreadKey, WaitKind};
use crate::sync::hooks::{self, Meta, Shared, WaitScope, SLICE};
use parking_lot::{Condvar as RawCondvar, Mutex as RawMutex};
use std::io;
use std::panic::Location;
use std::sync::Arc;

/// What a join waits for: the spawned thread's key, and whether it has finished.
pub struct ThreadShared {
    meta: Meta,
    pub(crate) thread: RawMutex<Option<ThreadKey>>,
    finished: RawMutex<bool>,
    finished_changed: RawCondvar,
}

impl ThreadShared {
    #[cfg_attr(not(feature = "probe"), allow(dead_code))]
    pub(crate) fn is_finished(&self) -> bool {
        *self.finished.lock()
    }

    fn key(self: &Arc<Self>) -> ResourceKey {
        self.meta.key(ResourceKind::Thread, || Shared::weak(self))
    }
}

/// Spawns a thread (like `std::thread::spawn`) whose join is tracked.
#[track_caller]
pub fn spawn<F, T>(work: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new().spawn(work).expect("failed to spawn thread")
}

/// Like `std::thread::Builder`: a name and a stack size.
#[derive(Debug)]
pub struct Builder {
    inner: std::thread::Builder,
    name: Option<String>,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    pub fn new() -> Builder {
        Builder {
            inner: std::thread::Builder::new(),
            name: None,
        }
    }

    /// The thread's name, used in reports.
    pub fn name(mut self, name: String) -> Builder {
        self.name = Some(name.clone());
        self.inner = self.inner.name(name);
        self
    }

    pub fn stack_size(mut self, size: usize) -> Builder {
        self.inner = self.inner.stack_size(size);
        self
    }

    #[track_caller]
    pub fn spawn<F, T>(self, work: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let shared = Arc::new(ThreadShared {
            meta: Meta::new(Location::caller(), self.name.map(Into::into)),
            thread: RawMutex::new(None),
            finished: RawMutex::new(false),
            finished_changed: RawCondvar::new(),
        });
        let child = shared.clone();
        let key = hooks::enabled().then(hooks::fork).flatten();
        let inner = self.inner.spawn(move || {
            if hooks::enabled() {
                hooks::adopt(key);
                *child.thread.lock() = hooks::current_thread();
                let name = std::thread::current().name().map(|n| n.to_owned().into());
                hooks::note(|| EventKind::ThreadStart { name }, None);
            }
            let _finished = Finished(child);
            work()
        })?;
        Ok(JoinHandle { inner, shared })
    }
}

/// Marks the thread finished when its work returns or unwinds.
struct Finished(Arc<ThreadShared>);

impl Drop for Finished {
    fn drop(&mut self) {
        if hooks::enabled() {
            hooks::note(|| EventKind::ThreadExit, None);
        }
        *self.0.finished.lock() = true;
        self.0.finished_changed.notify_all();
    }
}

/// An owned permission to join a thread.
pub struct JoinHandle<T> {
    inner: std::thread::JoinHandle<T>,
    shared: Arc<ThreadShared>,
}

impl<T> JoinHandle<T> {
    /// Waits for the thread to finish, as a published wait for it.
    #[track_caller]
    pub fn join(self) -> std::thread::Result<T> {
        if hooks::enabled() {
            let mut finished = self.shared.finished.lock();
            if !*finished {
                let wait =
                    WaitScope::begin(self.shared.key(), WaitKind::Join, Location::caller(), false);
                while !*finished {
                    self.shared.finished_changed.wait_for(&mut finished, SLICE);
                    wait.serve();
                }
            }
        }
        let joined = self.inner.join();
        if hooks::enabled() {
            if let Some(child) = *self.shared.thread.lock() {
                hooks::note(|| EventKind::Join { child }, Some(Location::caller()));
            }
        }
        joined
    }

    pub fn thread(&self) -> &std::thread::Thread {
        self.inner.thread()
    }

    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}

/// A join needs the joined thread, while it lives.
#[cfg(feature = "probe")]
impl hooks::WaitState for ThreadShared {
    fn provision(
        &self,
        world: &hooks::World,
        _waiter: crate::model::ThreadKey,
        _wait: &hooks::WaitRecord,
    ) -> hooks::Provision {
        if self.is_finished() {
            return hooks::Provision::Free;
        }
        match *self.thread.lock() {
            Some(joined) if world.is_live(joined) => hooks::Provision::all(vec![joined]),
            Some(_) => hooks::Provision::Free,
            None => hooks::Provision::Unknown,
        }
    }
}

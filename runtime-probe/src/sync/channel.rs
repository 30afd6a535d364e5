//! Channels (unbounded and bounded, many senders and many receivers) whose waits the
//! watchdog sees: a receive waits for the live senders, a send on a full bounded
//! channel for the live receivers.
//!
//! A sender or receiver handle is tied to the thread that last used it; until every live
//! handle has been used, the watchdog cannot know who could end the wait and never calls
//! it part of a deadlock.
//!
//! ```
//! use waitgraph::sync::channel;
//! let (tx, rx) = channel::bounded::<u32>(1);
//! std::thread::spawn(move || tx.send(7).unwrap());
//! assert_eq!(rx.recv(), Ok(7));
//! assert!(rx.recv().is_err());   // every sender is gone
//! ```

use super::hooks::{self, Meta, Shared, WaitScope};
use crate::model::{EventKind, ResourceKey, ResourceKind, WaitKind};
use parking_lot::{Condvar as RawCondvar, Mutex as RawMutex};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The handles of one channel, each tied to the thread that last used it (0: not yet).
pub struct ChannelShared {
    meta: Meta,
    pub(crate) senders: RawMutex<Vec<Arc<AtomicU64>>>,
    pub(crate) receivers: RawMutex<Vec<Arc<AtomicU64>>>,
    /// Messages queued now, mirrored for the watchdog: a receive with something to take
    /// (a send with room) is not stuck, whatever its record says.
    pub(crate) queued: AtomicUsize,
    #[cfg_attr(not(feature = "probe"), allow(dead_code))]
    pub(crate) capacity: Option<usize>,
}

struct Channel<T> {
    shared: Arc<ChannelShared>,
    state: RawMutex<State<T>>,
    not_empty: RawCondvar,
    not_full: RawCondvar,
}

struct State<T> {
    queue: VecDeque<T>,
    capacity: Option<usize>,
    senders: usize,
    receivers: usize,
}

/// Unbounded channel.
#[track_caller]
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    make(Location::caller(), None, None)
}

/// Bounded channel: `send` blocks while `capacity` messages wait (capacity 0 is taken as 1).
#[track_caller]
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    make(Location::caller(), None, Some(capacity.max(1)))
}

/// A named channel (`None`: unbounded).
#[track_caller]
pub fn named<T>(
    name: impl Into<Cow<'static, str>>,
    capacity: Option<usize>,
) -> (Sender<T>, Receiver<T>) {
    make(
        Location::caller(),
        Some(name.into()),
        capacity.map(|c| c.max(1)),
    )
}

fn make<T>(
    site: &'static Location<'static>,
    name: Option<Cow<'static, str>>,
    capacity: Option<usize>,
) -> (Sender<T>, Receiver<T>) {
    let channel = Arc::new(Channel {
        shared: Arc::new(ChannelShared {
            meta: Meta::new(site, name),
            senders: RawMutex::new(Vec::new()),
            receivers: RawMutex::new(Vec::new()),
            queued: AtomicUsize::new(0),
            capacity,
        }),
        state: RawMutex::new(State {
            queue: VecDeque::new(),
            capacity,
            senders: 1,
            receivers: 1,
        }),
        not_empty: RawCondvar::new(),
        not_full: RawCondvar::new(),
    });
    let sender = Sender {
        binding: Handle::new(&channel.shared.senders),
        channel: channel.clone(),
    };
    let receiver = Receiver {
        binding: Handle::new(&channel.shared.receivers),
        channel,
    };
    (sender, receiver)
}

/// A handle's tie to the thread that last used it.
struct Handle(Arc<AtomicU64>);

impl Handle {
    fn new(list: &RawMutex<Vec<Arc<AtomicU64>>>) -> Handle {
        let binding = Arc::new(AtomicU64::new(0));
        list.lock().push(binding.clone());
        Handle(binding)
    }

    fn forget(&self, list: &RawMutex<Vec<Arc<AtomicU64>>>) {
        list.lock().retain(|b| !Arc::ptr_eq(b, &self.0));
    }

    #[inline]
    fn used(&self) {
        if let Some(thread) = hooks::current_thread() {
            if self.0.load(Relaxed) != thread.0 {
                self.0.store(thread.0, Relaxed);
            }
        }
    }
}

impl<T> Channel<T> {
    /// Runs `attempt` under the state lock until it settles, waiting on `ready` between
    /// tries; the wait is published (as `kind`) once the thread has to block. `attempt`
    /// is told when the deadline has passed, and must settle then.
    fn block<R>(
        &self,
        handle: &Handle,
        ready: &RawCondvar,
        kind: WaitKind,
        deadline: Option<Instant>,
        site: &'static Location<'static>,
        mut attempt: impl FnMut(&mut State<T>, bool) -> Option<R>,
    ) -> R {
        let recording = hooks::enabled();
        if recording {
            handle.used();
        }
        let mut state = self.state.lock();
        let mut wait = None;
        loop {
            let timed_out = deadline.is_some_and(|d| Instant::now() >= d);
            if let Some(result) = attempt(&mut state, timed_out) {
                return result;
            }
            if recording && wait.is_none() {
                wait = Some(WaitScope::begin(self.key(), kind, site, deadline.is_some()));
            }
            ready.wait_for(&mut state, hooks::next_slice(deadline));
            if let Some(wait) = &wait {
                wait.serve();
            }
        }
    }

    /// A handle goes away: forgotten by the watchdog, uncounted; the last one of its side
    /// wakes the other side's waiters, whose calls now fail.
    fn drop_handle(
        &self,
        handle: &Handle,
        list: &RawMutex<Vec<Arc<AtomicU64>>>,
        count: impl FnOnce(&mut State<T>) -> &mut usize,
        other_side: &RawCondvar,
    ) {
        handle.forget(list);
        let mut state = self.state.lock();
        let count = count(&mut state);
        *count -= 1;
        if *count == 0 {
            drop(state);
            other_side.notify_all();
        }
    }

    fn key(&self) -> ResourceKey {
        self.shared
            .meta
            .key(ResourceKind::Channel, || Shared::weak(&self.shared))
    }
}

/// The message could not be sent: every receiver is gone. It is given back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a channel whose receivers are all gone")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why a send did not happen at once or in time. The message is given back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    Full(T),
    Disconnected(T),
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Disconnected(_) => f.write_str("Disconnected(..)"),
        }
    }
}

/// Every sender is gone and nothing is left to receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving on an empty channel whose senders are all gone")
    }
}

impl std::error::Error for RecvError {}

/// Why a receive did not return a message at once or in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    Empty,
    Disconnected,
}

pub struct Sender<T> {
    channel: Arc<Channel<T>>,
    binding: Handle,
}

pub struct Receiver<T> {
    channel: Arc<Channel<T>>,
    binding: Handle,
}

impl<T> Sender<T> {
    /// Sends, blocking while a bounded channel is full.
    #[track_caller]
    pub fn send(&self, message: T) -> Result<(), SendError<T>> {
        match self.send_inner(message, None, Location::caller()) {
            Ok(()) => Ok(()),
            Err(TrySendError::Disconnected(m) | TrySendError::Full(m)) => Err(SendError(m)),
        }
    }

    /// Sends if there is room now.
    pub fn try_send(&self, message: T) -> Result<(), TrySendError<T>> {
        self.send_inner(message, Some(Instant::now()), Location::caller())
    }

    /// Sends, giving up after `timeout` while the channel stays full.
    #[track_caller]
    pub fn send_timeout(&self, message: T, timeout: Duration) -> Result<(), TrySendError<T>> {
        self.send_inner(message, Some(Instant::now() + timeout), Location::caller())
    }

    fn send_inner(
        &self,
        message: T,
        deadline: Option<Instant>,
        site: &'static Location<'static>,
    ) -> Result<(), TrySendError<T>> {
        let channel = &*self.channel;
        let mut message = Some(message);
        let sent = channel.block(
            &self.binding,
            &channel.not_full,
            WaitKind::Send,
            deadline,
            site,
            |state, timed_out| {
                let take = |slot: &mut Option<T>| slot.take().expect("the message is sent once");
                if state.receivers == 0 {
                    return Some(Err(TrySendError::Disconnected(take(&mut message))));
                }
                if state.capacity.is_none_or(|c| state.queue.len() < c) {
                    state.queue.push_back(take(&mut message));
                    channel.shared.queued.store(state.queue.len(), Relaxed);
                    channel.not_empty.notify_one();
                    return Some(Ok(()));
                }
                timed_out.then(|| Err(TrySendError::Full(take(&mut message))))
            },
        );
        if sent.is_ok() && hooks::enabled() {
            hooks::note(
                || EventKind::Send {
                    resource: channel.key(),
                },
                Some(site),
            );
        }
        sent
    }
}

impl<T> Receiver<T> {
    /// Receives, blocking until a message comes or every sender is gone.
    #[track_caller]
    pub fn recv(&self) -> Result<T, RecvError> {
        self.recv_inner(None, Location::caller())
            .map_err(|_| RecvError)
    }

    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.recv_inner(Some(Instant::now()), Location::caller())
    }

    /// Receives, giving up after `timeout`.
    #[track_caller]
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, TryRecvError> {
        self.recv_inner(Some(Instant::now() + timeout), Location::caller())
    }

    /// Messages until every sender is gone.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        std::iter::from_fn(move || self.recv().ok())
    }

    fn recv_inner(
        &self,
        deadline: Option<Instant>,
        site: &'static Location<'static>,
    ) -> Result<T, TryRecvError> {
        let channel = &*self.channel;
        channel.block(
            &self.binding,
            &channel.not_empty,
            WaitKind::Recv,
            deadline,
            site,
            |state, timed_out| {
                if let Some(message) = state.queue.pop_front() {
                    channel.shared.queued.store(state.queue.len(), Relaxed);
                    channel.not_full.notify_one();
                    return Some(Ok(message));
                }
                if state.senders == 0 {
                    return Some(Err(TryRecvError::Disconnected));
                }
                timed_out.then_some(Err(TryRecvError::Empty))
            },
        )
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.channel.state.lock().senders += 1;
        Sender {
            binding: Handle::new(&self.channel.shared.senders),
            channel: self.channel.clone(),
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.channel.state.lock().receivers += 1;
        Receiver {
            binding: Handle::new(&self.channel.shared.receivers),
            channel: self.channel.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let channel = &*self.channel;
        channel.drop_handle(
            &self.binding,
            &channel.shared.senders,
            |s| &mut s.senders,
            &channel.not_empty,
        );
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let channel = &*self.channel;
        channel.drop_handle(
            &self.binding,
            &channel.shared.receivers,
            |s| &mut s.receivers,
            &channel.not_full,
        );
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sender { .. }")
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Receiver { .. }")
    }
}

/// A receive needs a live sender (a send on a full channel, a live receiver), and only
/// when every live handle's thread is known.
#[cfg(feature = "probe")]
impl hooks::WaitState for ChannelShared {
    fn provision(
        &self,
        world: &hooks::World,
        _waiter: crate::model::ThreadKey,
        wait: &hooks::WaitRecord,
    ) -> hooks::Provision {
        use crate::model::{ThreadKey, WaitKind};
        use std::sync::atomic::Ordering::Relaxed;
        // Which handles end the wait depends on its direction.
        let sending = wait.kind == WaitKind::Send;
        let queued = self.queued.load(Relaxed);
        let can_go = if sending {
            self.capacity.is_none_or(|c| queued < c)
        } else {
            queued > 0
        };
        if can_go {
            return hooks::Provision::Free;
        }
        let handles = if sending {
            &self.receivers
        } else {
            &self.senders
        };
        let handles = handles.lock();
        if handles.is_empty() {
            return hooks::Provision::Free;
        }
        let mut threads = Vec::with_capacity(handles.len());
        for handle in handles.iter() {
            match handle.load(Relaxed) {
                key if key != 0 && world.is_live(ThreadKey(key)) => threads.push(ThreadKey(key)),
                // Never used, or tied to a thread that has exited: the handle moved on.
                _ => return hooks::Provision::Unknown,
            }
        }
        hooks::Provision::any(world.live(threads.into_iter()))
    }
}

//! The other blocking calls: std's `Barrier::wait`, `mpsc` channels and thread `join`.
//!
//! std's barrier and channels do not show who will end a wait (a barrier's parties, a
//! channel's senders), so their waits are published with unknown providers: a long one
//! is reported as a stall, never as part of a deadlock. A join waits for the joined
//! thread, which the watchdog finds by its std thread id if the probe has met it.

use super::select::Via;
use super::{foreign_key, Owner, Receiver};
use crate::model::{EventKind, ResourceKey, ResourceKind, WaitEnd, WaitKind};
use crate::probe::foreign;
use crate::record;
use crate::sync::hooks::{self, Shared, WaitScope};
use std::hash::{Hash, Hasher};
use std::panic::Location;
use std::sync::mpsc::{self, RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};
use std::time::Duration;

fn opaque<T: ?Sized>(
    resource: &T,
    kind: ResourceKind,
    at: &'static Receiver,
    owner: Owner,
    site: &'static Location<'static>,
) -> ResourceKey {
    foreign_key(resource, kind, at, owner, site, || Shared::Opaque)
}

impl Via<std::sync::Barrier> {
    #[track_caller]
    pub fn barrier_wait(
        &self,
        barrier: &std::sync::Barrier,
        at: &'static Receiver,
        owner: Owner,
    ) -> std::sync::BarrierWaitResult {
        if !hooks::enabled() {
            return barrier.wait();
        }
        let site = Location::caller();
        let key = opaque(barrier, ResourceKind::Barrier, at, owner, site);
        record::note(
            || EventKind::BarrierArrive {
                resource: key,
                parties: 0,
            },
            Some(site),
        );
        let _wait = WaitScope::begin(key, WaitKind::Barrier, site, false);
        barrier.wait()
    }
}

/// Records a send on the channel behind `sender`.
fn sent(key: ResourceKey, site: &'static Location<'static>) {
    record::note(|| EventKind::Send { resource: key }, Some(site));
}

impl<U> Via<mpsc::Sender<U>> {
    /// An unbounded send never blocks: only the event is recorded.
    #[track_caller]
    pub fn send(
        &self,
        sender: &mpsc::Sender<U>,
        value: U,
        at: &'static Receiver,
        owner: Owner,
    ) -> Result<(), SendError<U>> {
        if hooks::enabled() && record::active() {
            let site = Location::caller();
            sent(opaque(sender, ResourceKind::Channel, at, owner, site), site);
        }
        sender.send(value)
    }
}

impl<U> Via<mpsc::SyncSender<U>> {
    /// A bounded send blocks while the channel is full: that wait is published.
    #[track_caller]
    pub fn send(
        &self,
        sender: &mpsc::SyncSender<U>,
        value: U,
        at: &'static Receiver,
        owner: Owner,
    ) -> Result<(), SendError<U>> {
        if !hooks::enabled() {
            return sender.send(value);
        }
        let site = Location::caller();
        let key = opaque(sender, ResourceKind::Channel, at, owner, site);
        let result = match sender.try_send(value) {
            Ok(()) => Ok(()),
            Err(TrySendError::Disconnected(value)) => Err(SendError(value)),
            Err(TrySendError::Full(value)) => {
                let _wait = WaitScope::begin(key, WaitKind::Send, site, false);
                sender.send(value)
            }
        };
        if result.is_ok() {
            sent(key, site);
        }
        result
    }
}

impl<U> Via<mpsc::Receiver<U>> {
    #[track_caller]
    pub fn recv(
        &self,
        receiver: &mpsc::Receiver<U>,
        at: &'static Receiver,
        owner: Owner,
    ) -> Result<U, RecvError> {
        if !hooks::enabled() {
            return receiver.recv();
        }
        match receiver.try_recv() {
            Ok(value) => Ok(value),
            Err(TryRecvError::Disconnected) => Err(RecvError),
            Err(TryRecvError::Empty) => {
                let site = Location::caller();
                // Right after queueing work through a `schedules` function: the reply
                // comes from that executor's work.
                if let Some((key, kind, token)) = super::function::receive_after_scheduling() {
                    let _wait = WaitScope::begin_with_token(key, kind, site, false, token);
                    return receiver.recv();
                }
                let key = opaque(receiver, ResourceKind::Channel, at, owner, site);
                let _wait = WaitScope::begin(key, WaitKind::Recv, site, false);
                receiver.recv()
            }
        }
    }

    #[track_caller]
    pub fn recv_timeout(
        &self,
        receiver: &mpsc::Receiver<U>,
        timeout: Duration,
        at: &'static Receiver,
        owner: Owner,
    ) -> Result<U, RecvTimeoutError> {
        if !hooks::enabled() {
            return receiver.recv_timeout(timeout);
        }
        match receiver.try_recv() {
            Ok(value) => Ok(value),
            Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
            Err(TryRecvError::Empty) => {
                let site = Location::caller();
                let key = opaque(receiver, ResourceKind::Channel, at, owner, site);
                let wait = WaitScope::begin(key, WaitKind::Recv, site, true);
                let result = receiver.recv_timeout(timeout);
                if matches!(result, Err(RecvTimeoutError::Timeout)) {
                    wait.finish(WaitEnd::TimedOut);
                }
                result
            }
        }
    }
}

/// A join: a wait for the thread with std id `id`, keyed by that id (a handle's address
/// moves with it, a thread's id does not).
fn join<R>(
    id: std::thread::ThreadId,
    finished: bool,
    at: &'static Receiver,
    site: &'static Location<'static>,
    join: impl FnOnce() -> R,
) -> R {
    if finished || !hooks::enabled() {
        return join();
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut hasher);
    let key = foreign::key_of_id(hasher.finish(), ResourceKind::Thread);
    foreign::known(key, ResourceKind::Thread, at, None, site, || {
        Shared::OsThread(id)
    });
    let _wait = WaitScope::begin(key, WaitKind::Join, site, false);
    join()
}

impl<U> Via<std::thread::JoinHandle<U>> {
    #[track_caller]
    pub fn join(
        &self,
        handle: std::thread::JoinHandle<U>,
        at: &'static Receiver,
        _owner: Owner,
    ) -> std::thread::Result<U> {
        let thread = handle.thread().id();
        join(thread, handle.is_finished(), at, Location::caller(), || {
            handle.join()
        })
    }
}

impl<'scope, U> Via<std::thread::ScopedJoinHandle<'scope, U>> {
    #[track_caller]
    pub fn join(
        &self,
        handle: std::thread::ScopedJoinHandle<'scope, U>,
        at: &'static Receiver,
        _owner: Owner,
    ) -> std::thread::Result<U> {
        let thread = handle.thread().id();
        join(thread, handle.is_finished(), at, Location::caller(), || {
            handle.join()
        })
    }
}

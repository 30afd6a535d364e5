//! One thread's events on their way to the writer: a bounded queue with one producer
//! (the thread) and one consumer at a time (the writer, or whoever finishes the
//! recording), so an event costs a slot write and a release store, with no lock and no
//! read-modify-write.
//!
//! | field | written by | read by | ordering |
//! |---|---|---|---|
//! | a slot | the producer, before it publishes `head` | the consumer, below `head` | `head`: release / acquire |
//! | `head` | the producer | the consumer | release / acquire |
//! | `tail` | the consumer, after it has moved the slots out | the producer, to see free room | release / acquire |
//! | `room_seen` | the producer only (a cache of `tail`) | the producer | relaxed |
//!
//! A slot is written only while it is free (`head - tail < capacity`, `tail` read with
//! acquire) and read only once published (below `head`, read with acquire), so producer
//! and consumer never touch one slot at once. Consumers are serialised by a lock that
//! the producer never takes.

use parking_lot::Mutex;
use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering::*};

/// Keeps a hot atomic on a cache line of its own.
#[repr(align(128))]
struct Padded<T>(T);

pub(crate) struct Queue<T> {
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
    head: Padded<AtomicUsize>,
    tail: Padded<AtomicUsize>,
    room_seen: Padded<AtomicUsize>,
    consumer: Mutex<()>,
}

// SAFETY: values move from the producer thread to a consumer thread (`T: Send`); slots
// are shared only through the protocol in the module docs.
unsafe impl<T: Send> Send for Queue<T> {}
// SAFETY: as above: a slot is accessed by one side at a time, ordered by `head`/`tail`.
unsafe impl<T: Send> Sync for Queue<T> {}

impl<T> Queue<T> {
    pub(crate) fn new(capacity: usize) -> Queue<T> {
        let capacity = capacity.max(2);
        Queue {
            slots: (0..capacity)
                .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
                .collect(),
            head: Padded(AtomicUsize::new(0)),
            tail: Padded(AtomicUsize::new(0)),
            room_seen: Padded(AtomicUsize::new(0)),
            consumer: Mutex::new(()),
        }
    }

    /// Adds `value`; the queue's length after, or the value back when it is full.
    ///
    /// # Safety
    /// Only one thread may ever push to a queue (its producer).
    #[inline]
    pub(crate) unsafe fn push(&self, value: T) -> Result<usize, T> {
        let head = self.head.0.load(Relaxed);
        let capacity = self.slots.len();
        let mut tail = self.room_seen.0.load(Relaxed);
        if head - tail >= capacity {
            tail = self.tail.0.load(Acquire);
            self.room_seen.0.store(tail, Relaxed);
            if head - tail >= capacity {
                return Err(value);
            }
        }
        let slot = self.slots[head % capacity].get();
        // SAFETY: `head - tail < capacity` with `tail` read with acquire: the consumer
        // has moved this slot's last value out, and will not read it again until `head`
        // passes it; only this thread (the sole producer) writes slots.
        unsafe { (*slot).write(value) };
        self.head.0.store(head + 1, Release);
        Ok(head + 1 - tail)
    }

    /// Moves the oldest published values, at most `at_most` of them, out to `out`.
    pub(crate) fn drain_into(&self, out: &mut Vec<T>, at_most: usize) {
        let _only_consumer = self.consumer.lock();
        let tail = self.tail.0.load(Relaxed);
        let head = self.head.0.load(Acquire).min(tail.saturating_add(at_most));
        let capacity = self.slots.len();
        out.reserve(head - tail);
        for index in tail..head {
            let slot = self.slots[index % capacity].get();
            // SAFETY: below `head` (acquire): published and fully written; the consumer
            // lock makes this the only reader, and the producer will not write it until
            // `tail` passes it.
            out.push(unsafe { (*slot).assume_init_read() });
        }
        self.tail.0.store(head, Release);
    }
}

impl<T> Drop for Queue<T> {
    fn drop(&mut self) {
        let (tail, head) = (*self.tail.0.get_mut(), *self.head.0.get_mut());
        let capacity = self.slots.len();
        for index in tail..head {
            // SAFETY: published and never moved out; `&mut self` excludes every other
            // access.
            unsafe { self.slots[index % capacity].get_mut().assume_init_drop() };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn values_cross_threads_in_order_and_none_is_lost_or_doubled() {
        let queue = Arc::new(Queue::<Box<u64>>::new(64));
        let producer = {
            let queue = queue.clone();
            std::thread::spawn(move || {
                let mut refused = 0u64;
                for value in 0..20_000u64 {
                    let mut item = Box::new(value);
                    // SAFETY: this thread is the queue's only producer.
                    while let Err(back) = unsafe { queue.push(item) } {
                        item = back;
                        refused += 1;
                        std::thread::yield_now();
                    }
                }
                refused
            })
        };
        let mut seen = Vec::new();
        while seen.len() < 20_000 {
            queue.drain_into(&mut seen, 1000);
        }
        producer.join().unwrap();
        assert!(seen.iter().map(|b| **b).eq(0..20_000u64));
    }

    #[test]
    fn a_full_queue_refuses_and_dropping_frees_what_is_left() {
        let queue = Queue::<String>::new(2);
        // SAFETY: this thread is the only producer.
        unsafe {
            assert_eq!(queue.push("a".into()), Ok(1));
            assert_eq!(queue.push("b".into()), Ok(2));
            assert_eq!(queue.push("c".into()), Err("c".to_string()));
        }
        let mut out = Vec::new();
        queue.drain_into(&mut out, 1);
        assert_eq!(out, ["a"], "at most one, the oldest");
        queue.drain_into(&mut out, usize::MAX);
        assert_eq!(out, ["a", "b"]);
        // SAFETY: as above.
        unsafe { queue.push("d".into()).unwrap() };
        drop(queue);
    }
}

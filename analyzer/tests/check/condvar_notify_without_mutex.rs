// The condition changes outside the mutex the waiter checks it under: a waiter between
// its check and its wait misses the notification.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};

pub struct Shutdown {
    requested: AtomicBool,
    lock: Mutex<()>,
    changed: Condvar,
}

impl Shutdown {
    pub fn wait(&self) {
        let mut guard = self.lock.lock().unwrap();
        while !self.requested.load(Ordering::SeqCst) {
            guard = self.changed.wait(guard).unwrap();
        }
    }

    pub fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
        self.changed.notify_all(); //~ WARN condvar-misuse
    }
}

// The waiter holds `stats` while it waits; the only notifier takes `stats` before it
// notifies. The wait gives back `state`, not `stats`: the notification never comes.
use std::sync::{Condvar, Mutex};

pub struct Pipeline {
    state: Mutex<bool>,
    ready: Condvar,
    stats: Mutex<u64>,
}

impl Pipeline {
    pub fn wait_ready(&self) {
        let mut stats = self.stats.lock().unwrap();
        let mut ready = self.state.lock().unwrap();
        while !*ready {
            ready = self.ready.wait(ready).unwrap(); //~ ERROR blocking-under-lock
        }
        *stats += 1;
    }

    pub fn publish(&self) {
        *self.stats.lock().unwrap() += 1; //~ ERROR blocking-under-lock
        *self.state.lock().unwrap() = true;
        self.ready.notify_all();
    }
}

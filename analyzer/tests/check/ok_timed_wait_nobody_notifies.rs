// A timed wait nothing notifies ends by itself: it is a sleep, not an orphaned wait.
use std::sync::{Condvar, Mutex};
use std::time::Duration;

pub struct Ticker {
    stop: Mutex<bool>,
    stopped: Condvar,
}

impl Ticker {
    pub fn tick(&self) -> bool {
        let stop = self.stop.lock().unwrap();
        let (stop, _) = self
            .stopped
            .wait_timeout(stop, Duration::from_millis(10))
            .unwrap();
        *stop
    }
}

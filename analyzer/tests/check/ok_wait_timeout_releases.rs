// parking_lot's wait takes `&mut guard` and gives the mutex back while waiting; the
// notifier takes only that mutex.
use parking_lot::{Condvar, Mutex};
use std::time::Duration;

pub struct Signal {
    raised: Mutex<bool>,
    cond: Condvar,
}

impl Signal {
    pub fn wait_a_while(&self) -> bool {
        let mut raised = self.raised.lock();
        if !*raised {
            self.cond.wait_for(&mut raised, Duration::from_millis(50));
        }
        *raised
    }

    pub fn raise(&self) {
        let mut raised = self.raised.lock();
        *raised = true;
        self.cond.notify_one();
    }
}

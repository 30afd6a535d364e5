// The fix that shipped: queue the work under the lock and return; nobody waits for it.
use waitgraph::sync::{Executor, Mutex};

pub struct Pool {
    executor: Executor,
    target: Mutex<usize>,
}

impl Pool {
    pub fn shrink(&self, to: usize) {
        let mut target = self.target.lock();
        *target = to;
        let _job = self.executor.queue();
    }

    pub fn work(&self) {
        let _serving = self.executor.enroll();
        let _target = self.target.lock();
    }
}

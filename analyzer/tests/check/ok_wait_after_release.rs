// The lock is released before waiting for the queued work.
use waitgraph::sync::{Executor, Mutex};

pub struct Pool {
    executor: Executor,
    state: Mutex<u32>,
}

impl Pool {
    pub fn update_then_wait(&self) {
        let job = {
            let mut state = self.state.lock();
            *state += 1;
            self.executor.queue()
        };
        job.wait();
    }

    pub fn work(&self) {
        let _serving = self.executor.enroll();
        *self.state.lock() += 1;
    }
}

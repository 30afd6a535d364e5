// The same wait with a bound: it gives up, so it is a stall each time, not a deadlock.
use std::time::Duration;
use waitgraph::sync::{Executor, Mutex};

pub struct Service {
    executor: Executor,
    config: Mutex<u32>,
}

impl Service {
    pub fn reload(&self) -> bool {
        let _config = self.config.lock();
        let job = self.executor.queue();
        job.wait_timeout(Duration::from_secs(5)) //~ WARN queued-work-self-stall
    }

    pub fn serve(&self) {
        let _serving = self.executor.enroll();
        let config = self.config.lock(); //~ WARN queued-work-self-stall
        drop(config);
    }
}

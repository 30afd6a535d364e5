// Work queued in one arm is not waited for in another.
use waitgraph::sync::{Executor, Job, Mutex};

pub enum Command {
    Submit,
    Wait(Job),
}

pub struct Pool {
    executor: Executor,
    state: Mutex<u32>,
}

impl Pool {
    pub fn handle(&self, command: Command) -> Option<Job> {
        let _state = self.state.lock();
        match command {
            Command::Submit => Some(self.executor.queue()),
            Command::Wait(job) => {
                drop(_state);
                job.wait();
                None
            }
        }
    }

    pub fn work(&self) {
        let _serving = self.executor.enroll();
        *self.state.lock() += 1;
    }
}

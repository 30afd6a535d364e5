// The incident's shape on waitgraph's executor: holding the state lock, queue a job to
// the pool and wait for it; the pool's workers take the state lock before they run
// anything, so the job never runs.
use std::sync::Arc;
use waitgraph::sync::{Executor, Mutex};

pub struct Shared {
    state: Mutex<Vec<u32>>,
}

pub struct Pool {
    executor: Executor,
    shared: Arc<Shared>,
}

struct Worker {
    executor: Executor,
    shared: Arc<Shared>,
}

impl Pool {
    pub fn start(&self) {
        let worker = Worker {
            executor: self.executor.clone(),
            shared: self.shared.clone(),
        };
        std::thread::spawn(move || worker.run());
    }

    pub fn flush(&self) {
        let state = self.shared.state.lock();
        let job = self.executor.queue();
        job.wait(); //~ ERROR queued-work-self-stall
        drop(state);
    }
}

impl Worker {
    fn run(self) {
        let _serving = self.executor.enroll();
        loop {
            let state = self.shared.state.lock(); //~ ERROR queued-work-self-stall
            if state.is_empty() {
                break;
            }
        }
    }
}

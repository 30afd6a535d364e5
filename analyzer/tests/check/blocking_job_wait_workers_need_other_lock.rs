// Waiting for queued work with a lock held that the workers never take: no self-stall,
// but every other thread that needs the lock waits as long as the job.

pub struct Pool {
    executor: Executor,
    admin: Mutex<u32>,
    data: Mutex<Vec<u8>>,
}

impl Pool {
    pub fn resize(&self) {
        let _admin = self.admin.lock();
        let job = self.executor.queue();
        job.wait(); //~ WARN blocking-under-lock
    }

    pub fn work(&self) {
        let _serving = self.executor.enroll();
        self.data.lock().push(1);
    }
}

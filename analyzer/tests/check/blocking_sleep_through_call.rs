// A retry helper that sleeps, called with a lock held.
use std::sync::Mutex;
use std::time::Duration;

pub struct Uploader {
    queue: Mutex<Vec<String>>,
}

fn back_off(attempt: u32) {
    std::thread::sleep(Duration::from_millis(10 << attempt)); //~ WARN blocking-under-lock
}

impl Uploader {
    pub fn retry_all(&self) {
        let queue = self.queue.lock().unwrap();
        for (attempt, _item) in queue.iter().enumerate() {
            back_off(attempt as u32);
        }
    }
}

// Consumers take turns on one receiver behind a mutex: blocking in `recv` with that
// mutex held is what the mutex is for.
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

pub fn consume(jobs: Arc<Mutex<Receiver<u32>>>) -> u32 {
    let mut total = 0;
    while let Ok(job) = jobs.lock().unwrap().recv() {
        total += job;
    }
    total
}

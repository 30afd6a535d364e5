// The job is a function that locks the mutex it is given; the scheduler hands it the
// service's cache through a move closure. Waiting for the reply with the cache held
// never ends.
use std::collections::HashMap;
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};

pub struct Service {
    cache: Arc<Mutex<HashMap<u32, String>>>,
    jobs: Sender<Box<dyn FnOnce() + Send>>,
}

impl Service {
    pub fn lookup(&self, id: u32) -> String {
        let cache = self.cache.lock().unwrap();
        if let Some(hit) = cache.get(&id) {
            return hit.clone();
        }
        let (tx, rx) = channel();
        self.submit_fetch(id, tx);
        let fetched = rx.recv().unwrap(); //~ ERROR queued-work-self-stall
        drop(cache);
        fetched
    }

    #[waitgraph::instrument(schedules = "workers")]
    fn submit_fetch(&self, id: u32, tx: Sender<String>) {
        let cache = self.cache.clone();
        self.jobs
            .send(Box::new(move || fetch(&cache, id, tx)))
            .unwrap();
    }
}

#[waitgraph::instrument(job = "workers")]
fn fetch(cache: &Mutex<HashMap<u32, String>>, id: u32, tx: Sender<String>) {
    let value = format!("item-{id}");
    cache.lock().unwrap().insert(id, value.clone()); //~ ERROR queued-work-self-stall
    tx.send(value).unwrap();
}

// A closure run by an iterator adaptor runs here, with the guard still held.
use std::sync::Mutex;

pub struct Tally {
    counts: Mutex<Vec<u32>>,
}

impl Tally {
    pub fn add_all(&self, items: &[u32]) {
        let counts = self.counts.lock().unwrap();
        let base = counts.len() as u32;
        items
            .iter()
            .for_each(move |item| self.counts.lock().unwrap().push(item + base)); //~ ERROR double-lock
    }
}

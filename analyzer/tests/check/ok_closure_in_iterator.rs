// A closure run in place takes the lock on each call and lets it go.
use std::sync::Mutex;

pub struct Totals {
    seen: Mutex<Vec<u32>>,
}

impl Totals {
    pub fn record_all(&self, items: &[u32]) -> usize {
        items.iter().for_each(|item| self.seen.lock().unwrap().push(*item));
        let doubled: Vec<u32> = items
            .iter()
            .map(|item| {
                let seen = self.seen.lock().unwrap();
                item * seen.len() as u32
            })
            .collect();
        doubled.len() + self.seen.lock().unwrap().len()
    }
}

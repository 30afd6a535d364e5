// Rayon jobs that take a lock, waited for by a caller that holds nothing; and a caller
// that holds a lock no rayon job takes, around a parallel iterator that computes.
use rayon::prelude::*;
use std::sync::Mutex;

static TOTALS: Mutex<Vec<u64>> = Mutex::new(Vec::new());
static CONFIG: Mutex<u64> = Mutex::new(1);

pub fn tally(items: &[u64]) {
    items.par_iter().for_each(|item| TOTALS.lock().unwrap().push(*item));
}

pub fn scaled_sum(items: &[u64]) -> u64 {
    let scale = *CONFIG.lock().unwrap();
    let sum: u64 = items.par_iter().map(|x| x * scale).sum();
    sum + TOTALS.lock().unwrap().len() as u64
}

pub fn both(items: &[u64]) -> u64 {
    let (a, b) = rayon::join(|| items.iter().sum::<u64>(), || items.len() as u64);
    a + b
}

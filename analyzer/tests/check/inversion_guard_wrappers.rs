// Accessors that return guards (`rl()`, `wl()`) are followed: the lock is taken where
// the accessor is called, and held as long as its guard.
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

pub struct Index {
    terms: RwLock<Vec<String>>,
    docs: RwLock<Vec<u32>>,
}

impl Index {
    fn terms(&self) -> RwLockWriteGuard<'_, Vec<String>> {
        self.terms.write().unwrap()
    }

    fn docs(&self) -> RwLockReadGuard<'_, Vec<u32>> {
        self.docs.read().unwrap()
    }

    pub fn add_term(&self, term: String) {
        let mut terms = self.terms();
        let docs = self.docs(); //~ ERROR lock-order-inversion
        terms.push(format!("{term}@{}", docs.len()));
    }

    pub fn add_doc(&self, doc: u32) {
        let mut docs = self.docs.write().unwrap();
        let terms = self.terms(); //~ ERROR lock-order-inversion
        docs.push(doc + terms.len() as u32);
    }
}

// Upgrading by taking the write lock while the read guard is alive never returns.
use std::sync::RwLock;

pub struct Config {
    entries: RwLock<Vec<(String, String)>>,
}

impl Config {
    pub fn set_if_missing(&self, key: &str, value: &str) {
        let entries = self.entries.read().unwrap();
        if !entries.iter().any(|(k, _)| k == key) {
            self.entries.write().unwrap().push((key.into(), value.into())); //~ ERROR double-lock
        }
    }
}

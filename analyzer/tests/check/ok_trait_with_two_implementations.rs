// With two implementations, a call through the trait could be either: no edge is made.
use std::sync::Mutex;

static REGISTRY: Mutex<Vec<String>> = Mutex::new(Vec::new());

pub trait Store {
    fn save(&self, entry: &str);
}

pub struct DiskStore {
    journal: Mutex<Vec<String>>,
}

pub struct MemoryStore;

impl Store for DiskStore {
    fn save(&self, entry: &str) {
        self.journal.lock().unwrap().push(entry.to_string());
    }
}

impl Store for MemoryStore {
    fn save(&self, _entry: &str) {}
}

impl DiskStore {
    pub fn flush(&self) {
        let journal = self.journal.lock().unwrap();
        REGISTRY.lock().unwrap().extend(journal.iter().cloned());
    }
}

pub fn register(store: &dyn Store, name: &str) {
    let mut registry = REGISTRY.lock().unwrap();
    registry.push(name.to_string());
    store.save(name);
}

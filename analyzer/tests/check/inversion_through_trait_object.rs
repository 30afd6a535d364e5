// A call through `dyn Store` reaches the only implementation: the journal lock is taken
// under the registry lock there, and the other way round in `flush`.
use std::sync::Mutex;

static REGISTRY: Mutex<Vec<String>> = Mutex::new(Vec::new());

pub trait Store {
    fn save(&self, entry: &str);
}

pub struct DiskStore {
    journal: Mutex<Vec<String>>,
}

impl Store for DiskStore {
    fn save(&self, entry: &str) {
        self.journal.lock().unwrap().push(entry.to_string()); //~ ERROR lock-order-inversion
    }
}

impl DiskStore {
    pub fn flush(&self) {
        let journal = self.journal.lock().unwrap();
        REGISTRY.lock().unwrap().extend(journal.iter().cloned()); //~ ERROR lock-order-inversion
    }
}

pub fn register(store: &dyn Store, name: &str) {
    let mut registry = REGISTRY.lock().unwrap();
    registry.push(name.to_string());
    store.save(name);
}

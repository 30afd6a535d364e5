// A temporary in a `match` scrutinee lives to the end of the match: the arm's lock waits
// for the scrutinee's guard.
use std::collections::HashMap;
use std::sync::Mutex;

pub struct Cache {
    entries: Mutex<HashMap<String, String>>,
}

impl Cache {
    pub fn get_or_fill(&self, key: &str) -> String {
        match self.entries.lock().unwrap().get(key) {
            Some(value) => value.clone(),
            None => {
                let value = key.to_uppercase();
                self.entries.lock().unwrap().insert(key.to_string(), value.clone()); //~ ERROR double-lock
                value
            }
        }
    }
}

// Edition 2021: an `if let` scrutinee's temporaries live to the end of the whole `if`,
// `else` included.
use std::sync::Mutex;

pub struct Registry {
    names: Mutex<Vec<String>>,
}

impl Registry {
    pub fn first_or_add(&self, name: &str) -> String {
        if let Some(first) = self.names.lock().unwrap().first() {
            first.clone()
        } else {
            self.names.lock().unwrap().push(name.to_string()); //~ ERROR double-lock
            name.to_string()
        }
    }
}

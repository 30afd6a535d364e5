// Shadowing a guard does not drop it: the first guard lives to the end of the block.
use std::sync::Mutex;

pub struct Settings {
    values: Mutex<Vec<String>>,
}

impl Settings {
    pub fn normalise(&self) {
        let values = self.values.lock().unwrap();
        let count = values.len();
        let values = self.values.lock().unwrap(); //~ ERROR double-lock
        assert_eq!(values.len(), count);
    }
}

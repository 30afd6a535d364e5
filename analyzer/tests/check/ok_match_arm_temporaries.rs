// Temporaries made inside an arm end with the arm; the scrutinee here holds no guard.
use std::sync::Mutex;

pub enum Command {
    Add(u32),
    Clear,
}

pub struct Store {
    values: Mutex<Vec<u32>>,
}

impl Store {
    pub fn apply(&self, command: Command) -> usize {
        let len = self.values.lock().unwrap().len();
        match command {
            Command::Add(value) => self.values.lock().unwrap().push(value),
            Command::Clear => self.values.lock().unwrap().clear(),
        }
        len + self.values.lock().unwrap().len()
    }
}

// A statement's temporaries end at its `;`.
use std::sync::Mutex;

pub struct Log {
    lines: Mutex<Vec<String>>,
}

impl Log {
    pub fn two_lines(&self) -> usize {
        self.lines.lock().unwrap().push("one".into());
        self.lines.lock().unwrap().push("two".into());
        let count = self.lines.lock().unwrap().len();
        count + self.lines.lock().unwrap().len()
    }
}

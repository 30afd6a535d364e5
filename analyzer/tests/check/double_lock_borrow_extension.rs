// `let r = &guard_expression.field` extends the guard to the end of the block.
use std::sync::Mutex;

pub struct Profile {
    name: String,
}

pub struct Users {
    current: Mutex<Profile>,
}

impl Users {
    pub fn rename(&self, suffix: &str) -> String {
        let name = &self.current.lock().unwrap().name;
        let renamed = format!("{name}{suffix}");
        self.current.lock().unwrap().name = renamed.clone(); //~ ERROR double-lock
        renamed
    }
}

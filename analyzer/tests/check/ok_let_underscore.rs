// `let _ = m.lock()` drops the guard at once; `let _g` would not.
use std::sync::Mutex;

pub struct Flag {
    set: Mutex<bool>,
}

impl Flag {
    pub fn touch_then_set(&self) {
        let _ = self.set.lock().unwrap();
        *self.set.lock().unwrap() = true;
    }
}

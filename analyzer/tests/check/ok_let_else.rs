// `let .. else` binds the guard for the rest of the block; the else block diverges.
use std::sync::Mutex;

pub struct Slot {
    value: Mutex<Option<u32>>,
}

impl Slot {
    pub fn take_and_refill(&self) -> u32 {
        let Ok(mut value) = self.value.lock() else {
            return 0;
        };
        let taken = value.take().unwrap_or(0);
        drop(value);
        *self.value.lock().unwrap() = Some(taken + 1);
        taken
    }
}

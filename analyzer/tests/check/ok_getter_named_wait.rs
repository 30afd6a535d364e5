// A method named `wait` that is not a barrier's (a getter) blocks nothing.
use std::sync::Mutex;

pub struct Slot {
    wait_ms: u64,
}

impl Slot {
    pub fn wait(&self) -> u64 {
        self.wait_ms
    }
}

pub struct Table {
    slots: Mutex<Vec<Slot>>,
}

impl Table {
    pub fn total_wait(&self) -> u64 {
        let slots = self.slots.lock().unwrap();
        slots.iter().map(|slot| slot.wait()).sum()
    }
}

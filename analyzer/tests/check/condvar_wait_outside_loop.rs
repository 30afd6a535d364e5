// One wait, no loop: a spurious wake-up (or a notification meant for another waiter)
// returns before the condition holds.
use std::sync::{Condvar, Mutex};

pub struct Mailbox {
    letter: Mutex<Option<String>>,
    arrived: Condvar,
}

impl Mailbox {
    pub fn receive(&self) -> Option<String> {
        let mut letter = self.letter.lock().unwrap();
        if letter.is_none() {
            letter = self.arrived.wait(letter).unwrap(); //~ WARN condvar-misuse
        }
        letter.take()
    }

    pub fn send(&self, text: String) {
        *self.letter.lock().unwrap() = Some(text);
        self.arrived.notify_one();
    }
}

// Waiting for a reply with the state lock held: every thread that needs the state waits
// as long as the reply takes.
use std::sync::mpsc::Receiver;
use std::sync::Mutex;

pub struct Client {
    state: Mutex<u32>,
}

impl Client {
    pub fn call(&self, replies: &Receiver<u32>) -> u32 {
        let mut state = self.state.lock().unwrap();
        let reply = replies.recv().unwrap(); //~ WARN blocking-under-lock
        *state += reply;
        *state
    }
}

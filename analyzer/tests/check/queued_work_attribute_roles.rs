// The attribute's roles say what the code cannot: `schedules` queues work to the
// "workers" pool, `job` runs on it. Waiting for the reply with the lock the job needs
// held never ends.
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Mutex;

pub struct Server {
    sessions: Mutex<Vec<u32>>,
    jobs: Sender<u32>,
}

impl Server {
    #[waitgraph::instrument(schedules = "workers")]
    fn submit(&self, id: u32) {
        let _ = self.jobs.send(id);
    }

    #[waitgraph::instrument(job = "workers")]
    fn handle(&self, id: u32) {
        self.sessions.lock().unwrap().push(id); //~ ERROR queued-work-self-stall
    }

    pub fn open(&self, id: u32, replies: &Receiver<u32>) -> u32 {
        let sessions = self.sessions.lock().unwrap();
        self.submit(id);
        let reply = replies.recv().unwrap(); //~ ERROR queued-work-self-stall
        reply + sessions.len() as u32
    }
}

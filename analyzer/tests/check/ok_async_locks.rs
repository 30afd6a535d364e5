// An async runtime's lock is taken with `.await`, and an awaited receive does not block
// a thread: neither is a thread lock's double lock or blocking under a lock.
use std::sync::Arc;

pub struct Session {
    state: tokio::sync::Mutex<u32>,
    replies: tokio::sync::Mutex<tokio::sync::mpsc::Receiver<u32>>,
}

impl Session {
    pub async fn handle(self: Arc<Self>) -> u32 {
        let mut state = self.state.lock().await;
        let reply = self.replies.lock().await.recv().await.unwrap_or(0);
        *state += reply;
        *state
    }
}

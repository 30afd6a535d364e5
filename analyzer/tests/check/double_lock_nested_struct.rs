// A lock reached through an `Arc` field of another struct, taken again by a helper of
// the inner type.
use parking_lot::Mutex;
use std::sync::Arc;

pub struct Inner {
    peers: Mutex<Vec<String>>,
}

pub struct Node {
    inner: Arc<Inner>,
}

impl Inner {
    fn peer_count(&self) -> usize {
        self.peers.lock().len() //~ ERROR double-lock
    }
}

impl Node {
    pub fn add_peer(&self, peer: String) -> usize {
        let mut peers = self.inner.peers.lock();
        peers.push(peer);
        self.inner.peer_count()
    }
}

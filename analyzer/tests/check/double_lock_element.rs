// The same element of a vector of locks, locked twice.
use std::sync::Mutex;

pub struct Shards {
    shards: Vec<Mutex<Vec<u64>>>,
}

impl Shards {
    pub fn move_within(&self, index: usize) {
        let mut shard = self.shards[index].lock().unwrap();
        let last = shard.pop();
        let mut again = self.shards[index].lock().unwrap(); //~ ERROR double-lock
        again.extend(last);
    }
}

// `try_lock` never waits: taking locks in the other order with it cannot deadlock.
use std::sync::Mutex;

pub struct Pair {
    left: Mutex<u32>,
    right: Mutex<u32>,
}

impl Pair {
    pub fn left_then_right(&self) -> u32 {
        let left = self.left.lock().unwrap();
        let right = self.right.lock().unwrap();
        *left + *right
    }

    pub fn right_then_maybe_left(&self) -> Option<u32> {
        let right = self.right.lock().unwrap();
        let left = self.left.try_lock().ok()?;
        Some(*left + *right)
    }
}

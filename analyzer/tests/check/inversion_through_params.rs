// A helper that locks its two arguments in order, called with them swapped.
use std::sync::Mutex;

static LEFT: Mutex<u32> = Mutex::new(0);
static RIGHT: Mutex<u32> = Mutex::new(0);

fn lock_both(first: &Mutex<u32>, second: &Mutex<u32>) -> u32 {
    let a = first.lock().unwrap();
    let b = second.lock().unwrap(); //~ ERROR lock-order-inversion
    *a + *b
}

pub fn left_then_right() -> u32 {
    lock_both(&LEFT, &RIGHT)
}

pub fn right_then_left() -> u32 {
    lock_both(&RIGHT, &LEFT)
}

// Scoped threads are joined when the scope ends: what the test does afterwards does not
// overlap with them.
use std::sync::Mutex;
use std::thread;

#[test]
fn reversed_after_the_scope() {
    let left = Mutex::new(0u32);
    let right = Mutex::new(0u32);
    thread::scope(|s| {
        s.spawn(|| {
            let _left = left.lock().unwrap();
            let _right = right.lock().unwrap();
        });
    });
    let _right = right.lock().unwrap();
    let _left = left.lock().unwrap();
}

// Meeting the other threads at a barrier with a lock held: the others block on the lock
// before they reach the barrier.
use std::sync::{Arc, Barrier, Mutex};
use std::thread;

pub fn phase(state: Arc<Mutex<Vec<u32>>>) {
    let barrier = Arc::new(Barrier::new(2));
    let other = Arc::clone(&barrier);
    let shared = Arc::clone(&state);
    let helper = thread::spawn(move || {
        shared.lock().unwrap().push(1);
        other.wait();
    });
    let mut values = state.lock().unwrap();
    values.push(2);
    barrier.wait(); //~ WARN blocking-under-lock
    drop(values);
    helper.join().unwrap();
}

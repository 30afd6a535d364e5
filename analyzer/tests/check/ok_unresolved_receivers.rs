// Receivers whose identity the checker cannot know make no finding: a guess would be a
// false alarm.
use std::io::Write;
use std::sync::Mutex;

pub trait Lockable {
    fn lock(&self) -> u32;
}

pub fn write_twice() {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "one");
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "two");
}

pub fn generic<T: Lockable>(a: &T) -> u32 {
    let first = a.lock();
    first + a.lock()
}

pub fn two_of_many(locks: &[Mutex<u32>], i: usize, j: usize) -> u32 {
    let a = locks[i].lock().unwrap();
    let b = locks[j].lock().unwrap();
    *a + *b
}

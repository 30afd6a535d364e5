// Two reads of a lock only this function writes, on its own thread: no writer of
// another thread can queue between them.
use std::sync::RwLock;

pub fn smoke() -> usize {
    let table = RwLock::new(vec![1u32]);
    {
        let first = table.read().unwrap();
        let second = table.read().unwrap();
        assert_eq!(first.len(), second.len());
    }
    table.write().unwrap().push(2);
    let len = table.read().unwrap().len();
    len
}

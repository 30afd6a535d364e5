// Two `#[cfg]` alternatives of one statement: a build compiles one of them, so the lock
// is taken once.
use std::sync::Mutex;

pub struct Notifier {
    wakers: Mutex<Option<Vec<u32>>>,
}

impl Notifier {
    pub fn record(&self, key: u32) {
        #[cfg(feature = "std")]
        let mut wakers = self.wakers.lock().unwrap();
        #[cfg(not(feature = "std"))]
        let mut wakers = self.wakers.lock().unwrap();
        if let Some(list) = wakers.as_mut() {
            list.push(key);
        }
    }

    #[cfg(windows)]
    pub fn twice(&self) {
        let _a = self.wakers.lock().unwrap();
        let _b = self.wakers.lock().unwrap();
    }
}

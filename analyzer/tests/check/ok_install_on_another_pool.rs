// Installing onto another pool, and back onto the pool one is already on (rayon runs
// that in place), needs no second thread of any pool.
use rayon::{ThreadPool, ThreadPoolBuilder};

pub struct Engine {
    compute: ThreadPool,
    io: ThreadPool,
}

impl Engine {
    pub fn new() -> Engine {
        Engine {
            compute: ThreadPoolBuilder::new().num_threads(1).build().unwrap(),
            io: ThreadPoolBuilder::new().num_threads(1).build().unwrap(),
        }
    }

    pub fn load(&self) -> u64 {
        self.compute.install(|| {
            let local = self.compute.install(|| 1);
            local + self.io.install(|| 41)
        })
    }
}

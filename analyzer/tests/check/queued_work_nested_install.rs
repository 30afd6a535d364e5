// Two single-thread pools: the compute pool's only thread waits in the io pool's install
// for a closure that installs back onto the compute pool.
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
            self.io.install(|| {
                self.compute.install(|| 42) //~ ERROR queued-work-self-stall
            })
        })
    }
}

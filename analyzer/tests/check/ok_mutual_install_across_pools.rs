// Installs nested across two single-thread rayon pools do not deadlock: a thread waiting
// in another pool's install keeps running its own pool's work (rayon's inter-pool fix),
// so the innermost install runs on the waiting thread itself.
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
        self.compute
            .install(|| self.io.install(|| self.compute.install(|| 42)))
    }
}

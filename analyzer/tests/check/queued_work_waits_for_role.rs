// `waits_for = "flusher"` on a wrapper says what the wait is for; the flusher's job takes
// the journal lock the caller holds.
use parking_lot::Mutex;

pub struct Journal {
    entries: Mutex<Vec<String>>,
}

impl Journal {
    #[waitgraph::instrument(waits_for = "flusher")]
    fn wait_flushed(&self) {
        std::thread::park();
    }

    #[waitgraph::instrument(serves = "flusher")]
    pub fn flush_loop(&self) {
        loop {
            let mut entries = self.entries.lock(); //~ ERROR queued-work-self-stall
            entries.clear();
        }
    }

    pub fn append_durably(&self, entry: String) {
        let mut entries = self.entries.lock();
        entries.push(entry);
        self.wait_flushed(); //~ ERROR queued-work-self-stall
    }
}

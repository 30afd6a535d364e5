// Global locks: a plain static, a LazyLock and a lazy_static, in a cycle.
use std::sync::{LazyLock, Mutex};

static SESSIONS: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static METRICS: LazyLock<Mutex<Vec<u64>>> = LazyLock::new(|| Mutex::new(Vec::new()));

lazy_static::lazy_static! {
    static ref LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());
}

pub fn open_session(id: u32) {
    let mut sessions = SESSIONS.lock().unwrap();
    sessions.push(id);
    METRICS.lock().unwrap().push(1); //~ ERROR lock-order-inversion
}

pub fn flush_metrics() {
    let metrics = METRICS.lock().unwrap();
    LOG.lock().unwrap().push(format!("{} metrics", metrics.len())); //~ ERROR lock-order-inversion
}

pub fn log_sessions() {
    let _log = LOG.lock().unwrap();
    let _sessions = SESSIONS.lock().unwrap(); //~ ERROR lock-order-inversion
}

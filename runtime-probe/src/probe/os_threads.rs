//! The process's threads as the operating system lists them, beside the probe's own: what
//! lets the watchdog say that no thread it does not know about exists, the condition of
//! its whole-process rule (see [`super::watchdog`]).
//!
//! | platform | a thread's id | the process's threads |
//! |---|---|---|
//! | Linux | `/proc/thread-self`, read once per thread when it registers | `/proc/self/task` |
//! | elsewhere | none | unknown: the whole-process rule stays off |

use parking_lot::Mutex;

/// Threads the probe runs itself (watchdog, notifier, trace writer): never a program's,
/// whatever they wait on.
static OWN: Mutex<Vec<u64>> = Mutex::new(Vec::new());

/// The operating system's id of the calling thread, if this platform says it.
pub fn current() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        // "<pid>/task/<tid>"
        let link = std::fs::read_link("/proc/thread-self").ok()?;
        link.file_name()?.to_str()?.parse().ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Called first thing on each thread the probe starts.
pub fn mark_own() {
    if let Some(id) = current() {
        let mut own = OWN.lock();
        // Bounded: a replaced thread's id is dropped once the thread is gone.
        if own.len() >= 64 {
            if let Some(live) = process() {
                own.retain(|id| live.contains(id));
            }
        }
        own.push(id);
    }
}

/// The ids of the probe's own threads (some may have ended).
pub fn own() -> Vec<u64> {
    OWN.lock().clone()
}

/// Every thread of the process now, sorted; `None` when the platform does not say.
pub fn process() -> Option<Vec<u64>> {
    #[cfg(target_os = "linux")]
    {
        let mut ids: Vec<u64> = std::fs::read_dir("/proc/self/task")
            .ok()?
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        ids.sort_unstable();
        Some(ids)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_thread_finds_itself_among_the_process_threads_and_another_thread_differs() {
        let me = current().expect("an id on Linux");
        assert!(process().unwrap().contains(&me));
        // Seen by the other thread while it runs (once it has ended, its id may be
        // listed a moment longer, or reused by another test's thread).
        let (other, listed) = std::thread::spawn(|| {
            let id = current().unwrap();
            (id, process().unwrap().contains(&id))
        })
        .join()
        .unwrap();
        assert_ne!(other, me);
        assert!(listed, "a running thread is among the process's threads");
    }
}

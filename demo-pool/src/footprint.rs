//! The run's footprint over time: the probe's registry size and the process's resident
//! memory, sampled while the load runs (`run --watch-memory`), to show that a service
//! instrumented by waitgraph does not grow with the requests it serves.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One sample.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub at: Duration,
    /// Resources the probe's registry holds.
    pub resources: usize,
    /// Resident memory, KiB (Linux; 0 elsewhere).
    pub resident_kib: u64,
}

pub struct Watch {
    stop: Arc<AtomicBool>,
    sampler: JoinHandle<Vec<Sample>>,
}

/// Starts sampling every `every`.
pub fn watch(every: Duration) -> Watch {
    let stop = Arc::new(AtomicBool::new(false));
    let done = stop.clone();
    let sampler = std::thread::Builder::new()
        .name("footprint".into())
        .spawn(move || {
            let started = Instant::now();
            let mut samples = Vec::new();
            while !done.load(Ordering::SeqCst) {
                samples.push(Sample {
                    at: started.elapsed(),
                    resources: waitgraph::dump().resources,
                    resident_kib: resident_kib(),
                });
                std::thread::park_timeout(every);
            }
            samples
        })
        .expect("spawn the footprint sampler");
    Watch { stop, sampler }
}

impl Watch {
    pub fn finish(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::SeqCst);
        self.sampler.thread().unpark();
        self.sampler.join().unwrap_or_default()
    }
}

/// What the samples say: flat, or how it grew. The first quarter of the run is warm-up
/// (pools, caches, allocator arenas); after it, the last quarter may exceed the second
/// quarter's peak by at most 10 % plus a small allowance.
pub fn verdict(samples: &[Sample]) -> Result<String, String> {
    if samples.len() < 8 {
        return Err(format!("only {} samples: run longer", samples.len()));
    }
    let quarter = samples.len() / 4;
    let settled = &samples[quarter..2 * quarter];
    let last = &samples[samples.len() - quarter..];
    let peak =
        |window: &[Sample], value: fn(&Sample) -> u64| window.iter().map(value).max().unwrap_or(0);
    let resources = |s: &Sample| s.resources as u64;
    let resident = |s: &Sample| s.resident_kib;
    let (registry_before, registry_after) = (peak(settled, resources), peak(last, resources));
    let (memory_before, memory_after) = (peak(settled, resident), peak(last, resident));
    let text = format!(
        "footprint over {:.0} s ({} samples): registry {registry_before} -> {registry_after} resources, resident memory {memory_before} -> {memory_after} KiB",
        samples[samples.len() - 1].at.as_secs_f64(),
        samples.len()
    );
    let flat = |before: u64, after: u64, allowance: u64| after <= before + before / 10 + allowance;
    if flat(registry_before, registry_after, 64) && flat(memory_before, memory_after, 8 * 1024) {
        Ok(text)
    } else {
        Err(format!("{text}: it grows"))
    }
}

fn resident_kib() -> u64 {
    // /proc/self/statm: size resident shared ... in pages.
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|text| text.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0);
    pages * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(resources: impl Fn(usize) -> usize) -> Vec<Sample> {
        (0..40)
            .map(|i| Sample {
                at: Duration::from_millis(500 * i as u64),
                resources: resources(i),
                resident_kib: 50_000,
            })
            .collect()
    }

    #[test]
    fn a_flat_run_passes_and_a_growing_one_fails() {
        assert!(verdict(&samples(|i| 300 + i % 7)).is_ok());
        // One leaked entry per request, a few hundred requests a sample.
        let error = verdict(&samples(|i| 300 + 400 * i)).unwrap_err();
        assert!(error.contains("it grows"), "{error}");
        assert!(verdict(&samples(|_| 1)[..4]).is_err());
    }
}

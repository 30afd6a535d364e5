//! The STD reader over arbitrary bytes, to the end: it must never panic, hang or grow
//! past one line and its tables of names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use waitgraph_analyzer::read::{StdReader, TraceReader};

fuzz_target!(|data: &[u8]| {
    let mut reader = StdReader::new(Path::new("fuzz.std"), data);
    for line in &mut reader {
        if let Err(error) = line {
            assert!(error.line.is_some());
        }
    }
    let summary = reader.summary();
    // At most two events a line (a condvar wait's end before a request).
    assert!(summary.events <= 2 * summary.lines);
});

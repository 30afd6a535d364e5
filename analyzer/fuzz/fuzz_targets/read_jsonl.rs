//! The JSON-lines reader over arbitrary bytes, to the end: it must never panic, hang or
//! grow past one line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use waitgraph_analyzer::read::{JsonLinesReader, TraceReader};

fuzz_target!(|data: &[u8]| {
    let mut reader = JsonLinesReader::new(Path::new("fuzz.jsonl"), data);
    for line in &mut reader {
        if let Err(error) = line {
            assert!(error.line.is_some() || error.message.starts_with("empty"));
        }
    }
    let summary = reader.summary();
    assert!(summary.events <= summary.lines);
});

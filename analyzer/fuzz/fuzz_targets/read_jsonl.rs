//! The JSON-lines reader over arbitrary bytes, to the end: it must never panic or hang,
//! every error about a line names it, the header comes first, and every line it yields
//! writes back and reads again as itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use waitgraph_analyzer::read::{JsonLinesReader, TraceLine, TraceReader};

fuzz_target!(|data: &[u8]| {
    let mut reader = JsonLinesReader::new(Path::new("fuzz.jsonl"), data);
    let mut yielded = 0u64;
    for line in &mut reader {
        match line {
            Ok(line) => {
                assert_eq!(yielded == 0, matches!(line, TraceLine::Trace(_)));
                yielded += 1;
                let text = serde_json::to_string(&line).unwrap();
                let again: TraceLine = serde_json::from_str(&text).unwrap();
                assert_eq!(again, line, "{text}");
            }
            Err(error) => assert!(error.line.is_some() || error.message.starts_with("empty")),
        }
    }
    let summary = reader.summary();
    assert!(summary.events < yielded.max(1));
    assert!(yielded <= summary.lines);
    if let Some(cut) = summary.truncated {
        assert_eq!(cut.line, summary.lines + 1);
        assert!(cut.bytes > 0);
    }
});

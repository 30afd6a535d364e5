//! Detection, then whichever reader it picks, over arbitrary bytes, to the end.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use waitgraph_analyzer::read;

fuzz_target!(|data: &[u8]| {
    match read::from_reader(Path::new("fuzz"), data) {
        Ok(mut reader) => {
            for line in &mut reader {
                if let Err(error) = line {
                    assert!(error.line.is_some() || error.message.starts_with("empty"));
                }
            }
            let _ = reader.summary();
        }
        Err(error) => assert!(error.line.is_some() || error.message.starts_with("empty")),
    }
});

//! Detection, then whichever reader it picks, over arbitrary bytes, to the end: what it
//! yields is exactly what that format's reader yields from the same bytes (detection
//! loses no line or byte and shifts no line number).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use waitgraph_analyzer::read::{
    self, BinaryReader, Format, JsonLinesReader, StdReader, TraceReader,
};

fn drain(reader: &mut dyn TraceReader) -> (Vec<String>, read::ReadSummary) {
    let lines = reader
        .map(|line| match line {
            Ok(line) => format!("{line:?}"),
            Err(error) => {
                assert!(
                    error.line.is_some()
                        || error.byte.is_some()
                        || error.message.starts_with("empty")
                );
                format!("error {error}")
            }
        })
        .collect();
    (lines, reader.summary())
}

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz");
    match read::from_reader(path, data) {
        Ok(mut reader) => {
            let detected = drain(&mut reader);
            let direct = match reader.format() {
                Format::JsonLines => drain(&mut JsonLinesReader::new(path, data)),
                Format::Std => drain(&mut StdReader::new(path, data)),
                Format::Binary => drain(&mut BinaryReader::new(path, data)),
                other => panic!("a format with no reader here: {other:?}"),
            };
            assert_eq!(detected, direct);
        }
        // Detection's refusals are about a line (binary data: the first).
        Err(error) => assert!(error.line.is_some() || error.message.starts_with("empty")),
    }
});

//! The binary reader over arbitrary bytes, fed in pieces of varying size, to the end: it
//! must never panic, hang or read a record longer than the limit; every error names its
//! byte; it yields exactly what the core's own `binary::Reader` yields from the same bytes
//! (the same lines, the same error, the same cut), the header first; and every line it
//! yields encodes and decodes again as itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Read;
use std::path::Path;
use waitgraph_analyzer::read::{self, BinaryReader, Format, TraceLine, TraceReader};
use waitgraph_core::binary::{is_binary, Encoder, Reader};

/// Gives `data` back in pieces of 1 to 9 bytes (their sizes taken from the data), so
/// records and the magic span reads.
struct Pieces<'a> {
    data: &'a [u8],
    at: usize,
}

impl Read for Pieces<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let rest = &self.data[self.at..];
        let size = 1 + usize::from(rest.first().copied().unwrap_or(0) % 9);
        let size = size.min(rest.len()).min(out.len());
        out[..size].copy_from_slice(&rest[..size]);
        self.at += size;
        Ok(size)
    }
}

fn drain(reader: &mut dyn TraceReader) -> (Vec<TraceLine>, Option<String>, read::ReadSummary) {
    let mut lines = Vec::new();
    let mut failed = None;
    for line in &mut *reader {
        match line {
            Ok(line) => {
                assert!(failed.is_none(), "a line after an error");
                lines.push(line);
            }
            Err(error) => {
                assert!(error.byte.is_some() || error.message.starts_with("empty"));
                assert!(error.column.is_none());
                failed = Some(error.to_string());
            }
        }
    }
    (lines, failed, reader.summary())
}

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.wgtrace");
    let (lines, failed, summary) = drain(&mut BinaryReader::new(path, data));
    assert_eq!(summary.format, Format::Binary);

    // Read in small pieces: the same.
    let pieces = Pieces { data, at: 0 };
    let again = drain(&mut BinaryReader::new(path, pieces));
    assert_eq!((&again.0, &again.1, &again.2), (&lines, &failed, &summary));

    // Through detection, when it starts as a binary trace: the same.
    if is_binary(data) {
        let mut detected = read::from_reader(path, data).unwrap();
        assert_eq!(detected.format(), Format::Binary);
        let detected = drain(&mut detected);
        assert_eq!(
            (&detected.0, &detected.1, &detected.2),
            (&lines, &failed, &summary)
        );
    }

    // The core's reader: the same lines, the same error, the same cut.
    let mut core = Reader::new(data);
    let mut core_lines = Vec::new();
    let mut core_error = None;
    for line in &mut core {
        match line {
            Ok(line) => core_lines.push(line),
            Err(error) => core_error = Some(error),
        }
    }
    // Only this reader checks the header's schema: it stops there, the core goes on.
    let newer_schema = failed
        .as_deref()
        .is_some_and(|error| error.contains("trace schema"));
    assert!(lines.len() <= core_lines.len());
    assert_eq!(&core_lines[..lines.len()], &lines[..]);
    if !newer_schema {
        assert_eq!(lines, core_lines);
        if let Some(error) = &core_error {
            let ours = failed.as_deref().expect("an error where the core has one");
            assert!(ours.ends_with(&format!(": {error}")), "{ours} / {error}");
        }
        if failed.is_none() {
            let cut = core.cut().map(|cut| cut.bytes);
            assert_eq!(cut, summary.truncated.map(|t| t.bytes));
        }
    }

    // The header first; the summary agrees with what was yielded.
    if let Some(first) = lines.first() {
        assert!(matches!(first, TraceLine::Trace(_)));
    }
    let events = lines
        .iter()
        .filter(|line| matches!(line, TraceLine::Event(_)))
        .count() as u64;
    assert_eq!(summary.events, events);
    assert!(lines.len() as u64 <= summary.lines);
    if let Some(cut) = summary.truncated {
        assert_eq!(cut.line, summary.lines + 1);
        assert!(cut.bytes > 0);
        assert!(cut.bytes as usize <= data.len());
    }

    // What was read writes back and reads again as itself.
    if let Some(TraceLine::Trace(header)) = lines.first() {
        let mut bytes = Vec::new();
        let mut encoder = Encoder::start(header, &mut bytes);
        for line in &lines[1..] {
            encoder.line(line, &mut bytes);
        }
        let (round, error, _) = drain(&mut BinaryReader::new(path, &bytes[..]));
        assert_eq!(error, None);
        assert_eq!(round, lines);
    }
});

//! The trace readers, per format: what they yield, what they refuse and how they say it.

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use waitgraph::model::{
    Class, Event, EventKind, LockMode, ResourceInfo, ResourceKey, ResourceKind, Site, ThreadInfo,
    ThreadKey, TraceHeader, TraceLine, WaitEnd, WaitKind,
};
use waitgraph_analyzer::read::{
    self, BinaryReader, Format, JsonLinesReader, ReadError, StdReader, TraceReader, Truncated,
    MAX_LINE,
};
use waitgraph_analyzer::trace;
use waitgraph_core::binary::{Encoder, MAGIC, VERSION};

const HEADER: &str = r#"{"trace":{"schema":1,"tool":"waitgraph","version":"0.1.0"}}"#;
const THREAD: &str = r#"{"thread":{"key":1,"name":"main"}}"#;
const RESOURCE: &str = r#"{"resource":{"key":7,"kind":"mutex","class":{"by":"named","value":"gil"},"created":{"file":"src/main.rs","line":3}}}"#;
const EVENT_2: &str =
    r#"{"event":{"seq":2,"thread":1,"event":"lock-released","resource":7,"mode":"exclusive"}}"#;
const EVENT_1: &str =
    r#"{"event":{"seq":1,"thread":1,"event":"lock-acquired","resource":7,"mode":"exclusive"}}"#;
const END: &str = r#"{"end":{"events":2,"dropped":0}}"#;

/// Every line of `text` read through detection, or the first error (with what came before).
fn read_all(
    name: &str,
    text: impl AsRef<[u8]>,
) -> (Vec<TraceLine>, Result<read::ReadSummary, ReadError>) {
    let bytes = text.as_ref().to_vec();
    let mut reader = match read::from_reader(Path::new(name), Cursor::new(bytes)) {
        Ok(reader) => reader,
        Err(error) => return (Vec::new(), Err(error)),
    };
    drain(&mut reader)
}

fn drain(reader: &mut dyn TraceReader) -> (Vec<TraceLine>, Result<read::ReadSummary, ReadError>) {
    let mut lines = Vec::new();
    for line in &mut *reader {
        match line {
            Ok(line) => lines.push(line),
            Err(error) => {
                assert!(reader.next().is_none(), "a reader ends after an error");
                return (lines, Err(error));
            }
        }
    }
    (lines, Ok(reader.summary()))
}

fn error_of(name: &str, text: impl AsRef<[u8]>) -> ReadError {
    read_all(name, text).1.unwrap_err()
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("waitgraph-readers-{}-{name}", std::process::id()))
}

// ---- STD ------------------------------------------------------------------------------

const STD: &str = "\
T0|acq(l1)|10
T0|fork(T1)|11
T1|req(l1)|20
T0|w(x)|12
T0|rel(l1)|13
T0|wait(l1)|13
T1|acq(l1)|21
T1|r(x)|22
T1|notify(l1)|23
T1|rel(l1)|24
T0|req(l1)|14
T0|acq(l1)|14
T0|begin|15
T0|end|16
T0|rel(l1)|17
T0|join(T1)|18
";

fn site(line: u32, function: Option<&'static str>) -> Site {
    Site {
        file: Cow::Borrowed("hand.std"),
        line,
        column: 0,
        function: function.map(Cow::Borrowed),
    }
}

fn thread(key: u64, name: &str) -> TraceLine {
    TraceLine::Thread(ThreadInfo {
        key: ThreadKey(key),
        name: Some(name.into()),
    })
}

fn resource(key: u64, kind: ResourceKind, name: &'static str, line: u32) -> TraceLine {
    TraceLine::Resource(ResourceInfo {
        key: ResourceKey(key),
        kind,
        class: Class::Named(Cow::Borrowed(name)),
        created: site(line, None),
    })
}

fn event(seq: u64, thread: u64, location: &'static str, kind: EventKind) -> TraceLine {
    TraceLine::Event(Event {
        seq,
        thread: ThreadKey(thread),
        kind,
        site: Some(site(seq as u32, Some(location))),
    })
}

#[test]
fn a_hand_written_std_trace_maps_to_exactly_these_lines() {
    let lock = ResourceKey(1);
    let x = ResourceKey(2);
    let condvar = ResourceKey(3);
    let mode = LockMode::Exclusive;
    let expected = vec![
        TraceLine::Trace(TraceHeader::current()),
        thread(1, "T0"),
        resource(1, ResourceKind::Mutex, "l1", 1),
        event(
            1,
            1,
            "10",
            EventKind::LockAcquired {
                resource: lock,
                mode,
            },
        ),
        thread(2, "T1"),
        event(
            2,
            1,
            "11",
            EventKind::Fork {
                child: ThreadKey(2),
            },
        ),
        event(
            3,
            2,
            "20",
            EventKind::LockRequested {
                resource: lock,
                mode,
            },
        ),
        resource(2, ResourceKind::Variable, "x", 4),
        event(4, 1, "12", EventKind::Write { resource: x }),
        event(
            5,
            1,
            "13",
            EventKind::LockReleased {
                resource: lock,
                mode,
            },
        ),
        resource(3, ResourceKind::Condvar, "l1", 6),
        event(
            6,
            1,
            "13",
            EventKind::WaitBegin {
                resource: condvar,
                wait: WaitKind::Condvar,
                timed: false,
            },
        ),
        event(
            7,
            2,
            "21",
            EventKind::LockAcquired {
                resource: lock,
                mode,
            },
        ),
        event(8, 2, "22", EventKind::Read { resource: x }),
        event(
            9,
            2,
            "23",
            EventKind::Notify {
                resource: condvar,
                all: false,
            },
        ),
        event(
            10,
            2,
            "24",
            EventKind::LockReleased {
                resource: lock,
                mode,
            },
        ),
        event(
            11,
            1,
            "14",
            EventKind::WaitEnd {
                resource: condvar,
                end: WaitEnd::Woken,
            },
        ),
        event(
            11,
            1,
            "14",
            EventKind::LockRequested {
                resource: lock,
                mode,
            },
        ),
        event(
            12,
            1,
            "14",
            EventKind::LockAcquired {
                resource: lock,
                mode,
            },
        ),
        event(
            13,
            1,
            "15",
            EventKind::Enter {
                function: "transaction".into(),
            },
        ),
        event(
            14,
            1,
            "16",
            EventKind::Exit {
                function: "transaction".into(),
            },
        ),
        event(
            15,
            1,
            "17",
            EventKind::LockReleased {
                resource: lock,
                mode,
            },
        ),
        event(
            16,
            1,
            "18",
            EventKind::Join {
                child: ThreadKey(2),
            },
        ),
    ];
    let (lines, summary) = read_all("hand.std", STD);
    assert_eq!(lines, expected);
    assert_eq!(
        summary.unwrap(),
        read::ReadSummary {
            format: Format::Std,
            lines: 16,
            events: 17,
            truncated: None,
        }
    );
    // The same through the STD reader alone, and with CRLF line ends and blanks.
    let direct: Vec<_> = StdReader::new(Path::new("hand.std"), STD.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(direct, expected);
    let crlf = STD.replace('\n', "\r\n").replace('|', " | ");
    let (lines, summary) = read_all("hand.std", crlf);
    assert_eq!(lines, expected);
    assert!(summary.is_ok());
}

#[test]
fn a_wait_ends_only_at_the_same_threads_request_of_the_same_lock() {
    let text = "T0|wait(l)|1\nT1|acq(l)|2\nT0|acq(m)|3\nT0|acq(l)|4\nT0|acq(l)|5\n";
    let (lines, _) = read_all("w.std", text);
    let ends: Vec<u64> = lines
        .iter()
        .filter_map(|line| match line {
            TraceLine::Event(Event {
                seq,
                kind: EventKind::WaitEnd { .. },
                ..
            }) => Some(*seq),
            _ => None,
        })
        .collect();
    assert_eq!(ends, [4]);
}

#[test]
fn std_is_told_from_the_content_not_the_name() {
    let path = temp_path("std-named.jsonl");
    std::fs::write(&path, STD).unwrap();
    let reader = read::open(&path).unwrap();
    assert_eq!(reader.format(), Format::Std);
    let loaded = trace::load(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(loaded.events.len(), 17);
    assert_eq!(loaded.threads.len(), 2);
    assert_eq!(loaded.resources.len(), 3);
    assert!(!loaded.truncated);
}

#[test]
fn a_malformed_std_line_in_the_middle_says_line_column_and_what_was_expected() {
    let text = "T0|acq(l)|1\nT0|acq l|2\nT0|rel(l)|3\n";
    let (lines, result) = read_all("bad.std", text);
    let error = result.unwrap_err();
    assert_eq!(
        error.to_string(),
        "bad.std:2:7: expected `acq(<lock>)`, found `acq l`"
    );
    assert_eq!((error.line, error.column), (Some(2), Some(7)));
    // The first line's descriptions and event came before.
    assert_eq!(lines.len(), 4);

    let error = error_of("bad.std", "T0|acq(l)|1\nT0|lock(l)|2\n");
    assert_eq!(
        error.to_string(),
        "bad.std:2:4: unknown operation `lock`: expected one of acq, rel, req, r, w, fork, join, begin, end, wait, notify"
    );
    let error = error_of("bad.std", "T0|acq(l)|1\njunk\n");
    assert_eq!(
        error.to_string(),
        "bad.std:2:5: expected `T<thread>|op(arg)|location`, found `junk`"
    );
}

#[test]
fn a_cut_last_std_line_keeps_every_complete_line() {
    let (lines, summary) = read_all("cut.std", "T0|acq(l)|1\nT0|rel(l)|2\nT0|ac");
    assert_eq!(
        summary.unwrap().truncated,
        Some(Truncated { line: 3, bytes: 5 })
    );
    assert_eq!(lines.len(), 5);
    // A last line without its newline that reads whole is kept.
    let (lines, summary) = read_all("cut.std", "T0|acq(l)|1\nT0|rel(l)|2");
    let summary = summary.unwrap();
    assert_eq!(
        (lines.len(), summary.lines, summary.truncated),
        (5, 2, None)
    );
    // Cut anywhere else, a bad line is an error.
    let error = error_of("cut.std", "T0|acq(l)|1\nT0|ac\nT0|rel(l)|2\n");
    assert_eq!(error.line, Some(2));
}

// ---- JSON lines -----------------------------------------------------------------------

#[test]
fn json_lines_come_in_file_order_and_pass_undescribed_names_on() {
    let strange = r#"{"event":{"seq":3,"thread":99,"event":"notify","resource":1234,"all":true}}"#;
    let text = format!(
        "{HEADER}\n{THREAD}\n{RESOURCE}\n{THREAD}\n{EVENT_2}\n{EVENT_1}\n{strange}\n{END}\n"
    );
    let (lines, summary) = read_all("run.trace.jsonl", &text);
    let summary = summary.unwrap();
    assert_eq!(
        summary,
        read::ReadSummary {
            format: Format::JsonLines,
            lines: 8,
            events: 3,
            truncated: None,
        }
    );
    let expected: Vec<TraceLine> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines, expected);
}

/// Records three threads taking one lock 200 times each into `path`. One recording runs
/// per process, so the tests that record take turns.
fn record_three_workers(path: &std::path::Path) -> waitgraph::record::TraceSummary {
    static ONE_RECORDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_RECORDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let recording = waitgraph::record::TraceFile::create(path).unwrap();
    let lock = std::sync::Arc::new(waitgraph::sync::Mutex::named("shared", 0u64));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let lock = lock.clone();
            waitgraph::thread::spawn(move || {
                for _ in 0..200 {
                    *lock.lock() += 1;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let written = recording.finish().unwrap();
    assert_eq!(*lock.lock(), 600);
    written
}

#[test]
fn a_recorded_trace_round_trips() {
    let path = temp_path("recorded.jsonl");
    let written = record_three_workers(&path);

    let text = std::fs::read_to_string(&path).unwrap();
    let mut reader = read::open(&path).unwrap();
    assert_eq!(reader.format(), Format::JsonLines);
    let (lines, summary) = drain(&mut *reader);
    let summary = summary.unwrap();
    let _ = std::fs::remove_file(&path);
    let expected: Vec<TraceLine> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines, expected, "every line, as written, in file order");
    assert_eq!(summary.events, written.events);
    assert_eq!(summary.lines, text.lines().count() as u64);
    assert_eq!(summary.truncated, None);
    assert!(matches!(lines.first(), Some(TraceLine::Trace(_))));
    assert!(matches!(lines.last(), Some(TraceLine::End(end)) if end.events == written.events));
    assert!(written.events >= 1200, "{} events", written.events);
}

#[test]
fn a_malformed_json_line_in_the_middle_says_line_column_and_what_was_expected() {
    let text = format!("{HEADER}\n{THREAD}\n{{\"event\":{{\"seq\":1,,}}}}\n{EVENT_1}\n");
    let (lines, result) = read_all("run.trace.jsonl", text);
    let error = result.unwrap_err();
    assert_eq!((error.line, error.column), (Some(3), Some(19)));
    assert!(
        error
            .to_string()
            .starts_with("run.trace.jsonl:3:19: expected a trace line ("),
        "{error}"
    );
    assert!(
        error.message.contains("found `{\"event\":{\"seq\":1,,}}`"),
        "{error}"
    );
    assert_eq!(lines.len(), 2);
}

#[test]
fn a_cut_last_json_line_keeps_every_complete_line() {
    let cut = &EVENT_2[..EVENT_2.len() / 2];
    let text = format!("{HEADER}\n{THREAD}\n{EVENT_1}\n{cut}");
    let (lines, summary) = read_all("run.trace.jsonl", &text);
    let summary = summary.unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        summary.truncated,
        Some(Truncated {
            line: 4,
            bytes: cut.len() as u64,
        })
    );
    assert_eq!((summary.lines, summary.events), (3, 1));
    let loaded = trace::parse(text.as_bytes(), Path::new("run.trace.jsonl")).unwrap();
    assert!(loaded.truncated);
    // Cut in its header: no trace at all.
    let error = error_of("run.trace.jsonl", &HEADER[..10]);
    assert_eq!(error.line, Some(1));
    assert!(error.message.contains("cut short"), "{error}");
}

#[test]
fn an_overlong_line_is_refused_without_reading_it_whole() {
    // An endless line: a reader that read it whole would never return.
    for start in [format!("{HEADER}\n"), "T0|acq(l)|1\n".to_string()] {
        let endless = Cursor::new(start.into_bytes()).chain(std::io::repeat(b'x'));
        let mut reader = read::from_reader(Path::new("big"), BufReader::new(endless)).unwrap();
        let error = reader.find_map(Result::err).unwrap();
        assert_eq!(
            error.to_string(),
            format!("big:2: line longer than {MAX_LINE} bytes")
        );
    }
    // Also as the very first line.
    let endless = Cursor::new(HEADER.as_bytes().to_vec()).chain(std::io::repeat(b' '));
    let error = read::from_reader(Path::new("big"), BufReader::new(endless))
        .err()
        .unwrap();
    assert_eq!(
        error.to_string(),
        format!("big:1: line longer than {MAX_LINE} bytes")
    );
}

#[test]
fn a_newer_schema_is_refused_clearly() {
    let newer = HEADER.replace("\"schema\":1", "\"schema\":9");
    let error = error_of("new.jsonl", format!("{newer}\n{EVENT_1}\n"));
    assert_eq!(
        error.to_string(),
        "new.jsonl:1: trace schema 9 is newer than this analyzer reads (1); update waitgraph"
    );
    // Even when the newer header no longer reads as this one.
    let error = error_of("new.jsonl", "{\"trace\":{\"schema\":2,\"format\":[1]}}\n");
    assert!(error.message.contains("schema 2 is newer"), "{error}");
}

#[test]
fn header_rules_hold_for_json_lines() {
    let error = error_of("h.jsonl", format!("{EVENT_1}\n"));
    assert!(
        error.to_string().starts_with(
            "h.jsonl:1:1: expected the trace header {\"trace\":{..}} first, found `{\"event\""
        ),
        "{error}"
    );
    let error = error_of("h.jsonl", format!("{HEADER}\n{HEADER}\n"));
    assert_eq!(
        error.to_string(),
        "h.jsonl:2:1: expected one trace header, found a second"
    );
    let error = error_of("h.jsonl", format!("{HEADER}\n{END}\n{EVENT_1}\n"));
    assert_eq!(
        error.to_string(),
        "h.jsonl:3:1: expected nothing after the `end` line"
    );
    // Through the JSON-lines reader alone, with no detection before it.
    let mut reader = JsonLinesReader::new(Path::new("h.jsonl"), &b"\n\n"[..]);
    assert_eq!(
        reader.next().unwrap().unwrap_err().to_string(),
        "h.jsonl: empty: expected the trace header {\"trace\":{..}}"
    );
    assert!(reader.next().is_none());
}

// ---- what is not a trace ----------------------------------------------------------------

#[test]
fn a_report_given_by_mistake_is_named() {
    let report = waitgraph::report::Report::new(waitgraph::report::Mode::Live, Vec::new());
    for text in [
        serde_json::to_string_pretty(&report).unwrap(),
        serde_json::to_string(&report).unwrap(),
    ] {
        let error = error_of("report.json", text);
        assert!(error.line.is_some(), "{error}");
        assert!(
            error.message.starts_with("this is a waitgraph report")
                && error.message.contains("a trace is what a recording writes"),
            "{error}"
        );
    }
}

#[test]
fn empty_files_are_refused() {
    for text in ["", "\n\n  \n", "   "] {
        let error = error_of("empty", text);
        assert_eq!(error.line, None);
        assert!(
            error
                .to_string()
                .starts_with("empty: empty: expected a trace"),
            "{error}"
        );
    }
    let path = temp_path("empty");
    std::fs::write(&path, "").unwrap();
    let error = trace::load(&path).unwrap_err();
    let _ = std::fs::remove_file(&path);
    assert!(error.message.starts_with("empty: "), "{error}");
}

#[test]
fn binary_and_other_files_say_what_they_look_like() {
    // Pseudo-random bytes, a fixed seed.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let error = error_of("random.bin", &random);
    assert!(
        error.message.starts_with("binary data (starting "),
        "{error}"
    );
    assert!(error.line.is_some());
    let error = error_of("elf", b"\x7fELF\x02\x01\x01\0\0\0");
    assert!(
        error
            .message
            .starts_with("binary data (starting 7f 45 4c 46 02 01 01 00)"),
        "{error}"
    );
    let error = error_of("x.json", "{\"name\":\"x\"}\n");
    assert!(
        error
            .message
            .starts_with("a JSON object whose first key is `name`, not a trace"),
        "{error}"
    );
    let error = error_of("x.json", "[1, 2]\n");
    assert!(
        error.message.starts_with("a JSON array, not a trace"),
        "{error}"
    );
    let error = error_of("notes.txt", "\nhello world\n");
    assert_eq!(
        error.to_string(),
        "notes.txt:2:1: text in no trace format known here: `hello world`; expected a trace: waitgraph's binary format or JSON lines (a first line {\"trace\":{..}}), or STD lines such as `T0|acq(l)|12`"
    );
    let error = read::open(Path::new("/nonexistent/waitgraph/trace"))
        .err()
        .unwrap();
    assert!(
        error
            .to_string()
            .starts_with("/nonexistent/waitgraph/trace: cannot open: "),
        "{error}"
    );
}

#[test]
fn errors_display_path_line_and_column() {
    let error = ReadError {
        path: "a/b.std".into(),
        line: Some(3),
        column: Some(7),
        byte: None,
        message: "expected x, found y".into(),
    };
    assert_eq!(error.to_string(), "a/b.std:3:7: expected x, found y");
    let error = ReadError {
        column: None,
        ..error
    };
    assert_eq!(error.to_string(), "a/b.std:3: expected x, found y");
    let error = ReadError {
        line: None,
        ..error
    };
    assert_eq!(error.to_string(), "a/b.std: expected x, found y");
    // A binary trace's: the byte where the record starts, and the record.
    let error = ReadError {
        line: Some(56),
        byte: Some(1234),
        ..error
    };
    assert_eq!(
        error.to_string(),
        "a/b.std: byte 1234 (record 56): expected x, found y"
    );
    let error = ReadError {
        line: None,
        ..error
    };
    assert_eq!(error.to_string(), "a/b.std: byte 1234: expected x, found y");
}

#[test]
fn readers_take_any_buf_read() {
    fn lines_of(input: impl BufRead) -> usize {
        read::from_reader(Path::new("any"), input).unwrap().count()
    }
    assert_eq!(lines_of(STD.as_bytes()), 23);
    assert_eq!(lines_of(BufReader::with_capacity(1, STD.as_bytes())), 23);
}

// ---- binary ---------------------------------------------------------------------------

/// The lines of a small trace with a lock-order inversion, as the recorder gives them.
fn binary_lines() -> Vec<TraceLine> {
    let x = LockMode::Exclusive;
    let (a, b) = (ResourceKey(7), ResourceKey(8));
    let mut lines = vec![
        TraceLine::Trace(TraceHeader::current()),
        thread(1, "main"),
        thread(2, "worker"),
        resource(7, ResourceKind::Mutex, "a", 1),
        resource(8, ResourceKind::Mutex, "b", 2),
    ];
    let mut seq = 0;
    for (thread, first, second) in [(1, a, b), (2, b, a)] {
        for kind in [
            EventKind::LockAcquired {
                resource: first,
                mode: x,
            },
            EventKind::LockAcquired {
                resource: second,
                mode: x,
            },
            EventKind::LockReleased {
                resource: second,
                mode: x,
            },
            EventKind::LockReleased {
                resource: first,
                mode: x,
            },
        ] {
            seq += 1;
            lines.push(event(seq, thread, "step", kind));
        }
    }
    lines.push(TraceLine::End(waitgraph::model::TraceEnd {
        events: 8,
        dropped: 0,
    }));
    lines
}

fn encode(lines: &[TraceLine]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let TraceLine::Trace(header) = &lines[0] else {
        panic!("a header first")
    };
    let mut encoder = Encoder::start(header, &mut bytes);
    for line in &lines[1..] {
        encoder.line(line, &mut bytes);
    }
    bytes
}

/// Where each record ends in `bytes`, the magic and version first: read back with the
/// reader's own counts, one record at a time.
fn record_ends(bytes: &[u8]) -> Vec<usize> {
    let mut ends = vec![MAGIC.len() + 2];
    let mut at = ends[0];
    while at < bytes.len() {
        let mut length = 0usize;
        let mut used = 0;
        loop {
            let byte = bytes[at + 1 + used];
            length |= usize::from(byte & 0x7f) << (7 * used);
            used += 1;
            if byte < 0x80 {
                break;
            }
        }
        at += 1 + used + length;
        ends.push(at);
    }
    ends
}

#[test]
fn a_binary_trace_is_told_by_its_magic_and_yields_its_lines() {
    let lines = binary_lines();
    let bytes = encode(&lines);
    let records = record_ends(&bytes).len() as u64 - 1;
    // Read whole, through detection, and through inputs that give a few bytes at a time
    // (records then span the input's buffer; the magic may come in pieces).
    for capacity in [1, 2, 3, 7, 11, 64, 1 << 16] {
        let mut reader = read::from_reader(
            Path::new("t.wgtrace"),
            BufReader::with_capacity(capacity, &bytes[..]),
        )
        .unwrap();
        assert_eq!(reader.format(), Format::Binary);
        let (read, summary) = drain(&mut *reader);
        assert_eq!(read, lines, "capacity {capacity}");
        let summary = summary.unwrap();
        assert_eq!(summary.events, 8);
        assert_eq!(summary.lines, records, "records, definitions included");
        assert!(records > lines.len() as u64);
        assert_eq!(summary.truncated, None);
    }
    let (read, _) = drain(&mut BinaryReader::new(Path::new("t"), &bytes[..]));
    assert_eq!(read, lines);
    // From a file, and loaded whole.
    let path = temp_path("inversion.wgtrace");
    std::fs::write(&path, &bytes).unwrap();
    let loaded = trace::load(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(loaded.events.len(), 8);
    assert_eq!(loaded.threads.len(), 2);
    assert!(!loaded.truncated);
}

#[test]
fn a_binary_trace_cut_anywhere_keeps_every_complete_record() {
    let lines = binary_lines();
    let bytes = encode(&lines);
    let ends = record_ends(&bytes);
    for at in 1..bytes.len() {
        for capacity in [3, 1 << 16] {
            let input = BufReader::with_capacity(capacity, &bytes[..at]);
            let (read, summary) = read_all_binary(input);
            // Records whole before the cut, and the one it falls in.
            let whole = ends.iter().filter(|&&end| end <= at).count();
            if whole <= 1 {
                // No header record: an error at byte 0 or at the header's byte.
                let error = summary.unwrap_err();
                assert_eq!(error.byte, Some(if whole == 0 { 0 } else { 10 }), "{error}");
                assert!(read.is_empty());
                continue;
            }
            let cut = (at - ends[whole - 1]) as u64;
            let summary = summary.unwrap();
            assert_eq!(summary.lines, whole as u64 - 1, "cut at {at}");
            let expected = if cut > 0 {
                Some(Truncated {
                    line: whole as u64,
                    bytes: cut,
                })
            } else {
                None
            };
            assert_eq!(summary.truncated, expected, "cut at {at}");
            assert_eq!(&lines[..read.len()], &read[..], "cut at {at}");
            assert!(!read.is_empty());
        }
    }
}

fn read_all_binary(input: impl BufRead) -> (Vec<TraceLine>, Result<read::ReadSummary, ReadError>) {
    let mut reader = read::from_reader(Path::new("cut.wgtrace"), input).unwrap();
    assert_eq!(reader.format(), Format::Binary);
    drain(&mut *reader)
}

#[test]
fn a_malformed_binary_record_says_its_byte_and_record() {
    let lines = binary_lines();
    let mut bytes = encode(&lines[..5]);
    let at = bytes.len() as u64;
    let records = record_ends(&bytes).len() as u64 - 1;
    // An event naming function string 70, which was never defined: `enter` (tag 16 + 22),
    // thread 1, seq +1, string 70, no site.
    bytes.extend_from_slice(&[16 + 22, 4, 1, 2, 70, 0]);
    let (read, error) = read_all("bad.wgtrace", &bytes);
    let error = error.unwrap_err();
    assert_eq!(read, lines[..5]);
    assert_eq!(
        (error.byte, error.line, error.column),
        (Some(at), Some(records + 1), None)
    );
    assert!(
        error.to_string().starts_with(&format!(
            "bad.wgtrace: byte {at} (record {}): event record: string 70 is not defined (",
            records + 1
        )),
        "{error}"
    );
}

#[test]
fn a_newer_binary_version_or_schema_is_refused_clearly() {
    let lines = binary_lines();
    let mut bytes = encode(&lines);
    bytes[MAGIC.len()..MAGIC.len() + 2].copy_from_slice(&(VERSION + 1).to_le_bytes());
    let error = error_of("new.wgtrace", &bytes);
    assert_eq!(
        error.to_string(),
        format!(
            "new.wgtrace: byte 0: format version {}, but this reader knows versions 1 to {VERSION} \
             (a newer waitgraph wrote it: upgrade to read it)",
            VERSION + 1
        )
    );
    let mut newer = lines.clone();
    newer[0] = TraceLine::Trace(TraceHeader {
        schema: 9,
        ..TraceHeader::current()
    });
    let error = error_of("schema.wgtrace", encode(&newer));
    assert_eq!(
        error.to_string(),
        "schema.wgtrace: byte 10 (record 1): trace schema 9 is newer than this analyzer reads (1); update waitgraph"
    );
}

#[test]
fn other_binary_data_is_still_refused_and_ours_is_not() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01";
    let error = error_of("image.png", png);
    assert!(
        error
            .message
            .starts_with("binary data (starting 89 50 4e 47"),
        "{error}"
    );
    // Our magic but one byte: other data.
    let mut near = encode(&binary_lines());
    near[3] = b'X';
    let error = error_of("near", &near);
    assert!(
        error
            .message
            .starts_with("binary data (starting 89 57 47 58"),
        "{error}"
    );
    // The magic cut short: a binary trace cut short, said so.
    let error = error_of("stub.wgtrace", &MAGIC[..3]);
    assert_eq!(
        error.to_string(),
        "stub.wgtrace: byte 0: cut short in its magic and version: expected 10 bytes, found 3"
    );
    // The magic and version alone: no header.
    let error = error_of("bare.wgtrace", &encode(&binary_lines())[..10]);
    assert_eq!(
        error.to_string(),
        "bare.wgtrace: byte 10 (record 1): expected the header record, found the end of the file"
    );
}

#[test]
fn a_recorded_binary_trace_reads_as_its_json_lines_twin_would() {
    // Anything but `.jsonl` / `.json` is recorded in the binary format.
    let path = temp_path("recorded.wgtrace");
    let written = record_three_workers(&path);
    let bytes = std::fs::read(&path).unwrap();
    let mut reader = read::open(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(reader.format(), Format::Binary);
    let (lines, summary) = drain(&mut *reader);
    let summary = summary.unwrap();
    assert_eq!(summary.events, written.events);
    assert_eq!(summary.truncated, None);
    assert!(matches!(lines.first(), Some(TraceLine::Trace(_))));
    assert!(matches!(lines.last(), Some(TraceLine::End(end)) if end.events == written.events));
    assert!(written.events >= 1200, "{} events", written.events);
    // Cut in its last record: every complete one is kept.
    let (cut, summary) = read_all_binary(&bytes[..bytes.len() - 1]);
    let summary = summary.unwrap();
    assert_eq!(cut[..], lines[..lines.len() - 1]);
    assert!(summary.truncated.is_some());
}

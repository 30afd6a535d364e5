//! The binary trace format: every line round-trips, a cut file keeps every complete
//! record, and bad bytes give an error at the right byte (never a panic).

use proptest::prelude::*;
use std::borrow::Cow;
use waitgraph_core::binary::{is_binary, Encoder, Reader, MAGIC, VERSION};
use waitgraph_core::model::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("src/pool.rs".to_string()),
        Just("gil".to_string()),
        "[a-zé:<>&/ ]{0,12}",
    ]
}

fn site() -> impl Strategy<Value = Site> {
    (
        text(),
        any::<u32>(),
        any::<u32>(),
        proptest::option::of(text()),
    )
        .prop_map(|(file, line, column, function)| Site {
            file: Cow::Owned(file),
            line,
            column,
            function: function.map(Cow::Owned),
        })
}

fn resource() -> impl Strategy<Value = ResourceKey> {
    prop_oneof![1u64..8, any::<u64>()].prop_map(ResourceKey)
}

fn mode() -> impl Strategy<Value = LockMode> {
    prop_oneof![
        Just(LockMode::Exclusive),
        Just(LockMode::Shared),
        Just(LockMode::Upgradable)
    ]
}

fn wait() -> impl Strategy<Value = WaitKind> {
    prop_oneof![
        mode().prop_map(WaitKind::Lock),
        Just(WaitKind::ReadRecursive),
        Just(WaitKind::Condvar),
        Just(WaitKind::Barrier),
        Just(WaitKind::Join),
        Just(WaitKind::Job),
        Just(WaitKind::Recv),
        Just(WaitKind::Send),
        Just(WaitKind::Spin),
        Just(WaitKind::Event),
        Just(WaitKind::Idle),
    ]
}

fn kind() -> impl Strategy<Value = EventKind> {
    let end = prop_oneof![
        Just(WaitEnd::Woken),
        Just(WaitEnd::TimedOut),
        Just(WaitEnd::Cancelled)
    ];
    prop_oneof![
        (resource(), mode())
            .prop_map(|(resource, mode)| EventKind::LockRequested { resource, mode }),
        (resource(), mode())
            .prop_map(|(resource, mode)| EventKind::LockAcquired { resource, mode }),
        (resource(), mode())
            .prop_map(|(resource, mode)| EventKind::LockReleased { resource, mode }),
        (resource(), wait(), any::<bool>()).prop_map(|(resource, wait, timed)| {
            EventKind::WaitBegin {
                resource,
                wait,
                timed,
            }
        }),
        (resource(), end).prop_map(|(resource, end)| EventKind::WaitEnd { resource, end }),
        (resource(), any::<bool>()).prop_map(|(resource, all)| EventKind::Notify { resource, all }),
        (resource(), any::<u64>())
            .prop_map(|(resource, parties)| EventKind::BarrierArrive { resource, parties }),
        resource().prop_map(|resource| EventKind::Send { resource }),
        (resource(), resource())
            .prop_map(|(barrier, executor)| EventKind::BarrierFedBy { barrier, executor }),
        resource().prop_map(|resource| EventKind::ProducerDeclared { resource }),
        resource().prop_map(|resource| EventKind::ProducerDropped { resource }),
        resource().prop_map(|resource| EventKind::Enroll { resource }),
        resource().prop_map(|resource| EventKind::Leave { resource }),
        (resource(), resource()).prop_map(|(job, executor)| EventKind::JobQueued { job, executor }),
        (resource(), resource())
            .prop_map(|(job, executor)| EventKind::JobStarted { job, executor }),
        (resource(), resource())
            .prop_map(|(job, executor)| EventKind::JobFinished { job, executor }),
        proptest::option::of(text()).prop_map(|name| EventKind::ThreadStart {
            name: name.map(Cow::Owned)
        }),
        Just(EventKind::ThreadExit),
        any::<u64>().prop_map(|child| EventKind::Fork {
            child: ThreadKey(child)
        }),
        any::<u64>().prop_map(|child| EventKind::Join {
            child: ThreadKey(child)
        }),
        resource().prop_map(|resource| EventKind::Read { resource }),
        resource().prop_map(|resource| EventKind::Write { resource }),
        text().prop_map(|function| EventKind::Enter {
            function: Cow::Owned(function)
        }),
        text().prop_map(|function| EventKind::Exit {
            function: Cow::Owned(function)
        }),
        any::<u64>().prop_map(|events| EventKind::Lost { events }),
    ]
}

fn line() -> impl Strategy<Value = TraceLine> {
    let class = prop_oneof![
        text().prop_map(|name| Class::Named(Cow::Owned(name))),
        site().prop_map(Class::Site),
    ];
    let kinds = prop_oneof![
        Just(ResourceKind::Mutex),
        Just(ResourceKind::RwLock),
        Just(ResourceKind::Condvar),
        Just(ResourceKind::Barrier),
        Just(ResourceKind::Channel),
        Just(ResourceKind::Thread),
        Just(ResourceKind::Job),
        Just(ResourceKind::Executor),
        Just(ResourceKind::Event),
        Just(ResourceKind::Variable),
    ];
    prop_oneof![
        4 => (any::<u64>(), 1u64..5, kind(), proptest::option::of(site())).prop_map(
            |(seq, thread, kind, site)| TraceLine::Event(Event { seq, thread: ThreadKey(thread), kind, site })
        ),
        1 => (1u64..5, proptest::option::of(text()))
            .prop_map(|(key, name)| TraceLine::Thread(ThreadInfo { key: ThreadKey(key), name })),
        1 => (resource(), kinds, class, site()).prop_map(|(key, kind, class, created)| {
            TraceLine::Resource(ResourceInfo { key, kind, class, created })
        }),
    ]
}

fn header() -> TraceHeader {
    TraceHeader {
        started_unix_nanos: Some(1_790_000_000_000_000_000),
        ..TraceHeader::current()
    }
}

fn encode(lines: &[TraceLine], end: Option<TraceEnd>) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = Encoder::start(&header(), &mut bytes);
    for line in lines {
        encoder.line(line, &mut bytes);
    }
    if let Some(end) = end {
        encoder.end(&end, &mut bytes);
    }
    bytes
}

fn read_all(bytes: &[u8]) -> (Vec<TraceLine>, Option<String>, Option<u64>) {
    let (lines, error, cut, _) = read_with_offset(bytes);
    (lines, error, cut)
}

fn read_with_offset(bytes: &[u8]) -> (Vec<TraceLine>, Option<String>, Option<u64>, u64) {
    let mut reader = Reader::new(bytes);
    let mut lines = Vec::new();
    let mut error = None;
    for line in &mut reader {
        match line {
            Ok(line) => lines.push(line),
            Err(e) => error = Some(e.to_string()),
        }
    }
    let offset = reader.offset();
    (lines, error, reader.cut().map(|cut| cut.bytes), offset)
}

proptest! {
    #[test]
    fn every_line_round_trips(lines in proptest::collection::vec(line(), 0..60)) {
        let end = TraceEnd { events: 3, dropped: 1 };
        let bytes = encode(&lines, Some(end.clone()));
        prop_assert!(is_binary(&bytes));
        let (read, error, cut) = read_all(&bytes);
        prop_assert_eq!(error, None);
        prop_assert_eq!(cut, None);
        let mut expected = vec![TraceLine::Trace(header())];
        expected.extend(lines);
        expected.push(TraceLine::End(end));
        prop_assert_eq!(read, expected);
    }

    #[test]
    fn a_cut_file_keeps_every_complete_record(
        lines in proptest::collection::vec(line(), 1..30),
        cut_at in any::<prop::sample::Index>(),
    ) {
        let bytes = encode(&lines, None);
        let whole = read_all(&bytes).0;
        let at = cut_at.index(bytes.len());
        let (read, error, cut, offset) = read_with_offset(&bytes[..at]);
        prop_assert_eq!(error, None);
        // What is read is a prefix of the whole; every byte is either in a record read
        // whole or in the one cut short.
        prop_assert!(read.len() <= whole.len());
        prop_assert_eq!(&whole[..read.len()], &read[..]);
        prop_assert_eq!(offset + cut.unwrap_or(0), at as u64);
    }

    #[test]
    fn corrupt_bytes_give_an_error_or_lines_never_a_panic(
        lines in proptest::collection::vec(line(), 1..20),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = encode(&lines, None);
        for (at, value) in flips {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        let _ = read_all(&bytes);
    }
}

#[test]
fn a_newer_version_is_refused_with_both_numbers() {
    let mut bytes = encode(&[], None);
    bytes[MAGIC.len()..MAGIC.len() + 2].copy_from_slice(&(VERSION + 1).to_le_bytes());
    let (lines, error, _) = read_all(&bytes);
    assert!(lines.is_empty());
    assert_eq!(
        error.unwrap(),
        "byte 0: format version 2, but this reader knows versions 1 to 1 \
         (a newer waitgraph wrote it: upgrade to read it)"
    );
}

#[test]
fn an_oversized_record_is_refused_before_it_is_read() {
    let mut bytes = encode(&[], None);
    let at = bytes.len();
    // A string record claiming 2^40 bytes, with none of them there.
    bytes.extend_from_slice(&[2, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
    let (_, error, _) = read_all(&bytes);
    assert_eq!(
        error.unwrap(),
        format!(
            "byte {at} (record 2): a record of 1099511627776 bytes, more than the 1048576 a record may have"
        )
    );
}

#[test]
fn an_undefined_id_and_an_unknown_tag_are_errors_and_optional_records_are_skipped() {
    let base = encode(&[], None);
    let mut undefined = base.clone();
    // A thread named by string 7, which was never defined.
    undefined.extend_from_slice(&[4, 2, 1, 7]);
    assert_eq!(
        read_all(&undefined).1.unwrap(),
        format!(
            "byte {} (record 2): thread record: string 7 is not defined (0 strings so far)",
            base.len()
        )
    );
    let mut unknown = base.clone();
    unknown.extend_from_slice(&[60, 0]);
    assert!(read_all(&unknown)
        .1
        .unwrap()
        .ends_with("unknown record tag 60"));
    let mut optional = base.clone();
    optional.extend_from_slice(&[200, 3, 1, 2, 3, 4, 2, 1, 0]);
    let (lines, error, _) = read_all(&optional);
    assert_eq!(error, None);
    assert_eq!(
        lines.last(),
        Some(&TraceLine::Thread(ThreadInfo {
            key: ThreadKey(1),
            name: None
        }))
    );
}

#[test]
fn text_is_not_a_binary_trace() {
    assert!(!is_binary(b"{\"trace\":{}}\n"));
    let (lines, error, _) = read_all(b"T1|acq(l)|1\n");
    assert!(lines.is_empty());
    assert!(error.unwrap().contains("not a waitgraph binary trace"));
}

#[test]
fn events_of_the_recorder_take_a_few_bytes_each() {
    let file = Site::from_location(std::panic::Location::caller());
    let lines: Vec<_> = (0..1000u64)
        .map(|i| {
            TraceLine::Event(Event {
                seq: 1_000_000 + i * 40,
                thread: ThreadKey(1 + i % 4),
                kind: if i % 2 == 0 {
                    EventKind::LockAcquired {
                        resource: ResourceKey(12),
                        mode: LockMode::Exclusive,
                    }
                } else {
                    EventKind::LockReleased {
                        resource: ResourceKey(12),
                        mode: LockMode::Exclusive,
                    }
                },
                site: Some(file.clone()),
            })
        })
        .collect();
    let bytes = encode(&lines, None);
    let per_event = bytes.len() as f64 / 1000.0;
    assert!(per_event < 9.0, "{per_event} bytes per event");
}

//! The STD reader over arbitrary bytes, to the end: it must never panic, hang or grow
//! past one line and its tables of names; what it yields must be a well-formed trace:
//! the header first, every thread and resource described once and before any event that
//! names it, events in line order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;
use std::path::Path;
use waitgraph_analyzer::read::{StdReader, TraceLine, TraceReader, MAX_NAME};
use waitgraph_core::model::{Class, EventKind};

fuzz_target!(|data: &[u8]| {
    let mut reader = StdReader::new(Path::new("fuzz.std"), data);
    let mut threads = HashSet::new();
    let mut resources = HashSet::new();
    let mut last_seq = 0;
    let mut yielded = 0u64;
    for line in &mut reader {
        let line = match line {
            Ok(line) => line,
            Err(error) => {
                assert!(error.line.is_some() && !error.message.is_empty());
                continue;
            }
        };
        yielded += 1;
        match line {
            TraceLine::Trace(_) => assert_eq!(yielded, 1, "one header, first"),
            _ if yielded == 1 => panic!("no header first"),
            TraceLine::Thread(thread) => {
                assert!(threads.insert(thread.key), "thread described twice");
                assert!(thread.name.unwrap().len() <= MAX_NAME);
            }
            TraceLine::Resource(resource) => {
                assert!(resources.insert(resource.key), "resource described twice");
                assert!(matches!(resource.class, Class::Named(name) if name.len() <= MAX_NAME));
            }
            TraceLine::Event(event) => {
                assert!(threads.contains(&event.thread));
                assert!(event.seq >= last_seq, "events in line order");
                last_seq = event.seq;
                let named = match event.kind {
                    EventKind::LockRequested { resource, .. }
                    | EventKind::LockAcquired { resource, .. }
                    | EventKind::LockReleased { resource, .. }
                    | EventKind::WaitBegin { resource, .. }
                    | EventKind::WaitEnd { resource, .. }
                    | EventKind::Notify { resource, .. }
                    | EventKind::Read { resource }
                    | EventKind::Write { resource } => Some(resource),
                    EventKind::Fork { child } | EventKind::Join { child } => {
                        assert!(threads.contains(&child));
                        None
                    }
                    EventKind::Enter { .. } | EventKind::Exit { .. } => None,
                    other => panic!("an event STD does not make: {other:?}"),
                };
                if let Some(resource) = named {
                    assert!(resources.contains(&resource));
                }
            }
            TraceLine::End(_) => panic!("STD has no end line"),
        }
    }
    let summary = reader.summary();
    // At most two events a line (a condvar wait's end before a request).
    assert!(summary.events <= 2 * summary.lines);
});

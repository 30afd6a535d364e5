//! A trace recorded by a real program, loaded back: whole, and cut short as a crash
//! would leave it.

use std::sync::Arc;
use waitgraph::model::EventKind;
use waitgraph::record::TraceFile;
use waitgraph_analyzer::trace;

#[waitgraph::instrument]
fn handoff(state: &(std::sync::Mutex<Vec<u32>>, std::sync::Condvar), count: u32) {
    for item in 0..count {
        state.0.lock().unwrap().push(item);
        state.1.notify_one();
    }
}

#[waitgraph::instrument]
fn drain(state: &(std::sync::Mutex<Vec<u32>>, std::sync::Condvar), count: usize) {
    let mut taken = 0;
    let mut items = state.0.lock().unwrap();
    while taken < count {
        items = state.1.wait_while(items, |items| items.is_empty()).unwrap();
        taken += items.drain(..).count();
    }
}

#[test]
fn a_recorded_run_loads_whole_and_cut_short() {
    let path =
        std::env::temp_dir().join(format!("waitgraph-analyzer-{}.jsonl", std::process::id()));
    let recording = TraceFile::create(&path).unwrap();
    let state = Arc::new((std::sync::Mutex::new(Vec::new()), std::sync::Condvar::new()));
    let consumer_state = state.clone();
    let consumer = std::thread::Builder::new()
        .name("consumer".into())
        .spawn(move || drain(&consumer_state, 500))
        .unwrap();
    handoff(&state, 500);
    consumer.join().unwrap();
    let summary = recording.finish().unwrap();

    let loaded = trace::load(&path).unwrap();
    assert_eq!(loaded.events.len() as u64, summary.events);
    assert_eq!(
        loaded.end.as_ref().map(|end| end.events),
        Some(summary.events)
    );
    // In time order; two threads can read the same nanosecond, one thread never does.
    assert!(loaded
        .events
        .windows(2)
        .all(|pair| pair[0].seq <= pair[1].seq));
    let mut last_of_thread = std::collections::HashMap::new();
    for event in &loaded.events {
        let last = last_of_thread.insert(event.thread, event.seq);
        assert!(
            last.is_none_or(|last| last < event.seq),
            "{event:?} after {last:?}"
        );
    }
    assert!(loaded
        .threads
        .values()
        .any(|t| t.name.as_deref() == Some("consumer")));
    let notifies = loaded
        .events
        .iter()
        .filter(|event| matches!(event.kind, EventKind::Notify { .. }))
        .count();
    assert_eq!(notifies, 500);
    for event in &loaded.events {
        if let EventKind::LockAcquired { resource, .. } = &event.kind {
            let info = &loaded.resources[resource];
            assert!(
                info.label().starts_with("recorded_trace::"),
                "{}",
                info.label()
            );
        }
    }

    // Cut in the middle of a line, as a crash would: every complete line survives.
    let text = std::fs::read_to_string(&path).unwrap();
    let cut = text.len() - text.lines().last().unwrap().len() / 2 - 1;
    std::fs::write(&path, &text[..cut]).unwrap();
    let cut_short = trace::load(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(cut_short.truncated);
    assert!(cut_short.end.is_none());
    assert_eq!(cut_short.events.len(), loaded.events.len());
}

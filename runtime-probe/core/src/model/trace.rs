use super::{Event, ResourceInfo, ThreadKey};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// The trace format's version: bumped when a line changes meaning.
pub const TRACE_SCHEMA: u32 = 1;

/// One line of a trace file (JSON lines): the header first, then threads and resources
/// described before the first event that names them, and events.
///
/// | line | written |
/// |---|---|
/// | `{"trace":{"schema":1,"tool":"waitgraph","version":..}}` | first |
/// | `{"thread":{"key":3,"name":"workers-1"}}` | before the thread's first event |
/// | `{"resource":{"key":..,"kind":..,"class":..,"created":..}}` | before the first event naming it |
/// | `{"event":{"seq":..,"thread":..,"event":"lock-acquired",..}}` | in batches per thread: order by `seq` |
/// | `{"end":{"events":..,"dropped":..}}` | last, when the recording was finished cleanly |
///
/// Every line is written whole, so a trace cut short by a crash keeps every complete
/// event; only its last line may be partial.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TraceLine {
    Trace(TraceHeader),
    Thread(ThreadInfo),
    Resource(ResourceInfo),
    Event(Event),
    End(TraceEnd),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceHeader {
    pub schema: u32,
    pub tool: Cow<'static, str>,
    pub version: Cow<'static, str>,
    /// When the recording began, in nanoseconds since the Unix epoch. Present when each
    /// event's `seq` is its time: nanoseconds since that instant, on a monotonic clock,
    /// strictly increasing within a thread (events of two threads may share one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_unix_nanos: Option<u64>,
}

impl TraceHeader {
    pub fn current() -> TraceHeader {
        TraceHeader {
            schema: TRACE_SCHEMA,
            tool: Cow::Borrowed("waitgraph"),
            version: Cow::Borrowed(env!("CARGO_PKG_VERSION")),
            started_unix_nanos: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadInfo {
    pub key: ThreadKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The last line of a finished recording.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEnd {
    /// Events written.
    pub events: u64,
    /// Events lost (a thread's buffer that could not be written).
    pub dropped: u64,
}

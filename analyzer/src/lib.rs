//! The offline side of waitgraph: what a recorded run says, after the fact.
//!
//! | module | what |
//! |---|---|
//! | [`read`] | streaming readers of every trace format (JSON lines, RAPID's STD), the format told from the content |
//! | [`trace`] | loading a trace written by `waitgraph::record::TraceFile`, with precise errors |
//!
//! Prediction from traces, static analysis and the `waitgraph` command come next; they
//! build on [`trace::Trace`] and the shared model in `waitgraph_core::model`.

pub mod read;
pub mod trace;

//! The offline side of waitgraph: what a recorded run says, after the fact.
//!
//! | module | what |
//! |---|---|
//! | [`read`] | streaming readers of every trace format (waitgraph's binary and JSON lines, RAPID's STD), the format told from the content |
//! | [`trace`] | loading a trace written by `waitgraph::record::TraceFile` whole, with precise errors |
//! | [`analyze`] | traces in, the prediction engine (`waitgraph_core::predict`), a report out |
//! | [`check`] | Rust source in (`syn`), guard lifetimes and a call graph, a report out |
//! | [`convert`] | a trace to Perfetto's timeline (Chrome trace-event JSON) or to JSON lines |
//! | [`report`] | reading a report the project wrote, with its schema checked |
//! | [`render`] | one printer per output format over the one findings model |
//! | [`cli`] | the `waitgraph` command line (binaries `waitgraph` and `cargo-waitgraph`) |
//! | [`synthetic`] | synthetic traces of any size, generated on the fly (benchmarks, tests) |

pub mod analyze;
pub mod check;
pub mod cli;
pub mod convert;
pub mod read;
pub mod render;
pub mod report;
pub mod synthetic;
pub mod trace;

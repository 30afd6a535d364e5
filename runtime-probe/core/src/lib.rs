//! # waitgraph-core
//!
//! The part of waitgraph every mode shares, with no threads, no I/O and no dependency
//! but `serde`: the live probe (crate `waitgraph`, which re-exports all of this), the
//! offline analyzer and the static checker build on it.
//!
//! | module | what it holds |
//! |---|---|
//! | [`model`] | ids, sites, classes, kinds of wait, events, function contexts, the trace format |
//! | [`report`] | the findings model every mode reports in (JSON schema 1) |
//! | [`binary`] | the binary trace format: encoder, streaming reader |
//! | [`graph`] | algorithms over AND / OR / k-of-n wait-for graphs, one per file |
//!
//! ```
//! use waitgraph_core::graph::{reduction::reduce, Clause, WaitGraph};
//!
//! // Two threads, each waiting for a lock the other holds: neither can make progress.
//! let mut graph = WaitGraph::new(2);
//! graph.block(0, Clause::all([1]));
//! graph.block(1, Clause::all([0]));
//! assert_eq!(reduce(&graph), vec![false, false]);
//! ```

pub mod binary;
pub mod graph;
pub mod model;
pub mod predict;
pub mod report;

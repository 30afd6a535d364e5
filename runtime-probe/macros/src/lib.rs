//! The `#[waitgraph::instrument]` attribute (filled in by the attribute work).

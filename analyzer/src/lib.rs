//! waitgraph analyzer

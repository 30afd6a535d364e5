//! The MOD-11658 incident, reproduced faithfully: a shard's main thread holding the
//! global lock spin-waits on a barrier that jobs it queued to the worker pool must
//! reach, while a worker in the middle of a query waits for the global lock.
//!
//! Everything here is instrumented only through waitgraph's primitives (`Mutex`,
//! `RwLock`, `Condvar`, `Barrier::for_executor`, `Executor`, `Job`, `SpinWait`, channels):
//! no hand-written probe calls. See `demo-pool/README.md`.

pub mod coordinator;
pub mod data;
pub mod footprint;
pub mod pool;
pub mod run;
pub mod scenarios;
pub mod shard;
pub mod shrink;

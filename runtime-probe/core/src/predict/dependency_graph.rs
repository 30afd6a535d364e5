//! The dependency graph between event classes: an edge `Y -> X` says "`Y` cannot happen
//! until `X` has": a thread waited for `X` while it owed `Y` (it held the lock `Y`
//! releases, ran a job of the executor `Y` frees), or produced `Y` after waiting for `X`.
//! Each edge keeps a few pieces of evidence (which thread, which event, what it held), so
//! a cycle can be checked and told as it happened.
//!
//! Built on petgraph's `GraphMap` (nodes are small `Copy` values); its size is bounded
//! by the classes, not by the events: each edge keeps at most [`EVIDENCE_PER_EDGE`]
//! pieces of evidence, one per thread first.

use super::classes::Node;
use crate::binary::IdHasher;
use crate::model::{LockMode, ResourceKey, Site, ThreadKey};
use petgraph::graphmap::DiGraphMap;
use std::collections::HashMap;

/// Evidence kept per edge.
pub const EVIDENCE_PER_EDGE: usize = 4;

/// How the thread came to owe the edge's source.
#[derive(Clone, Debug, PartialEq)]
pub enum Owed {
    /// It held this lock instance, taken at `site` (event `since`).
    Hold {
        resource: ResourceKey,
        mode: LockMode,
        site: Option<Site>,
    },
    /// It was running a job (or an item of its loop) of the executor.
    Work,
    /// It produced the source after the wait, in the same job (or since it last
    /// produced it): `site` is where it produced it.
    Produced { site: Option<Site>, seq: u64 },
    /// The source is produced inside jobs of the target executor (the job had to be
    /// picked up first).
    InJob { site: Option<Site>, seq: u64 },
    /// Jobs of the source's class are queued to (or run on) the target executor.
    QueuedTo,
    /// It had declared itself a producer of the named event (the source).
    Producer { resource: ResourceKey },
    /// The program declared the source fed by the target (a barrier fed by an
    /// executor's jobs).
    Declared,
}

/// One observation behind an edge.
#[derive(Clone, Debug, PartialEq)]
pub struct Evidence {
    pub thread: ThreadKey,
    /// The event: the wait (or, for `InJob` and `QueuedTo`, the production or queueing).
    pub seq: u64,
    /// From when the thread owed the source (a hold's acquisition, a job's start).
    pub since: u64,
    pub site: Option<Site>,
    /// What the thread did: `lock`, `spin-wait`, `barrier-wait`...
    pub wait: &'static str,
    pub owed: Owed,
    /// Lock instances held exclusively at the wait (a gate shared by every thread of a
    /// cycle keeps it from closing).
    pub gates: Vec<ResourceKey>,
    /// A wait that ends by itself: the cycle can stall, not hang.
    pub timed: bool,
    /// The functions the thread was in, outermost first.
    pub context: Vec<String>,
}

impl Evidence {
    /// Whether the thread blocked (or could have) here, as opposed to a fact about
    /// where an event is produced.
    pub fn is_wait(&self) -> bool {
        matches!(
            self.owed,
            Owed::Hold { .. } | Owed::Work | Owed::Producer { .. }
        )
    }
}

#[derive(Clone, Default)]
pub struct DependencyGraph {
    pub graph: DiGraphMap<Node, ()>,
    evidence: HashMap<(Node, Node), Vec<Evidence>, IdHasher>,
}

impl DependencyGraph {
    /// Whether evidence from `thread` for `from -> to` would be kept: one piece per
    /// thread (and per timed / untimed), at most [`EVIDENCE_PER_EDGE`]. Asked before the
    /// evidence is built, which is what keeps the common case (an edge seen before) cheap.
    pub fn wants(&self, from: Node, to: Node, thread: ThreadKey, timed: bool) -> bool {
        match self.evidence.get(&(from, to)) {
            None => true,
            Some(kept) => {
                kept.len() < EVIDENCE_PER_EDGE
                    && !kept.iter().any(|e| e.thread == thread && e.timed == timed)
            }
        }
    }

    /// Records `from -> to` (`from` cannot happen until `to` has), keeping the evidence
    /// if [`wants`](Self::wants) says so.
    pub fn add(&mut self, from: Node, to: Node, evidence: Evidence) {
        if !self.wants(from, to, evidence.thread, evidence.timed) {
            return;
        }
        if !self.evidence.contains_key(&(from, to)) {
            self.graph.add_edge(from, to, ());
        }
        self.evidence.entry((from, to)).or_default().push(evidence);
    }

    /// Records `from -> to` with evidence that goes first (a wait the run ended in: the
    /// one a report should show).
    pub fn add_first(&mut self, from: Node, to: Node, evidence: Evidence) {
        self.graph.add_edge(from, to, ());
        let kept = self.evidence.entry((from, to)).or_default();
        kept.retain(|e| e.thread != evidence.thread);
        kept.insert(0, evidence);
        kept.truncate(EVIDENCE_PER_EDGE);
    }

    pub fn evidence(&self, from: Node, to: Node) -> &[Evidence] {
        self.evidence
            .get(&(from, to))
            .map_or(&[], |kept| kept.as_slice())
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }
}

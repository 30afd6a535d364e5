//! Classes and the event nodes of the dependency graph.
//!
//! A class groups resource instances: a named resource's class is its name, an unnamed
//! one's its creation site (`model::Class`). Prediction reasons about classes, so that a
//! lock made per request, or a barrier made per shrink, is one node however many
//! instances the run made.

use crate::binary::IdHasher;
use crate::model::{Class, LockMode, ResourceInfo, ResourceKey, ResourceKind, Site, ThreadKey};
use std::collections::{BTreeSet, HashMap};

/// A class, numbered in the order the trace first named it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClassId(pub u32);

/// What the analysis knows of one class.
#[derive(Clone, Debug)]
pub struct ClassInfo {
    pub kind: ResourceKind,
    pub class: Class,
    /// How reports name it.
    pub label: String,
    /// Where its first instance was made.
    pub created: Option<Site>,
    /// For a barrier: the largest party count an arrival gave (0: not known).
    pub parties: u64,
    /// For an executor: the threads seen running its jobs or waiting for its work.
    pub workers: BTreeSet<ThreadKey>,
}

/// An event some thread produces and others may wait for: a node of the class graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    /// A hold of a lock of this class in this mode ends.
    Release(ClassId, LockMode),
    /// A worker of this executor becomes free (finishes what it runs).
    Free(ClassId),
    /// An arrival at a barrier of this class.
    Arrive(ClassId),
    /// A notification of a condvar of this class.
    Notify(ClassId),
    /// A send on a channel of this class.
    Send(ClassId),
    /// A job of this class completes.
    Job(ClassId),
    /// A thread of this class (its name) exits.
    Exit(ClassId),
    /// A named event happens.
    Event(ClassId),
}

/// Every class of one trace, and which class each instance is.
#[derive(Clone, Default)]
pub struct Classes {
    ids: HashMap<(ResourceKind, Class), ClassId, IdHasher>,
    infos: Vec<ClassInfo>,
    instances: HashMap<ResourceKey, ClassId, IdHasher>,
    /// Instances named by events before (or without) a description.
    pub undescribed: u64,
}

impl Classes {
    pub fn info(&self, id: ClassId) -> &ClassInfo {
        &self.infos[id.0 as usize]
    }

    pub fn info_mut(&mut self, id: ClassId) -> &mut ClassInfo {
        &mut self.infos[id.0 as usize]
    }

    pub fn count(&self) -> usize {
        self.infos.len()
    }

    fn intern(&mut self, kind: ResourceKind, class: Class, created: Option<Site>) -> ClassId {
        if let Some(&id) = self.ids.get(&(kind, class.clone())) {
            return id;
        }
        let id = ClassId(self.infos.len() as u32);
        let label = match &class {
            Class::Named(name) => name.to_string(),
            Class::Site(site) => {
                format!("{} created at {}:{}", kind.as_str(), site.file, site.line)
            }
        };
        self.infos.push(ClassInfo {
            kind,
            class: class.clone(),
            label,
            created,
            parties: 0,
            workers: BTreeSet::new(),
        });
        self.ids.insert((kind, class), id);
        id
    }

    /// A resource line of the trace. Returns false for a second description of the
    /// same instance (the first one stays).
    pub fn describe(&mut self, info: &ResourceInfo) -> bool {
        if self.instances.contains_key(&info.key) {
            return false;
        }
        let id = self.intern(info.kind, info.class.clone(), Some(info.created.clone()));
        self.instances.insert(info.key, id);
        true
    }

    /// The class of an instance an event names; an undescribed one gets a class of its
    /// own, named by its key (`kind` is what the event says it is).
    pub fn of(&mut self, key: ResourceKey, kind: ResourceKind) -> ClassId {
        if let Some(&id) = self.instances.get(&key) {
            return id;
        }
        self.undescribed += 1;
        let id = self.intern(
            kind,
            Class::Named(format!("{} #{} (undescribed)", kind.as_str(), key.0).into()),
            None,
        );
        self.instances.insert(key, id);
        id
    }

    /// The kind an instance was described with, if it was.
    pub fn kind_of(&self, key: ResourceKey) -> Option<ResourceKind> {
        self.instances.get(&key).map(|&id| self.info(id).kind)
    }

    /// The class of a thread, by its name (what a join of it waits for).
    pub fn thread(&mut self, name: &str) -> ClassId {
        self.intern(
            ResourceKind::Thread,
            Class::Named(name.to_owned().into()),
            None,
        )
    }

    /// How a report names what `node` stands for.
    pub fn describe_node(&self, node: Node) -> String {
        match node {
            Node::Release(class, LockMode::Exclusive) => {
                format!("the release of `{}`", self.info(class).label)
            }
            Node::Release(class, mode) => {
                format!(
                    "the release of `{}` ({})",
                    self.info(class).label,
                    mode.as_str()
                )
            }
            Node::Free(class) => format!("a free worker of `{}`", self.info(class).label),
            Node::Arrive(class) => format!("an arrival at `{}`", self.info(class).label),
            Node::Notify(class) => format!("a notification of `{}`", self.info(class).label),
            Node::Send(class) => format!("a send on `{}`", self.info(class).label),
            Node::Job(class) => format!("a `{}` job done", self.info(class).label),
            Node::Exit(class) => format!("thread `{}` ended", self.info(class).label),
            Node::Event(class) => format!("event `{}`", self.info(class).label),
        }
    }

    /// The class a node is about.
    pub fn class_of(node: Node) -> ClassId {
        match node {
            Node::Release(class, _)
            | Node::Free(class)
            | Node::Arrive(class)
            | Node::Notify(class)
            | Node::Send(class)
            | Node::Job(class)
            | Node::Exit(class)
            | Node::Event(class) => class,
        }
    }
}

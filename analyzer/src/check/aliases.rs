//! Classes that name the same lock, condvar or executor. A class is a type's field
//! (`Pool::executor`); when a struct is built from another's field
//! (`Worker { executor: self.executor.clone(), .. }`), both fields hold the same thing,
//! so their classes are merged (union-find) and every fact is rewritten to one name per
//! set: the smallest, so the result does not depend on the order files were read.
//!
//! `O(a α(a) + f)` for `a` aliases and `f` facts.
//!
//! ```
//! use waitgraph_analyzer::check::aliases::Classes;
//! let mut classes = Classes::new(&[
//!     ("Worker::executor".to_string(), "Pool::executor".to_string()),
//!     ("Spare::executor".to_string(), "Worker::executor".to_string()),
//! ]);
//! assert_eq!(classes.canonical("Spare::executor"), "Pool::executor");
//! assert_eq!(classes.canonical("Other::lock"), "Other::lock");
//! ```

use super::facts::{Body, Event, Held, LockRef, Place};
use std::collections::HashMap;

/// The merged classes.
pub struct Classes {
    ids: HashMap<String, usize>,
    names: Vec<String>,
    parent: Vec<usize>,
}

impl Classes {
    pub fn new(aliases: &[(String, String)]) -> Classes {
        let mut classes = Classes {
            ids: HashMap::new(),
            names: Vec::new(),
            parent: Vec::new(),
        };
        for (a, b) in aliases {
            let (a, b) = (classes.id(a), classes.id(b));
            let (a, b) = (classes.root(a), classes.root(b));
            if a != b {
                // The smaller name represents the set.
                if classes.names[a] < classes.names[b] {
                    classes.parent[b] = a;
                } else {
                    classes.parent[a] = b;
                }
            }
        }
        classes
    }

    fn id(&mut self, name: &str) -> usize {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len();
        self.ids.insert(name.to_string(), id);
        self.names.push(name.to_string());
        self.parent.push(id);
        id
    }

    fn root(&mut self, mut id: usize) -> usize {
        while self.parent[id] != id {
            self.parent[id] = self.parent[self.parent[id]];
            id = self.parent[id];
        }
        id
    }

    /// The name that represents `class`'s set.
    pub fn canonical(&mut self, class: &str) -> String {
        match self.ids.get(class) {
            Some(&id) => {
                let root = self.root(id);
                self.names[root].clone()
            }
            None => class.to_string(),
        }
    }

    fn lock(&mut self, lock: &mut LockRef) {
        lock.class = self.canonical(&lock.class);
    }

    fn held(&mut self, held: &mut [Held]) {
        for h in held {
            self.lock(&mut h.lock);
        }
    }

    fn place(&mut self, place: &mut Place) {
        match place {
            Place::Lock(lock) | Place::Locks(lock) => self.lock(lock),
            Place::Condvar { class, .. } | Place::Executor(class) => *class = self.canonical(class),
            Place::Barrier | Place::Job | Place::Struct { .. } => {}
        }
    }
}

/// Rewrites every class in `bodies` to its set's name.
pub fn canonicalise(bodies: &mut [Body], aliases: &[(String, String)]) {
    if aliases.is_empty() {
        return;
    }
    let mut classes = Classes::new(aliases);
    for body in bodies {
        if let Some((lock, _)) = &mut body.returns {
            classes.lock(lock);
        }
        for event in &mut body.events {
            match event {
                Event::Acquire { lock, held, .. } => {
                    classes.lock(lock);
                    classes.held(held);
                }
                Event::Call {
                    receiver,
                    args,
                    held,
                    ..
                } => {
                    for place in receiver.iter_mut().chain(args.iter_mut().flatten()) {
                        classes.place(place);
                    }
                    classes.held(held);
                }
                Event::Wait {
                    condvar,
                    releases,
                    held,
                    ..
                } => {
                    if let Some(condvar) = condvar {
                        *condvar = classes.canonical(condvar);
                    }
                    if let Some(lock) = releases {
                        classes.lock(lock);
                    }
                    classes.held(held);
                }
                Event::Notify { condvar, .. } => {
                    if let Some(condvar) = condvar {
                        *condvar = classes.canonical(condvar);
                    }
                }
                Event::Block { held, executor, .. } => {
                    classes.held(held);
                    if let Some(executor) = executor {
                        *executor = classes.canonical(executor);
                    }
                }
                Event::Queue { executor, .. }
                | Event::Serve { executor, .. }
                | Event::RunsOn { executor, .. } => {
                    *executor = classes.canonical(executor);
                }
                Event::EnterBranch { .. } | Event::LeaveBranch => {}
            }
        }
    }
}

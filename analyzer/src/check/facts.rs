//! What one walk of a function body records: the locks it takes (and what it holds at
//! that moment), the calls it makes, the waits and blocking calls, the notifications.
//! Facts name locks in the function's own frame ([`Inst`]: `self.x`, the second
//! parameter, a local); [`super::call_graph`] maps them into each caller's frame.

use super::index::LockKind;

/// A point in the checked source: file (an index into the checked files), line, column
/// (both from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub file: usize,
    pub line: u32,
    pub column: u32,
}

impl Span {
    pub fn of(file: usize, span: proc_macro2::Span) -> Span {
        let start = span.start();
        Span {
            file,
            line: start.line as u32,
            column: start.column as u32 + 1,
        }
    }
}

/// Where an instance of a lock lives, relative to the function that names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Root {
    Static,
    /// `self`.
    Receiver,
    /// The n-th parameter after `self`.
    Param(usize),
    /// A local of this walk (numbered; never equal to anything of another function).
    Local(u32),
    /// Not known: never the same instance as anything.
    Unknown,
}

/// A lock instance: its root and the path from it (`.inner.state`, `[i]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Inst {
    pub root: Root,
    pub path: String,
}

impl Inst {
    pub fn new(root: Root) -> Inst {
        Inst {
            root,
            path: String::new(),
        }
    }

    pub fn child(&self, step: &str) -> Inst {
        Inst {
            root: self.root.clone(),
            path: format!("{}{step}", self.path),
        }
    }

    /// Whether two names certainly denote the same lock.
    pub fn same_as(&self, other: &Inst) -> bool {
        self.root != Root::Unknown && self == other
    }
}

/// A lock as a function names it: its class (what lock-order is about: `Bank::ledger`,
/// `config::STATE`, `main::a`) and its instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LockRef {
    pub class: String,
    pub inst: Inst,
    pub kind: LockKind,
    /// For a lock that is a parameter itself: its class is the caller's argument's.
    pub class_from_param: Option<usize>,
}

/// How a lock is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    Exclusive,
    Read,
    /// `read_recursive`: never waits behind a queued writer.
    ReadRecursive,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Exclusive => "lock",
            Mode::Read => "read",
            Mode::ReadRecursive => "read",
        }
    }
}

/// A lock held at some point, and where it was taken.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Held {
    pub lock: LockRef,
    pub mode: Mode,
    pub site: Span,
}

/// A receiver or an argument at a call, resolved in the caller's frame.
#[derive(Clone, Debug, PartialEq)]
pub enum Place {
    Lock(LockRef),
    Locks(LockRef),
    /// A condition variable, by class; `from_param` when it is a parameter (its class
    /// is then the caller's).
    Condvar {
        class: String,
        from_param: bool,
    },
    /// A barrier: `wait()` blocks until the others come.
    Barrier,
    /// waitgraph's `Executor` (a pool, an event loop), by class.
    Executor(String),
    /// waitgraph's `Job`: `wait()` blocks until a worker ran it.
    Job,
    Struct {
        inst: Inst,
        ty: String,
    },
}

impl Place {
    pub fn inst(&self) -> Option<&Inst> {
        match self {
            Place::Lock(lock) | Place::Locks(lock) => Some(&lock.inst),
            Place::Struct { inst, .. } => Some(inst),
            Place::Condvar { .. } | Place::Barrier | Place::Executor(_) | Place::Job => None,
        }
    }
}

/// What a walk saw, in order.
#[derive(Clone, Debug)]
pub enum Event {
    Acquire {
        lock: LockRef,
        mode: Mode,
        site: Span,
        /// False for `try_lock` and its kin: they never wait.
        waits: bool,
        held: Vec<Held>,
    },
    Call {
        callee: usize,
        site: Span,
        receiver: Option<Place>,
        args: Vec<Option<Place>>,
        held: Vec<Held>,
    },
    /// A condition-variable wait: gives `releases` back while waiting.
    Wait {
        condvar: Option<String>,
        releases: Option<LockRef>,
        site: Span,
        held: Vec<Held>,
        /// `wait_timeout`, `wait_for`...: it ends by itself.
        timed: bool,
        /// In a loop (or `wait_while`): the condition is checked again after a wake-up.
        rechecked: bool,
    },
    /// `notify_one` / `notify_all`; `None` when the condvar is not known (a parameter,
    /// a receiver the checker cannot name).
    Notify {
        condvar: Option<String>,
        site: Span,
    },
    /// A call that blocks until another thread acts (`recv`, `join`, `sleep`, a spin on
    /// a barrier...).
    Block {
        what: &'static str,
        site: Span,
        held: Vec<Held>,
        /// A wait with a time limit (`SpinWait::bounded`, `wait_timeout`, a `sleep`).
        bounded: bool,
        /// For `waits_for = "name"`: the executor whose work it waits for.
        executor: Option<String>,
    },
    /// Work queued to an executor (`executor.queue()`, `schedules = "name"`).
    Queue {
        executor: String,
        site: Span,
    },
    /// The walk enters one branch (`arm`) of an `if` or `match` (`construct`, numbered
    /// per body); [`Event::LeaveBranch`] ends it. Work queued in one branch is not
    /// waited for in another.
    EnterBranch {
        construct: u32,
        arm: u32,
    },
    LeaveBranch,
    /// The function `callee` runs as work of `executor` (`par_iter().for_each(f)`).
    RunsOn {
        executor: String,
        callee: usize,
    },
    /// This body is a worker of an executor (`executor.enroll()`, `serves = "name"`,
    /// `job = "name"`): every lock it takes, the executor's work may need.
    Serve {
        executor: String,
        site: Span,
    },
}

/// One walked body: a function, or a closure handed to another thread.
#[derive(Clone, Debug)]
pub struct Body {
    /// `module::Type::name`, or `...::{closure}` for a spawned closure.
    pub name: String,
    /// The index function this is (`None` for a spawned closure).
    pub function: Option<usize>,
    /// Runs on a thread of its own (a closure passed to `thread::spawn`, `execute`...).
    pub spawned: bool,
    pub site: Span,
    pub events: Vec<Event>,
    /// For a wrapper that returns a guard: the lock and how.
    pub returns: Option<(LockRef, Mode)>,
    /// For a closure run on another thread: the body that started it, where in that
    /// body's events it started, and where that body joined it (if it did).
    pub started_by: Option<(String, usize, Option<usize>)>,
    /// Runs once per process, on one thread: `main`, a `#[test]`, a thread such a body
    /// starts outside any loop. Two events of it never overlap.
    pub runs_once: bool,
}

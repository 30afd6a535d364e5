//! Executors (pools, event loops) and the jobs queued to them.
//!
//! Waiting for queued work is waiting for the executor's threads: a job still queued
//! needs any one worker to become free; a running job needs the worker running it. Tell
//! waitgraph which threads serve an executor ([`Executor::enroll`]), when a worker waits
//! for work ([`Executor::idle`]: an idle worker is never part of a deadlock), and which
//! job is which ([`Executor::queue`], [`Job::run`], [`Job::wait`]).
//!
//! ```
//! use waitgraph::sync::{Executor, Mutex};
//! use std::sync::mpsc;
//!
//! let pool = Executor::new("workers");
//! let (tx, rx) = mpsc::channel::<(waitgraph::sync::Job, i32)>();
//! let worker_pool = pool.clone();
//! let worker = std::thread::spawn(move || {
//!     let _serving = worker_pool.enroll();
//!     while let Ok((job, n)) = worker_pool.idle(|| rx.recv()) {
//!         job.run(|| assert_eq!(n * 2, 42));
//!     }
//! });
//! let job = pool.queue();
//! tx.send((job.clone(), 21)).unwrap();
//! job.wait();                 // a deadlock here would name the worker
//! drop(tx);
//! worker.join().unwrap();
//! ```

use super::hooks::{self, Meta, Shared, WaitScope};
use crate::model::{EventKind, ResourceKey, ResourceKind, ThreadKey, WaitKind};
use parking_lot::{Condvar as RawCondvar, Mutex as RawMutex};
use std::borrow::Cow;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The threads that run an executor's jobs.
pub struct ExecutorShared {
    meta: Meta,
    pub(crate) members: RawMutex<Vec<ThreadKey>>,
}

impl ExecutorShared {
    pub(crate) fn key(self: &Arc<Self>) -> ResourceKey {
        self.meta.key(ResourceKind::Executor, || Shared::weak(self))
    }

    pub(crate) fn name(&self) -> Option<&str> {
        self.meta.name()
    }
}

/// A set of threads that run queued jobs: a worker pool, a coordinator pool, an event
/// loop (one thread). Cloning gives another handle to the same executor.
#[derive(Clone)]
pub struct Executor {
    pub(crate) shared: Arc<ExecutorShared>,
}

impl Executor {
    #[track_caller]
    pub fn new(name: impl Into<Cow<'static, str>>) -> Executor {
        let executor = Executor {
            shared: Arc::new(ExecutorShared {
                meta: Meta::new(Location::caller(), Some(name.into())),
                members: RawMutex::new(Vec::new()),
            }),
        };
        // Registered at once, so the attribute's roles find it by name.
        if hooks::enabled() {
            executor.shared.key();
        }
        executor
    }

    /// The current thread serves this executor until the guard is dropped.
    pub fn enroll(&self) -> Enrolled {
        let thread = if hooks::enabled() {
            hooks::current_thread()
        } else {
            None
        };
        if let Some(thread) = thread {
            let resource = self.shared.key();
            let mut members = self.shared.members.lock();
            if !members.contains(&thread) {
                members.push(thread);
            }
            drop(members);
            hooks::note(|| EventKind::Enroll { resource }, None);
        }
        Enrolled {
            shared: self.shared.clone(),
            thread,
        }
    }

    /// Runs `wait_for_work` (a blocking pop from the executor's queue) as an idle wait:
    /// an idle worker runs whatever is queued next, so it is never stuck.
    #[track_caller]
    pub fn idle<R>(&self, wait_for_work: impl FnOnce() -> R) -> R {
        hooks::declared_wait(
            || self.shared.key(),
            WaitKind::Idle,
            Location::caller(),
            wait_for_work,
        )
    }

    /// A job has been (or is about to be) queued to this executor: pass the returned
    /// handle along with the work, run it with [`Job::run`], wait for it with [`Job::wait`].
    #[track_caller]
    pub fn queue(&self) -> Job {
        let job = Job {
            shared: Arc::new(JobShared {
                meta: Meta::new(
                    Location::caller(),
                    self.shared
                        .name()
                        .map(|n| Cow::Owned(format!("job on {n}"))),
                ),
                executor: RawMutex::new(self.shared.clone()),
                status: RawMutex::new(JobStatus::Queued),
                changed: RawCondvar::new(),
            }),
        };
        if hooks::enabled() {
            hooks::note(|| job.event(JobEvent::Queued), Some(Location::caller()));
        }
        job
    }

    /// How many threads are enrolled now (with the probe compiled out, always 0).
    pub fn workers(&self) -> usize {
        self.shared.members.lock().len()
    }

    pub fn name(&self) -> Option<&str> {
        self.shared.name()
    }
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

/// Membership of the current thread in an executor; dropping it leaves.
pub struct Enrolled {
    shared: Arc<ExecutorShared>,
    thread: Option<ThreadKey>,
}

impl Drop for Enrolled {
    fn drop(&mut self) {
        if let Some(thread) = self.thread {
            self.shared.members.lock().retain(|&t| t != thread);
            // Recorded by the enrolled thread only: a trace's events are its thread's.
            if hooks::current_thread() == Some(thread) {
                let resource = self.shared.key();
                hooks::note(|| EventKind::Leave { resource }, None);
            }
        }
    }
}

/// Which of a job's events to record.
#[derive(Clone, Copy)]
enum JobEvent {
    Queued,
    Started,
    Finished,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JobStatus {
    Queued,
    Running(Option<ThreadKey>),
    Done,
    Cancelled,
}

pub struct JobShared {
    meta: Meta,
    /// The executor whose queue holds the job (it changes when the job is forwarded).
    #[cfg_attr(not(feature = "probe"), allow(dead_code))]
    pub(crate) executor: RawMutex<Arc<ExecutorShared>>,
    pub(crate) status: RawMutex<JobStatus>,
    changed: RawCondvar,
}

/// One job queued to an [`Executor`]. Clones are handles to the same job.
#[derive(Clone)]
pub struct Job {
    shared: Arc<JobShared>,
}

impl Job {
    pub(crate) fn key(&self) -> ResourceKey {
        self.shared
            .meta
            .key(ResourceKind::Job, || Shared::weak(&self.shared))
    }

    /// Runs the job on the current thread: started now, finished when `work` returns or
    /// panics. A job that was cancelled first does not run; `None` then.
    pub fn run<R>(&self, work: impl FnOnce() -> R) -> Option<R> {
        let _running = self.start()?;
        Some(work())
    }

    /// Marks the job started on this thread; it finishes when the guard drops. `None`
    /// if the job was cancelled before it started.
    pub fn start(&self) -> Option<RunningJob<'_>> {
        let mut status = self.shared.status.lock();
        if *status == JobStatus::Cancelled {
            return None;
        }
        *status = JobStatus::Running(if hooks::enabled() {
            hooks::current_thread()
        } else {
            None
        });
        drop(status);
        if hooks::enabled() {
            hooks::note(|| self.event(JobEvent::Started), None);
        }
        Some(RunningJob { job: self })
    }

    /// The job's event of `which` kind, naming the executor that has it now.
    fn event(&self, which: JobEvent) -> EventKind {
        let job = self.key();
        let executor = self.shared.executor.lock().key();
        match which {
            JobEvent::Queued => EventKind::JobQueued { job, executor },
            JobEvent::Started => EventKind::JobStarted { job, executor },
            JobEvent::Finished => EventKind::JobFinished { job, executor },
        }
    }

    /// Hands the job, from inside its run, to another executor's queue: a request that an
    /// event loop passes on to a worker pool. Whoever waits for it now waits for that
    /// executor; the run that forwarded it no longer finishes it.
    pub fn forward(&self, to: &Executor) {
        *self.shared.executor.lock() = to.shared.clone();
        *self.shared.status.lock() = JobStatus::Queued;
    }

    /// Withdraws a job that has not started. Returns whether it was withdrawn (false if
    /// it already runs or ran).
    pub fn cancel(&self) -> bool {
        let mut status = self.shared.status.lock();
        if *status != JobStatus::Queued {
            return false;
        }
        *status = JobStatus::Cancelled;
        drop(status);
        self.shared.changed.notify_all();
        true
    }

    /// Finished (or cancelled).
    pub fn is_done(&self) -> bool {
        matches!(
            *self.shared.status.lock(),
            JobStatus::Done | JobStatus::Cancelled
        )
    }

    /// Blocks until the job has finished or was cancelled.
    #[track_caller]
    pub fn wait(&self) {
        self.wait_inner(None, Location::caller());
    }

    /// Blocks until the job has finished, giving up after `timeout`. Returns whether it
    /// finished.
    #[track_caller]
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_inner(Some(Instant::now() + timeout), Location::caller())
    }

    fn wait_inner(&self, deadline: Option<Instant>, site: &'static Location<'static>) -> bool {
        let done = |s: &JobStatus| matches!(s, JobStatus::Done | JobStatus::Cancelled);
        let mut status = self.shared.status.lock();
        if done(&status) {
            return true;
        }
        let wait = hooks::enabled()
            .then(|| WaitScope::begin(self.key(), WaitKind::Job, site, deadline.is_some()));
        while !done(&status) {
            let slice = hooks::next_slice(deadline);
            self.shared.changed.wait_for(&mut status, slice);
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return done(&status);
            }
            if let Some(wait) = &wait {
                wait.serve();
            }
        }
        true
    }

    /// Runs `wait` (a blocking call of the program's own, such as receiving the job's
    /// reply) as a wait for this job.
    #[track_caller]
    pub fn waiting<R>(&self, wait: impl FnOnce() -> R) -> R {
        hooks::declared_wait(|| self.key(), WaitKind::Job, Location::caller(), wait)
    }
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("status", &*self.shared.status.lock())
            .finish()
    }
}

/// A job running on the current thread; finished when dropped (a panic included).
pub struct RunningJob<'a> {
    job: &'a Job,
}

impl Drop for RunningJob<'_> {
    fn drop(&mut self) {
        // A job forwarded to another executor during its run is not finished here.
        let mut status = self.job.shared.status.lock();
        if matches!(*status, JobStatus::Running(_)) {
            *status = JobStatus::Done;
            drop(status);
            if hooks::enabled() {
                hooks::note(|| self.job.event(JobEvent::Finished), None);
            }
            self.job.shared.changed.notify_all();
        }
    }
}

/// Work queued to an executor needs any one of its live workers.
#[cfg(feature = "probe")]
impl hooks::WaitState for ExecutorShared {
    fn provision(
        &self,
        world: &hooks::World,
        _waiter: ThreadKey,
        _wait: &hooks::WaitRecord,
    ) -> hooks::Provision {
        hooks::Provision::any(world.live(self.members.lock().iter().copied()))
    }
}

/// A job still queued needs any worker of its executor; a running one, its worker.
#[cfg(feature = "probe")]
impl hooks::WaitState for JobShared {
    fn provision(
        &self,
        world: &hooks::World,
        waiter: ThreadKey,
        wait: &hooks::WaitRecord,
    ) -> hooks::Provision {
        match *self.status.lock() {
            JobStatus::Queued => self.executor.lock().provision(world, waiter, wait),
            JobStatus::Running(Some(worker)) if world.is_live(worker) => {
                hooks::Provision::all(vec![worker])
            }
            JobStatus::Running(_) => hooks::Provision::Unknown,
            JobStatus::Done | JobStatus::Cancelled => hooks::Provision::Free,
        }
    }
}

//! One shard: a main thread serving commands (holding the gil while it runs each one,
//! as the host does), the index, the keyspace, the worker pool, and for clusters an IO
//! thread that runs connection-pool resizes.

use crate::data::{answer, Answer, Document, Index, Query};
use crate::pool::{Pool, Reply};
use crate::shrink::Variant;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use waitgraph::sync::{channel, Executor, Job, Mutex, MutexGuard, RwLock};

/// The keyspace: what the gil protects.
pub type Keyspace = BTreeMap<u32, Document>;

/// What the main thread and the workers share.
pub struct ShardState {
    /// The host's global lock, held by the main thread for every command.
    pub gil: Mutex<Keyspace>,
    /// The index; written on the main thread under the gil.
    pub spec: RwLock<Index>,
}

/// Work for a shard's IO thread (the coordinator's event loop).
pub enum IoTask {
    /// Resize the connection pool.
    Resize {
        job: Job,
        connections: usize,
    },
    /// Carry a request to a shard.
    Carry {
        to: channel::Sender<Request>,
        request: Request,
    },
    Stop,
}

/// A query sent and not yet answered.
pub struct Pending {
    job: Job,
    answer: channel::Receiver<Result<Answer, String>>,
}

impl Pending {
    /// Waits for the answer: a wait for the request's job, wherever it now is.
    pub fn wait(self) -> Result<Answer, String> {
        self.job
            .waiting(|| self.answer.recv())
            .map_err(|_| "no reply".to_string())?
    }
}

/// A command for the main thread.
pub enum Command {
    Query {
        query: Query,
        reply: Reply,
    },
    ConfigSetWorkers {
        count: usize,
        reply: channel::Sender<Result<(), String>>,
    },
    /// The pre-fix revival: grow back to `count`, first waiting (under the gil) for
    /// every live worker to pass a barrier, even while a shrink is still draining.
    ReviveBlocking {
        count: usize,
        reply: channel::Sender<Result<(), String>>,
    },
    /// Ends the main thread (after the commands queued before it).
    Stop,
}

/// A command with the job that stands for it: whoever waits for the reply waits for this
/// shard's main thread (a request is a job queued to the executor serving it).
pub struct Request {
    pub job: Job,
    pub command: Command,
}

pub struct Shard {
    pub id: usize,
    pub state: Arc<ShardState>,
    pub pool: Pool,
    pub main: Executor,
    requests: channel::Sender<Request>,
    pub io: Option<Executor>,
    io_jobs: Option<channel::Sender<IoTask>>,
    /// Connections per shard the IO thread keeps (workers + 1).
    pub connection_pool: Arc<AtomicUsize>,
    pub variant: Variant,
    threads: std::sync::Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Shard {
    /// Builds the shard, starts its main thread, `workers` workers and, in a cluster, its
    /// IO thread.
    pub fn start(
        id: usize,
        documents: Vec<Document>,
        workers: usize,
        variant: Variant,
        cluster: bool,
    ) -> Arc<Shard> {
        let suffix = if cluster {
            format!("@{id}")
        } else {
            String::new()
        };
        let index = Index::build(&documents);
        let keyspace: Keyspace = documents.into_iter().map(|d| (d.id, d)).collect();
        let state = Arc::new(ShardState {
            gil: Mutex::with_name(format!("gil{suffix}"), keyspace),
            spec: RwLock::with_name(format!("spec{suffix}"), index),
        });
        let (requests, inbox) = channel::named::<Request>(format!("commands{suffix}"), None);
        let (io, io_jobs, io_inbox) = if cluster {
            let (tx, rx) = channel::named::<IoTask>(format!("io-queue{suffix}"), None);
            (
                Some(Executor::new(format!("io{suffix}"))),
                Some(tx),
                Some(rx),
            )
        } else {
            (None, None, None)
        };
        let shard = Arc::new(Shard {
            id,
            pool: Pool::new(&format!("workers{suffix}"), state.clone()),
            state,
            main: Executor::new(format!("main{suffix}")),
            requests,
            io,
            io_jobs,
            connection_pool: Arc::new(AtomicUsize::new(workers + 1)),
            variant,
            threads: std::sync::Mutex::new(Vec::new()),
        });
        let main = shard.clone();
        let handle = std::thread::Builder::new()
            .name(format!("main{suffix}"))
            .spawn(move || main.serve(inbox))
            .expect("spawn main thread");
        shard.threads.lock().unwrap().push(handle);
        if let (Some(io), Some(inbox)) = (shard.io.clone(), io_inbox) {
            let pool_size = shard.connection_pool.clone();
            let handle = std::thread::Builder::new()
                .name(format!("io{suffix}"))
                .spawn(move || {
                    let _serving = io.enroll();
                    while let Ok(task) = io.idle(|| inbox.recv()) {
                        match task {
                            IoTask::Resize { job, connections } => {
                                job.run(|| pool_size.store(connections, Ordering::SeqCst));
                            }
                            // Requests go out without waiting: replies come back to the
                            // coordinator thread that waits for them.
                            IoTask::Carry { to, request } => {
                                let _ = to.send(request);
                            }
                            IoTask::Stop => return,
                        }
                    }
                })
                .expect("spawn io thread");
            shard.threads.lock().unwrap().push(handle);
        }
        shard.pool.target.store(workers, Ordering::SeqCst);
        shard.pool.grow(workers);
        shard
    }

    /// Sends a command through `via`'s IO thread (a coordinator's requests travel that
    /// way); the returned job stands for its execution here.
    pub fn send_via(&self, via: &Shard, command: Command) -> Option<Job> {
        let Some(io) = &via.io_jobs else {
            return self.send(command);
        };
        let job = self.main.queue();
        let request = Request {
            job: job.clone(),
            command,
        };
        io.send(IoTask::Carry {
            to: self.requests.clone(),
            request,
        })
        .ok()?;
        Some(job)
    }

    /// Sends a command; the returned job stands for its execution.
    pub fn send(&self, command: Command) -> Option<Job> {
        let job = self.main.queue();
        self.requests
            .send(Request {
                job: job.clone(),
                command,
            })
            .ok()?;
        Some(job)
    }

    /// Sends a query and waits for its answer.
    pub fn query(&self, query: Query) -> Result<Answer, String> {
        self.submit(query)?.wait()
    }

    /// Sends a query without waiting: a client may keep several in flight.
    pub fn submit(&self, query: Query) -> Result<Pending, String> {
        let (reply, answer) = channel::bounded(1);
        let job = self
            .send(Command::Query { query, reply })
            .ok_or("shard is gone")?;
        Ok(Pending { job, answer })
    }

    /// The pre-fix revival (see [`Command::ReviveBlocking`]), waiting for its reply.
    pub fn revive_blocking(&self, count: usize) -> Result<(), String> {
        let (reply, result) = channel::bounded(1);
        let job = self
            .send(Command::ReviveBlocking { count, reply })
            .ok_or("shard is gone")?;
        job.waiting(|| result.recv())
            .map_err(|_| "no reply".to_string())?
    }

    /// `CONFIG SET WORKERS count`, waiting for the command's reply.
    pub fn config_set_workers(&self, count: usize) -> Result<(), String> {
        let (reply, result) = channel::bounded(1);
        let job = self
            .send(Command::ConfigSetWorkers { count, reply })
            .ok_or("shard is gone")?;
        job.waiting(|| result.recv())
            .map_err(|_| "no reply".to_string())?
    }

    /// The coordinator's connection-pool resize: queued to the IO thread, which runs it
    /// when it can (in a single shard there is no coordinator and nothing to do).
    pub fn trigger_coordinator(&self, workers: usize) {
        if let (Some(io), Some(jobs)) = (&self.io, &self.io_jobs) {
            let _ = jobs.send(IoTask::Resize {
                job: io.queue(),
                connections: workers + 1,
            });
        }
    }

    /// The main thread: one command at a time, each under the gil.
    fn serve(&self, inbox: channel::Receiver<Request>) {
        let _serving = self.main.enroll();
        while let Ok(Request { job, command }) = self.main.idle(|| inbox.recv()) {
            if matches!(command, Command::Stop) {
                job.run(|| ());
                return;
            }
            job.run(|| {
                let mut gil = self.state.gil.lock();
                self.execute(&job, command, &mut gil);
            });
        }
    }

    #[waitgraph::instrument(name = "demo_pool::shard::Shard::execute")]
    fn execute(&self, job: &Job, command: Command, gil: &mut MutexGuard<'_, Keyspace>) {
        match command {
            Command::Query { query, reply } => {
                if self.pool.target.load(Ordering::SeqCst) == 0 {
                    // No workers: the host runs the query on the main thread.
                    let matches = self.state.spec.read().matches(&query.tag);
                    crate::pool::work_per_document(matches.len(), crate::pool::SEARCH_COST);
                    if query.load_fields || query.aggregate {
                        crate::pool::work_per_document(matches.len(), crate::pool::LOAD_COST);
                    }
                    let _ = reply.send(Ok(answer(&query, &matches, gil)));
                } else {
                    // The request moves on to the pool: whoever waits for its reply now
                    // waits for the workers.
                    job.forward(&self.pool.executor);
                    self.pool.submit_query(job.clone(), query, reply);
                }
            }
            Command::ConfigSetWorkers { count, reply } => {
                let result = crate::shrink::config_set_workers(self, gil, count);
                let _ = reply.send(result);
            }
            Command::ReviveBlocking { count, reply } => {
                let _ = reply.send(crate::shrink::revive_blocking(self, gil, count));
            }
            Command::Stop => {}
        }
    }

    /// Requeues to the main thread the queries a pool that shrank to nothing left behind.
    pub fn requeue_to_main(&self, leftovers: Vec<(Query, Reply)>) {
        for (query, reply) in leftovers {
            let _ = self.send(Command::Query { query, reply });
        }
    }

    /// Stops the workers, the IO thread and the main thread, and waits for them.
    pub fn shut_down(&self) {
        self.pool.shut_down();
        let _ = self.send(Command::Stop);
        if let Some(jobs) = &self.io_jobs {
            let _ = jobs.send(IoTask::Stop);
        }
        let threads: Vec<_> = self.threads.lock().unwrap().drain(..).collect();
        for thread in threads {
            let _ = thread.join();
        }
    }
}

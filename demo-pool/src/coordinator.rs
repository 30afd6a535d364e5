//! The coordinator of a cluster (S > 1 shards): per shard, a pool of threads that fan a
//! client's query out to every shard, its own included, through the shard's IO thread,
//! and wait for every reply with no timeout. A request that expects a reply is a job queued to the target shard's main
//! thread, so a coordinator thread waiting for a frozen shard is shown waiting for that
//! shard, never for every thread that could send on the reply channel.

use crate::data::{merge, Answer, Query};
use crate::pool::Reply;
use crate::shard::{Command, Shard};
use std::sync::Arc;
use waitgraph::sync::{channel, Executor};

/// Threads per coordinator.
pub const THREADS: usize = 20;

pub struct Coordinator {
    requests: channel::Sender<(waitgraph::sync::Job, Query, Reply)>,
    executor: Executor,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Coordinator {
    /// The coordinator of shard `home`, fanning out to `shards`.
    pub fn start(home: usize, shards: Vec<Arc<Shard>>) -> Coordinator {
        let executor = Executor::new(format!("coordinator@{home}"));
        let (requests, inbox) = channel::named::<(waitgraph::sync::Job, Query, Reply)>(
            format!("coordinator-queue@{home}"),
            None,
        );
        let threads = (0..THREADS)
            .map(|i| {
                let (executor, inbox, shards) = (executor.clone(), inbox.clone(), shards.clone());
                let home_shard = shards[home].clone();
                std::thread::Builder::new()
                    .name(format!("coord@{home}-{i}"))
                    .spawn(move || {
                        let _serving = executor.enroll();
                        while let Ok((job, query, reply)) = executor.idle(|| inbox.recv()) {
                            job.run(|| {
                                let _ = reply.send(fan_out(&home_shard, &shards, &query));
                            });
                        }
                    })
                    .expect("spawn coordinator thread")
            })
            .collect();
        Coordinator {
            requests,
            executor,
            threads,
        }
    }

    /// Sends a query through this coordinator and waits for the merged answer.
    pub fn query(&self, query: Query) -> Result<Answer, String> {
        let (reply, answer) = channel::bounded(1);
        let job = self.executor.queue();
        self.requests
            .send((job.clone(), query, reply))
            .map_err(|_| "coordinator is gone")?;
        job.waiting(|| answer.recv())
            .map_err(|_| "no reply".to_string())?
    }

    pub fn shut_down(self) {
        drop(self.requests);
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

/// Sends the query to every shard through the home shard's IO thread, then waits for each
/// reply in turn (no timeout, as upstream).
#[waitgraph::instrument]
fn fan_out(home: &Shard, shards: &[Arc<Shard>], query: &Query) -> Result<Answer, String> {
    let mut pending = Vec::with_capacity(shards.len());
    for shard in shards {
        let (reply, answer) = channel::bounded(1);
        let job = shard
            .send_via(
                home,
                Command::Query {
                    query: query.clone(),
                    reply,
                },
            )
            .ok_or("shard is gone")?;
        pending.push((job, answer));
    }
    let mut answers = Vec::with_capacity(pending.len());
    for (job, answer) in pending {
        answers.push(
            job.waiting(|| answer.recv())
                .map_err(|_| "no reply".to_string())??,
        );
    }
    merge(answers).ok_or_else(|| "shards disagree on the kind of answer".to_string())
}

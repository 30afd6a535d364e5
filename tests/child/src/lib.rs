//! Runs a child process for a test: under a deadline, with its standard output and
//! standard error read while it runs.
//!
//! Reading both pipes on their own threads as the child writes means a child that
//! writes more than a pipe buffer holds never blocks on a full pipe; the deadline means
//! a child that hangs is killed (and reaped) instead of hanging the test; keeping the
//! output means a passing test prints nothing of it, and a failing one can show it all
//! (`Output` displays its status and both streams, for assertion messages).
//!
//! The waitgraph test suites (the probe's integration tests and the end-to-end crate)
//! all start their children through [`run`]. This crate depends on nothing.

use std::fmt;
use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often the child's status is checked while it runs.
const POLL: Duration = Duration::from_millis(5);

/// How long the pipes are still read once the child has ended. The child's own output is
/// all there by then; only a process it started and left running (which inherited the
/// pipes) can keep them open, and the test must not wait for that one.
const DRAIN: Duration = Duration::from_secs(2);

/// What a child did.
#[derive(Debug)]
pub struct Output {
    /// How the child ended; `None` when it was still running at the deadline and so was
    /// killed (and reaped).
    pub status: Option<ExitStatus>,
    /// Its standard output (lossy UTF-8).
    pub stdout: String,
    /// Its standard error (lossy UTF-8).
    pub stderr: String,
    /// From the start until it ended or was killed.
    pub elapsed: Duration,
    /// The deadline it ran under.
    pub deadline: Duration,
    /// Its process id.
    pub pid: u32,
}

impl Output {
    /// The exit code: `None` when the child was killed at the deadline or ended by a
    /// signal.
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|status| status.code())
    }

    /// Whether the child was killed at the deadline.
    pub fn killed(&self) -> bool {
        self.status.is_none()
    }
}

/// How the child ended, then both of its streams in full: what an assertion message
/// about a child shows.
impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(
                f,
                "child {} ended ({status}) after {:?}",
                self.pid, self.elapsed
            )?,
            None => write!(
                f,
                "child {} was still running at its {:?} deadline and was killed",
                self.pid, self.deadline
            )?,
        }
        for (name, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            write!(f, "\n--- {name} ---\n")?;
            if text.is_empty() {
                f.write_str("(nothing)")?;
            } else {
                f.write_str(text.trim_end())?;
            }
        }
        f.write_str("\n--- end of the child's output ---")
    }
}

/// Runs `command` with no standard input and both output streams captured; kills it if
/// it is still running after `deadline`. Returns when it has ended (or been killed) and
/// its output has been read.
///
/// # Panics
///
/// When the command cannot be started, or its status cannot be read.
pub fn run(command: &mut Command, deadline: Duration) -> Output {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("could not start {command:?}: {error}"));
    let pid = child.id();
    let stdout = Drain::start(child.stdout.take().expect("stdout is piped"), "stdout");
    let stderr = Drain::start(child.stderr.take().expect("stderr is piped"), "stderr");
    let status = wait_until(&mut child, started + deadline);
    let elapsed = started.elapsed();
    let drained_by = Instant::now() + DRAIN;
    Output {
        status,
        stdout: stdout.finish(drained_by),
        stderr: stderr.finish(drained_by),
        elapsed,
        deadline,
        pid,
    }
}

/// Runs the cargo that runs the tests (`$CARGO`, else `cargo`) with `args`, quietly: for
/// building what a test starts (a filtered `cargo test` does not build examples or other
/// crates' binaries, and a stale binary would test old code).
///
/// # Panics
///
/// When cargo fails (the message has its output), or is still running after half an
/// hour (a build waits for any other build of the same target directory).
pub fn cargo(args: &[&str]) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = run(Command::new(cargo).args(args), Duration::from_secs(30 * 60));
    assert_eq!(output.code(), Some(0), "cargo {}: {output}", args.join(" "));
}

/// Waits for the child until `deadline`; kills and reaps it there.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("could not read the status of child {}: {error}", child.id());
            }
        }
        let now = Instant::now();
        if now >= deadline {
            // Killed, then waited for: no process outlives its test, and no zombie.
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(POLL.min(deadline - now));
    }
}

/// One pipe, read on its own thread from the start into a buffer the caller can take
/// at any time.
struct Drain {
    read: Arc<Mutex<Vec<u8>>>,
    /// Disconnected when the reader has seen the end of the pipe (or failed).
    finished: mpsc::Receiver<()>,
}

impl Drain {
    fn start(mut pipe: impl Read + Send + 'static, name: &str) -> Drain {
        let read = Arc::new(Mutex::new(Vec::new()));
        let (done, finished) = mpsc::channel::<()>();
        let into = read.clone();
        std::thread::Builder::new()
            .name(format!("child-{name}"))
            .spawn(move || {
                let _done = done;
                let mut chunk = vec![0; 64 * 1024];
                loop {
                    match pipe.read(&mut chunk) {
                        Ok(0) => return,
                        Ok(n) => into
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .extend_from_slice(&chunk[..n]),
                        Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => return,
                    }
                }
            })
            .expect("start a reader thread");
        Drain { read, finished }
    }

    /// Everything read, once the pipe is closed or at `by`, whichever comes first.
    fn finish(self, by: Instant) -> String {
        let closed = matches!(
            self.finished
                .recv_timeout(by.saturating_duration_since(Instant::now())),
            Err(mpsc::RecvTimeoutError::Disconnected)
        );
        let bytes = std::mem::take(&mut *self.read.lock().unwrap_or_else(PoisonError::into_inner));
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        if !closed {
            text.push_str(&format!(
                "\n[still open {DRAIN:?} after the child ended (a process it started holds it): what was read until then]"
            ));
        }
        text
    }
}

//! The pool's side of one worker process: started, contained, stopped and
//! reaped through pp-process like any command (its own cgroup or process
//! group, the whole tree stopped with SIGTERM, grace, SIGKILL; SIGKILL when
//! the pool's process dies), the handshake that proves the child we started
//! answers, and the tasks sent to it.
//!
//! The worker inherits its end of an unnamed socket pair as descriptor
//! [`WORKER_FD`] (`Command::pass_fd`), named in its environment; the pool's
//! copy of that end is closed as soon as the worker runs, so the worker's
//! exit is the end of file on the pool's end.

use std::os::fd::{OwnedFd, RawFd};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use pp_process::{Command, Input, Output, ProcessHandle};

use crate::error::PoolError;
use crate::launch::worker_launch;
use crate::options::WorkerOutput;
use crate::remote::{Key, RemoteFn, Sealed};
use crate::shared::Shared;
use crate::sys::Alarm;
use crate::transport::{Channel, FrameError, Received};
use crate::worker::{FromWorker, HANDSHAKE, ToWorker};

/// The descriptor number of the worker's end of its socket pair, in the worker.
const WORKER_FD: RawFd = 3;
/// How much of a worker's refusal an error shows.
const REASON_SHOWN: usize = 512;

/// One worker process and the socket to it. Dropped without `stop` or
/// `retire` (a panicking supervisor), it is killed and reaped all the same.
#[derive(Debug)]
pub(crate) struct WorkerProcess {
    process: ProcessHandle,
    pid: u32,
    channel: Channel,
    /// The key the functions sent to this worker are sealed with.
    key: Key,
    /// Functions sealed so far (the initializer, then every task sent).
    sealed: u64,
    tasks_sent: usize,
}

/// How a worker process ended.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Exit {
    /// Its exit code, if it exited.
    pub(crate) code: Option<i32>,
    /// The signal that killed it, if one did.
    pub(crate) signal: Option<i32>,
}

impl WorkerProcess {
    /// Starts a worker and completes its handshake. Its exit rings `alarm`
    /// (the alarm of the supervisor that will own it).
    pub(crate) fn start(pool: &Shared, alarm: &Arc<Alarm>) -> Result<WorkerProcess, PoolError> {
        let exe = pool.exe.display().to_string();
        let start_error = |reason: String| PoolError::WorkerStart { exe: exe.clone(), reason };
        let (mut channel, theirs) = crate::transport::pair()
            .map_err(|e| start_error(format!("cannot create the worker's socket pair: {e}")))?;
        let key = Key::random().map_err(|e| start_error(format!("no random key: {e}")))?;
        // The command holds our copy of the worker's end: dropped with it,
        // right after the spawn.
        let process = command(pool, theirs, Arc::downgrade(alarm))
            .spawn()
            .map_err(|e| start_error(e.to_string()))?;
        let Some(pid) = process.pid() else {
            return Err(start_error("the worker has no pid".into()));
        };
        // Only the child we started may answer.
        channel.expect_sender(pid);
        let mut worker = WorkerProcess { process, pid, channel, key, sealed: 0, tasks_sent: 0 };
        // On an error, dropping `worker` kills and reaps the process.
        worker.handshake(pool)?;
        pool.worker_started(pid);
        tracing::debug!(pid, "pool worker started");
        Ok(worker)
    }

    /// Sends the hello and checks the answer: the worker is this program and
    /// the process we started, and its initializer ran.
    fn handshake(&mut self, pool: &Shared) -> Result<(), PoolError> {
        let exe = pool.exe.display().to_string();
        let started = Instant::now();
        let initializer = pool.options.initializer.map(|f| self.seal(RemoteFn::nullary(f)));
        let hello = ToWorker::Hello {
            key: self.key.clone(),
            identity: pool.identity.clone(),
            initializer,
            capture: pool.options.output == WorkerOutput::CapturePerTask,
        };
        let answer = self
            .channel
            .send(&hello)
            .and_then(|()| self.channel.recv::<FromWorker>(Some(HANDSHAKE)));
        let pid = self.pid;
        match answer {
            Ok(FromWorker::Ready) => {
                self.channel.trust_sender().map_err(|error| PoolError::Transport { pid, error })
            }
            Ok(FromWorker::Refused { reason }) => {
                let reason = crate::shorten::shorten(&reason, REASON_SHOWN);
                Err(if reason.contains("initializer") {
                    PoolError::WorkerStart { exe, reason }
                } else {
                    PoolError::NotSameBinary { exe, reason }
                })
            }
            Ok(other) => Err(PoolError::WorkerStart {
                exe,
                reason: format!("unexpected handshake answer {other:?}"),
            }),
            Err(FrameError::Closed | FrameError::Timeout { .. }) => {
                Err(PoolError::NoHandshake { exe, waited: started.elapsed() })
            }
            Err(FrameError::WrongSender { expected, found }) => {
                Err(PoolError::ForeignPeer { expected, found })
            }
            Err(error) => Err(PoolError::Transport { pid, error }),
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// `function` sealed as the next function this worker is sent.
    fn seal(&mut self, function: RemoteFn) -> Sealed {
        let sealed = self.key.seal(self.sealed, function);
        self.sealed += 1;
        sealed
    }

    /// How many more tasks this worker may be sent (`max_tasks_per_child`;
    /// every worker runs one at least, or a pool limited to 0 would stall).
    pub(crate) fn quota(&self, pool: &Shared) -> usize {
        let max = pool.options.max_tasks_per_child.map_or(usize::MAX, |max| max.max(1));
        max.saturating_sub(self.tasks_sent)
    }

    /// Sends a task (its function sealed, its encoded argument).
    pub(crate) fn send(&mut self, function: RemoteFn, arg: &[u8]) -> Result<(), FrameError> {
        let function = self.seal(function);
        self.channel.send(&ToWorker::Task { function, arg: arg.to_vec() })?;
        self.tasks_sent += 1;
        Ok(())
    }

    /// The next message if one is complete already.
    pub(crate) fn try_recv(&mut self) -> Result<Option<FromWorker>, FrameError> {
        self.channel.try_recv()
    }

    /// The next message, waiting until `deadline` or until `alarm` rings.
    pub(crate) fn recv_until(
        &mut self,
        deadline: Option<Instant>,
        alarm: &Alarm,
    ) -> Result<Received<FromWorker>, FrameError> {
        use std::os::fd::AsFd;
        self.channel.recv_until(deadline, alarm.as_fd())
    }

    /// Whether pp-process has seen the process end (and reaped it).
    pub(crate) fn has_exited(&self) -> bool {
        self.process.status().is_finished()
    }

    /// Stops the worker's tree (SIGTERM, `grace`, SIGKILL) and reaps it.
    pub(crate) fn stop(self, pool: &Shared, grace: Duration) -> Exit {
        if let Err(e) = self.process.terminate_with_grace(grace) {
            tracing::error!(pid = self.pid, error = %e, "cannot stop a pool worker");
        }
        pool.worker_gone(self.pid);
        let info = self.process.info();
        Exit { code: info.code, signal: info.signal }
    }

    /// Asks the worker to exit after its current task and waits for it (at
    /// most the pool's grace period, then it is stopped).
    pub(crate) fn retire(mut self, pool: &Shared) {
        let grace = pool.options.grace;
        let exited = self.channel.send(&ToWorker::Exit).is_ok()
            && matches!(self.process.wait_timeout(grace), Ok(Some(_)));
        if exited {
            pool.worker_gone(self.pid);
        } else {
            self.stop(pool, grace);
        }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        // Stopped or retired already: reaped, nothing to do. Otherwise (a
        // supervisor unwinding, a failed handshake) kill its tree and wait
        // until it is reaped: no orphan, no zombie.
        if !self.has_exited() {
            let _ = self.process.kill();
        }
    }
}

/// The command that starts a worker: this program (or `worker_exe`), told
/// where its socket is, with the pool's output choice and grace period;
/// its exit rings `alarm`, so the supervisor learns of it even while a
/// descendant holds the socket open.
fn command(pool: &Shared, socket: OwnedFd, alarm: Weak<Alarm>) -> Command {
    let launch = worker_launch(pool.options.worker_exe.as_deref(), WORKER_FD);
    let output = match pool.options.output {
        WorkerOutput::Discard => Output::Null,
        _ => Output::Inherit,
    };
    // In a test binary whose output libtest captures, the worker's stdout
    // (libtest's own header included) goes nowhere, as a passing test's would.
    let stdout = if launch.quiet_stdout { Output::Null } else { output.clone() };
    let mut command = Command::new(&launch.program)
        .args(&launch.args)
        .pass_fd(socket, WORKER_FD)
        .stdin(Input::Null)
        .stdout(stdout)
        .stderr(output)
        .grace(pool.options.grace)
        .on_exit(move |_| {
            if let Some(alarm) = alarm.upgrade() {
                alarm.ring();
            }
        });
    for (key, value) in launch.env {
        command = command.env(key, value);
    }
    // What `ps` shows for a copy of this program: its name, not `/proc/self/exe`.
    match launch.arg0 {
        Some(name) if pool.options.worker_exe.is_none() => command.arg0(name),
        _ => command,
    }
}

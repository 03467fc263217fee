//! The errors of pp-pool: why a task has no result, and why a pool failed.

use std::fmt;
use std::time::Duration;

use crate::id::TaskId;
use crate::transport::FrameError;

/// Why a task gave no value: which task, and what happened to it.
///
/// ```
/// # fn check(error: pp_pool::TaskError) {
/// use pp_pool::{TaskError, TaskErrorKind};
/// match error {
///     TaskError { kind: TaskErrorKind::Panicked { message }, task_id, .. } => {
///         eprintln!("{task_id} panicked: {message}")
///     }
///     other => eprintln!("{other}"),
/// }
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskError {
    /// The task.
    pub task_id: TaskId,
    /// What happened to it.
    pub kind: TaskErrorKind,
}

/// What happened to a task that gave no value (see [`TaskError`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskErrorKind {
    /// A wait for the result gave up; the task goes on.
    Timeout {
        /// How long the wait lasted.
        waited: Duration,
    },

    /// The task was cancelled (before it ran, or stopped while running).
    Cancelled,

    /// The task panicked; its worker lives on.
    Panicked {
        /// The panic message.
        message: String,
    },

    /// The worker process running the task died (abort, segfault, exit, a
    /// signal from outside); only this task failed, and the worker was replaced.
    WorkerDied {
        /// The worker's exit code, if it exited.
        code: Option<i32>,
        /// The signal that killed the worker, if one did.
        signal: Option<i32>,
    },

    /// The task ran past its own timeout; its worker was stopped and replaced.
    TaskTimedOut {
        /// The task's timeout.
        limit: Duration,
    },

    /// The argument or the result could not be (de)serialized.
    Serialization {
        /// `"argument"` or `"result"`.
        what: &'static str,
        /// What the serializer said.
        reason: String,
    },

    /// The pool shut down before the task ran.
    PoolShutDown,

    /// The result was already taken by an earlier `take_result`.
    ResultTaken,

    /// The pool could not start a worker for this task.
    NoWorker {
        /// Why.
        reason: String,
    },
}

impl TaskError {
    /// Task `task_id` failed as `kind` says. (Cheap: a task id is a small
    /// `Copy` value, so the errors of the waiting calls never allocate.)
    pub(crate) fn new(task_id: TaskId, kind: TaskErrorKind) -> TaskError {
        TaskError { task_id, kind }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let task_id = self.task_id;
        match &self.kind {
            TaskErrorKind::Timeout { waited } => {
                write!(f, "task {task_id} has no result after waiting {waited:?}")
            }
            TaskErrorKind::Cancelled => write!(f, "task {task_id} was cancelled"),
            TaskErrorKind::Panicked { message } => write!(f, "task {task_id} panicked: {message}"),
            TaskErrorKind::WorkerDied { code, signal } => {
                write!(f, "the worker running task {task_id} died (")?;
                match (code, signal) {
                    (Some(code), _) => write!(f, "exit code {code}")?,
                    (None, Some(signal)) => write!(f, "killed by signal {signal}")?,
                    (None, None) => f.write_str("exit status unknown")?,
                }
                f.write_str(")")
            }
            TaskErrorKind::TaskTimedOut { limit } => {
                write!(f, "task {task_id} ran past its timeout of {limit:?} and was stopped")
            }
            TaskErrorKind::Serialization { what, reason } => {
                write!(f, "task {task_id}: cannot (de)serialize its {what}: {reason}")
            }
            TaskErrorKind::PoolShutDown => {
                write!(f, "task {task_id} was not run: its pool has shut down")
            }
            TaskErrorKind::ResultTaken => {
                write!(f, "the result of task {task_id} was already taken")
            }
            TaskErrorKind::NoWorker { reason } => {
                write!(f, "task {task_id}: no worker could be started: {reason}")
            }
        }
    }
}

impl std::error::Error for TaskError {}

/// Why a pool could not be created or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// `max_workers` was 0.
    #[error("a pool needs at least one worker (max_workers was 0)")]
    NoWorkers,

    /// A worker process could not be started.
    #[error("cannot start a worker process from {exe:?}: {reason}")]
    WorkerStart {
        /// The executable.
        exe: String,
        /// Why.
        reason: String,
    },

    /// The worker executable is not this program, so our task functions do not exist in it.
    #[error(
        "worker {exe:?} is not the same binary as this program ({reason}); process pools run workers from their own executable"
    )]
    NotSameBinary {
        /// The worker executable.
        exe: String,
        /// What differed.
        reason: String,
    },

    /// The worker never answered: most likely `pp_pool::init()` is not the
    /// first thing `main` calls (in a test binary: `pp_pool::enable_test_support!()`
    /// is missing), so the worker ran the program instead.
    #[error(
        "worker {exe:?} did not answer within {waited:?}: call pp_pool::init() at the top of main (in a libtest test binary: pp_pool::enable_test_support!())"
    )]
    NoHandshake {
        /// The executable.
        exe: String,
        /// How long we waited.
        waited: Duration,
    },

    /// A pool was created inside a worker process (it would fork workers recursively).
    #[error("process pools cannot be created inside a pool worker")]
    InsideWorker,

    /// The pool has been shut down.
    #[error("the pool has shut down")]
    ShutDown,

    /// A process other than the worker the pool started answered on that
    /// worker's connection.
    #[error("pid {found:?} answered the handshake of worker {expected}; the worker was stopped")]
    ForeignPeer {
        /// The worker the pool started.
        expected: u32,
        /// Who answered (`None`: the kernel named no sender).
        found: Option<u32>,
    },

    /// Talking to a worker failed (its frames broke the protocol, or the
    /// connection failed) while starting it.
    #[error("worker {pid}: {error}")]
    Transport {
        /// The worker.
        pid: u32,
        /// What went wrong.
        #[source]
        error: FrameError,
    },
}

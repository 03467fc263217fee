//! The errors of pp-pool: why a task has no result, and why a pool failed.

use std::time::Duration;

use crate::task::TaskId;

/// Why a task gave no value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// `result` gave up waiting; the task goes on.
    #[error("task {task_id} has no result after waiting {waited:?}")]
    Timeout {
        /// The task.
        task_id: TaskId,
        /// How long `result` waited.
        waited: Duration,
    },

    /// The task was cancelled (before it ran, or stopped while running).
    #[error("task {task_id} was cancelled")]
    Cancelled {
        /// The task.
        task_id: TaskId,
    },

    /// The task panicked; its worker lives on.
    #[error("task {task_id} panicked: {message}")]
    Panicked {
        /// The task.
        task_id: TaskId,
        /// The panic message.
        message: String,
    },

    /// The worker process running the task died (abort, segfault, exit, a
    /// signal from outside); only this task failed, and the worker was replaced.
    #[error("the worker running task {task_id} died ({})", describe_exit(*code, *signal))]
    WorkerDied {
        /// The task.
        task_id: TaskId,
        /// The worker's exit code, if it exited.
        code: Option<i32>,
        /// The signal that killed the worker, if one did.
        signal: Option<i32>,
    },

    /// The task ran past its own timeout; its worker was stopped and replaced.
    #[error("task {task_id} ran past its timeout of {limit:?} and was stopped")]
    TaskTimedOut {
        /// The task.
        task_id: TaskId,
        /// The task's timeout.
        limit: Duration,
    },

    /// The argument or the result could not be (de)serialized.
    #[error("task {task_id}: cannot (de)serialize its {what}: {reason}")]
    Serialization {
        /// The task.
        task_id: TaskId,
        /// `"argument"` or `"result"`.
        what: &'static str,
        /// What the serializer said.
        reason: String,
    },

    /// The pool shut down before the task ran.
    #[error("task {task_id} was not run: its pool has shut down")]
    PoolShutDown {
        /// The task.
        task_id: TaskId,
    },

    /// The result was already taken by an earlier `take_result`.
    #[error("the result of task {task_id} was already taken")]
    ResultTaken {
        /// The task.
        task_id: TaskId,
    },

    /// The pool could not start a worker for this task.
    #[error("task {task_id}: no worker could be started: {reason}")]
    NoWorker {
        /// The task.
        task_id: TaskId,
        /// Why.
        reason: String,
    },
}

fn describe_exit(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "exit status unknown".into(),
    }
}

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
    /// first thing `main` calls, so the worker ran the program instead.
    #[error(
        "worker {exe:?} did not answer within {waited:?}: call pp_pool::init() at the top of main"
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
        error: crate::transport::FrameError,
    },
}

/// At most `max` characters of `text`, then `…` if it was longer: for
/// values echoed into error messages (a 1 MB input must not make a 2 MB message).
pub(crate) fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

/// How much of an input an error message shows.
pub(crate) const SHOWN: usize = 64;

#[cfg(test)]
mod tests {
    #[test]
    fn shorten_keeps_short_text_and_cuts_long_text_on_a_char_boundary() {
        assert_eq!(super::shorten("abc", 3), "abc");
        assert_eq!(super::shorten("abcd", 3), "abc…");
        assert_eq!(super::shorten("ééé", 2), "éé…");
        assert_eq!(super::shorten(&"x".repeat(1 << 20), 64).chars().count(), 65);
    }
}

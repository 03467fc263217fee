//! How to build a process pool and run its tasks: [`ProcessPoolOptions`],
//! [`WorkerOutput`], [`TaskOptions`].

use std::time::Duration;

/// How to build a [`ProcessPool`](crate::ProcessPool): `ProcessPoolOptions::default().max_workers(4)`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ProcessPoolOptions {
    /// Worker processes (default: one per CPU).
    pub max_workers: usize,
    /// Replace a worker after it ran this many tasks (default: never).
    pub max_tasks_per_child: Option<usize>,
    /// Runs once in every worker before its first task.
    pub initializer: Option<fn()>,
    /// Time between SIGTERM and SIGKILL when a worker is stopped (default 1 s;
    /// a grace too long to be a deadline, such as `Duration::MAX`, waits for
    /// the worker to exit however long that takes).
    pub grace: Duration,
    /// Where what workers print goes (default: our own stdout and stderr).
    pub output: WorkerOutput,
    /// The worker executable; default (and the only one that passes the
    /// handshake) is this program. Settable to show the refusal of others.
    pub worker_exe: Option<std::path::PathBuf>,
}

impl Default for ProcessPoolOptions {
    fn default() -> Self {
        ProcessPoolOptions {
            max_workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_tasks_per_child: None,
            initializer: None,
            grace: Duration::from_secs(1),
            output: WorkerOutput::Forward,
            worker_exe: None,
        }
    }
}

impl ProcessPoolOptions {
    /// Worker processes.
    pub fn max_workers(mut self, max_workers: usize) -> Self {
        self.max_workers = max_workers;
        self
    }

    /// Replace a worker after it ran this many tasks.
    pub fn max_tasks_per_child(mut self, tasks: usize) -> Self {
        self.max_tasks_per_child = Some(tasks);
        self
    }

    /// Runs once in every worker before its first task.
    pub fn initializer(mut self, initializer: fn()) -> Self {
        self.initializer = Some(initializer);
        self
    }

    /// Time between SIGTERM and SIGKILL when a worker is stopped.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Where what workers print goes.
    pub fn output(mut self, output: WorkerOutput) -> Self {
        self.output = output;
        self
    }

    /// The worker executable (only this program passes the handshake).
    pub fn worker_exe(mut self, exe: impl Into<std::path::PathBuf>) -> Self {
        self.worker_exe = Some(exe.into());
        self
    }
}

/// Where what a worker prints goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkerOutput {
    /// To the pool process's stdout and stderr (the default).
    #[default]
    Forward,
    /// Nowhere.
    Discard,
    /// Captured per task: [`TaskHandle::captured_output`](crate::TaskHandle::captured_output) returns what the
    /// task printed (output printed by a worker between tasks is forwarded).
    CapturePerTask,
}

/// Per-task settings for [`ProcessPool::submit_with`](crate::ProcessPool::submit_with): `TaskOptions::default().timeout(d)`.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct TaskOptions {
    /// Stop the task (and replace its worker) once it has run this long
    /// (`Duration::MAX`: never; zero: as soon as it is sent).
    pub timeout: Option<Duration>,
}

impl TaskOptions {
    /// Stop the task (and replace its worker) once it has run this long.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

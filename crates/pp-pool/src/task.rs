//! Task ids, statuses and handles, shared by both pools.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::error::TaskError;

/// The id of a task: `task-<pid>-<n>`, unique in this OS process.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(Arc<str>);

impl TaskId {
    pub(crate) fn generate() -> TaskId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        TaskId(
            format!("task-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)).into(),
        )
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// Where a task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskStatus {
    /// Waiting for a worker.
    Pending,
    /// A worker is running it.
    Running,
    /// It returned a value.
    Completed,
    /// It panicked, or its argument or result could not be (de)serialized.
    Failed,
    /// It was cancelled.
    Cancelled,
    /// It ran past its timeout and was stopped.
    TimedOut,
    /// Its worker process died under it.
    WorkerDied,
}

impl TaskStatus {
    /// The status as a string: `pending`, `running`, `completed`, `failed`,
    /// `cancelled`, `timeout`, `worker_died`.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Running => "running",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
            TaskStatus::TimedOut => "timeout",
            TaskStatus::WorkerDied => "worker_died",
        }
    }

    /// Whether the task has finished, one way or another.
    pub fn is_finished(self) -> bool {
        !matches!(self, TaskStatus::Pending | TaskStatus::Running)
    }

    fn of<R>(outcome: &Result<R, TaskError>) -> TaskStatus {
        match outcome {
            Ok(_) => TaskStatus::Completed,
            Err(TaskError::Cancelled { .. }) => TaskStatus::Cancelled,
            Err(TaskError::TaskTimedOut { .. }) => TaskStatus::TimedOut,
            Err(TaskError::WorkerDied { .. }) => TaskStatus::WorkerDied,
            Err(_) => TaskStatus::Failed,
        }
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A cooperative cancellation flag handed to thread-pool tasks.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// Whether cancellation was requested: a running task should return soon.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    pub(crate) fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }
}

#[derive(Debug)]
struct State<R> {
    status: TaskStatus,
    outcome: Option<Result<R, TaskError>>,
}

/// What a task's handle, its pool and its worker share.
#[derive(Debug)]
pub(crate) struct TaskCell<R> {
    pub(crate) id: TaskId,
    pub(crate) token: CancelToken,
    pub(crate) timeout: Option<Duration>,
    state: Mutex<State<R>>,
    done: Condvar,
}

impl<R> TaskCell<R> {
    pub(crate) fn new(timeout: Option<Duration>) -> Arc<TaskCell<R>> {
        Arc::new(TaskCell {
            id: TaskId::generate(),
            token: CancelToken::default(),
            timeout,
            state: Mutex::new(State { status: TaskStatus::Pending, outcome: None }),
            done: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State<R>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn status(&self) -> TaskStatus {
        self.lock().status
    }

    /// Pending → Running; false if the task was cancelled meanwhile.
    pub(crate) fn start(&self) -> bool {
        let mut state = self.lock();
        if state.status != TaskStatus::Pending {
            return false;
        }
        state.status = TaskStatus::Running;
        true
    }

    /// Records the outcome, unless one was recorded already (a cancel).
    /// A cancel requested while running turns a late value into `Cancelled`.
    pub(crate) fn finish(&self, outcome: Result<R, TaskError>) {
        let mut state = self.lock();
        if state.status.is_finished() {
            return;
        }
        let outcome = match outcome {
            Ok(_) if self.token.is_cancelled() => {
                Err(TaskError::Cancelled { task_id: self.id.clone() })
            }
            other => other,
        };
        state.status = TaskStatus::of(&outcome);
        state.outcome = Some(outcome);
        drop(state);
        self.done.notify_all();
    }

    /// Requests cancellation: a pending task is cancelled at once (true); a
    /// running one is flagged (true) and the caller stops it; a finished one is left (false).
    pub(crate) fn cancel(&self) -> CancelOutcome {
        let state = self.lock();
        match state.status {
            TaskStatus::Pending => {
                drop(state);
                self.token.cancel();
                self.finish(Err(TaskError::Cancelled { task_id: self.id.clone() }));
                CancelOutcome::WasPending
            }
            TaskStatus::Running => {
                self.token.cancel();
                CancelOutcome::WasRunning
            }
            _ => CancelOutcome::AlreadyFinished,
        }
    }

    fn wait(&self, timeout: Option<Duration>) -> Result<MutexGuard<'_, State<R>>, TaskError> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut state = self.lock();
        while !state.status.is_finished() {
            state = match deadline {
                None => self.done.wait(state).unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(TaskError::Timeout {
                            task_id: self.id.clone(),
                            waited: timeout.unwrap_or_default(),
                        });
                    }
                    self.done
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
        Ok(state)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CancelOutcome {
    WasPending,
    WasRunning,
    AlreadyFinished,
}

/// Something a pool can stop when one of its running tasks is cancelled.
pub(crate) trait Canceller: Send + Sync {
    /// Called after a running task was flagged cancelled.
    fn stop_running(&self, task: &TaskId);
}

/// A handle to a submitted task: its id, status, result and cancellation.
pub struct TaskHandle<R> {
    pub(crate) cell: Arc<TaskCell<R>>,
    pub(crate) canceller: Option<Arc<dyn Canceller>>,
}

impl<R> Clone for TaskHandle<R> {
    fn clone(&self) -> Self {
        TaskHandle { cell: self.cell.clone(), canceller: self.canceller.clone() }
    }
}

impl<R> fmt::Debug for TaskHandle<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHandle")
            .field("id", &self.cell.id)
            .field("status", &self.status())
            .finish()
    }
}

impl<R> TaskHandle<R> {
    /// The task's id.
    pub fn id(&self) -> &TaskId {
        &self.cell.id
    }

    /// The task's status now.
    pub fn status(&self) -> TaskStatus {
        self.cell.status()
    }

    /// Cancels the task: a pending task is dropped; a running process-pool
    /// task is stopped by stopping its worker (which is replaced); a running
    /// thread-pool task sees its [`CancelToken`] set and its result becomes
    /// `Cancelled` once it returns. True unless the task had already finished.
    pub fn cancel(&self) -> bool {
        match self.cell.cancel() {
            CancelOutcome::WasPending => true,
            CancelOutcome::WasRunning => {
                if let Some(canceller) = &self.canceller {
                    canceller.stop_running(&self.cell.id);
                }
                true
            }
            CancelOutcome::AlreadyFinished => false,
        }
    }

    /// Waits until the task has finished (at most `timeout`; `None`: forever)
    /// without taking its result.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<TaskStatus, TaskError> {
        self.cell.wait(timeout).map(|state| state.status)
    }

    /// Waits at most `timeout` (`None`: forever) and takes the value out; a
    /// second call is [`TaskError::ResultTaken`]. For values that are `Clone`,
    /// [`result`](Self::result) can be called any number of times.
    pub fn take_result(&self, timeout: Option<Duration>) -> Result<R, TaskError> {
        let mut state = self.cell.wait(timeout)?;
        match state.outcome.take() {
            Some(Ok(value)) => Ok(value),
            Some(Err(e)) => {
                state.outcome = Some(Err(e.clone()));
                Err(e)
            }
            None => Err(TaskError::ResultTaken { task_id: self.cell.id.clone() }),
        }
    }
}

impl<R: Clone> TaskHandle<R> {
    /// Waits at most `timeout` (`None`: forever) and returns the value or why
    /// there is none.
    pub fn result(&self, timeout: Option<Duration>) -> Result<R, TaskError> {
        let state = self.cell.wait(timeout)?;
        match &state.outcome {
            Some(outcome) => outcome.clone(),
            None => Err(TaskError::ResultTaken { task_id: self.cell.id.clone() }),
        }
    }
}

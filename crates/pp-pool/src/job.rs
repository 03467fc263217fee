//! A process-pool task on the pool's side: its state with the result type
//! erased ([`JobCell`]), and the [`Job`] that waits in the queue for a worker.

use std::sync::{Arc, Weak};
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::error::{TaskError, TaskErrorKind};
use crate::remote::{RemoteFn, WireOutcome};
use crate::sys::Alarms;
use crate::task::{AsCell, CancelOutcome, CapturedOutput, TaskCell};

/// The pool's side of a task, with its result type erased.
pub(crate) trait JobCell: Send + Sync {
    /// Pending → Running; false if the task was cancelled meanwhile.
    fn start(&self) -> bool;
    fn is_cancelled(&self) -> bool;
    /// How long the task may run.
    fn timeout(&self) -> Option<Duration>;
    /// Records what the worker answered.
    fn finish_wire(&self, outcome: WireOutcome, captured: Option<CapturedOutput>);
    /// Records why the task has no value.
    fn fail(&self, kind: TaskErrorKind);
}

/// A process-pool task's state: its cell, and the alarms of the pool's
/// supervisors, which a cancel must ring while the task runs (they sleep
/// until something happens; nothing polls the flag).
pub(crate) struct ProcessTask<R> {
    cell: TaskCell<R>,
    alarms: Weak<Alarms>,
    /// Turns the worker's encoded value into the result.
    decode: fn(Vec<u8>) -> Result<R, String>,
}

impl<R: DeserializeOwned> ProcessTask<R> {
    pub(crate) fn new(timeout: Option<Duration>, alarms: Weak<Alarms>) -> Arc<ProcessTask<R>> {
        let decode = |bytes: Vec<u8>| crate::encoded::decode(&bytes);
        Arc::new(ProcessTask { cell: TaskCell::unshared(timeout), alarms, decode })
    }
}

impl ProcessTask<Vec<u8>> {
    /// A task whose result is the worker's encoded value, as it came.
    pub(crate) fn encoded(
        timeout: Option<Duration>,
        alarms: Weak<Alarms>,
    ) -> Arc<ProcessTask<Vec<u8>>> {
        Arc::new(ProcessTask { cell: TaskCell::unshared(timeout), alarms, decode: Ok })
    }
}

impl<R: Send> AsCell<R> for ProcessTask<R> {
    fn cell(&self) -> &TaskCell<R> {
        &self.cell
    }

    fn cancel(&self) -> CancelOutcome {
        let outcome = self.cell.cancel();
        if outcome == CancelOutcome::WasRunning
            && let Some(alarms) = self.alarms.upgrade()
        {
            alarms.ring_all();
        }
        outcome
    }
}

impl<R: Send> JobCell for ProcessTask<R> {
    fn start(&self) -> bool {
        self.cell.start()
    }

    fn is_cancelled(&self) -> bool {
        self.cell.is_cancelled()
    }

    fn timeout(&self) -> Option<Duration> {
        self.cell.timeout
    }

    fn finish_wire(&self, outcome: WireOutcome, captured: Option<CapturedOutput>) {
        if let Some(captured) = captured {
            self.cell.set_captured(captured);
        }
        let task_id = self.cell.id;
        self.cell.finish(match outcome {
            WireOutcome::Value(bytes) => (self.decode)(bytes).map_err(|reason| {
                TaskError::new(task_id, TaskErrorKind::Serialization { what: "result", reason })
            }),
            WireOutcome::Panicked(message) => {
                Err(TaskError::new(task_id, TaskErrorKind::Panicked { message }))
            }
            WireOutcome::Serialization { what, reason } => Err(TaskError::new(
                task_id,
                TaskErrorKind::Serialization {
                    what: if what == "argument" { "argument" } else { "result" },
                    reason,
                },
            )),
        });
    }

    fn fail(&self, kind: TaskErrorKind) {
        self.cell.fail(kind);
    }
}

/// A task waiting for a worker. Dropped unrun, it reports itself cancelled.
pub(crate) struct Job {
    pub(crate) cell: Arc<dyn JobCell>,
    pub(crate) function: RemoteFn,
    pub(crate) arg: Vec<u8>,
}

impl Drop for Job {
    fn drop(&mut self) {
        self.cell.fail(TaskErrorKind::Cancelled);
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("function", &self.function).finish_non_exhaustive()
    }
}

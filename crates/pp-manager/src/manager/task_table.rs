//! The tasks a manager knows, type-erased, and which finished ones were
//! taken: at most [`TAKEN_TASKS_KEPT`] of those stay.

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use pp_pool::{TaskHandle, TaskId, TaskStatus};

use crate::ids::ExecutorId;

/// How many finished tasks whose result was taken stay known (status, result
/// again); older ones are forgotten, so memory stays flat however many run.
pub const TAKEN_TASKS_KEPT: usize = 1024;

/// A task whose result type is known only to whoever asks for it.
pub(super) trait AnyTask: Send + Sync {
    fn status(&self) -> TaskStatus;
    fn cancel(&self) -> bool;
    fn as_any(&self) -> &dyn Any;
    /// A remote task's result, read from the server (`None`: not remote).
    fn remote_result(&self, _timeout: Option<Duration>) -> Option<RemoteResult> {
        None
    }
    /// [`remote_result`](Self::remote_result), awaited.
    fn remote_result_async(&self) -> Option<RemoteResultFuture> {
        None
    }
}

/// An awaited [`RemoteResult`].
pub(super) type RemoteResultFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = RemoteResult> + Send>>;

/// A remote task's value (of the type it was submitted with), or why none.
pub(super) type RemoteResult = Result<Box<dyn Any + Send>, pp_remote::RemoteError>;

impl<R: serde::de::DeserializeOwned + Send + 'static> AnyTask for pp_remote::RemoteTask<R> {
    /// The server's word; while it cannot be asked, `Pending` (the
    /// task is not lost: it is on the server).
    fn status(&self) -> TaskStatus {
        pp_remote::RemoteTask::status(self).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read a remote task's status");
            TaskStatus::Pending
        })
    }
    fn cancel(&self) -> bool {
        pp_remote::RemoteTask::cancel(self).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot cancel a remote task");
            false
        })
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn remote_result(&self, timeout: Option<Duration>) -> Option<RemoteResult> {
        let value = match timeout {
            None => self.result(),
            Some(limit) => self.result_timeout(limit),
        };
        Some(value.map(|value| Box::new(value) as Box<dyn Any + Send>))
    }
    fn remote_result_async(&self) -> Option<RemoteResultFuture> {
        let waiting = self.result_async();
        Some(Box::pin(
            async move { waiting.await.map(|value| Box::new(value) as Box<dyn Any + Send>) },
        ))
    }
}

impl<R: Send + 'static> AnyTask for TaskHandle<R> {
    fn status(&self) -> TaskStatus {
        TaskHandle::status(self)
    }
    fn cancel(&self) -> bool {
        TaskHandle::cancel(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

pub(super) struct TaskEntry {
    pub(super) executor: ExecutorId,
    pub(super) handle: Arc<dyn AnyTask>,
    /// Its result (or why there is none) was returned by `get_task_result`.
    pub(super) taken: bool,
}

/// The tasks a manager knows, and which finished ones were taken, oldest first.
#[derive(Default)]
pub(super) struct TaskTable {
    pub(super) entries: HashMap<TaskId, TaskEntry>,
    pub(super) taken: VecDeque<TaskId>,
}

impl TaskTable {
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Notes that `task_id`'s result was taken; forgets the oldest taken
    /// tasks beyond [`TAKEN_TASKS_KEPT`].
    pub(super) fn mark_taken(&mut self, task_id: &TaskId) {
        let Some(entry) = self.entries.get_mut(task_id) else { return };
        if entry.taken {
            return;
        }
        entry.taken = true;
        self.taken.push_back(*task_id);
        while self.taken.len() > TAKEN_TASKS_KEPT {
            if let Some(oldest) = self.taken.pop_front() {
                self.entries.remove(&oldest);
            }
        }
        self.shrink_if_sparse();
    }

    /// Gives back the memory of a burst of tasks once they are forgotten.
    pub(super) fn shrink_if_sparse(&mut self) {
        if self.entries.capacity() > 4 * self.entries.len() + 4 * TAKEN_TASKS_KEPT {
            self.entries.shrink_to_fit();
        }
    }
}

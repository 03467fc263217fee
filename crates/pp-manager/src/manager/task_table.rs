//! The tasks a manager knows, type-erased, and which finished ones were
//! taken: at most [`TAKEN_TASKS_KEPT`] of those stay.

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

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

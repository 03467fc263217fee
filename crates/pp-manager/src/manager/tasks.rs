//! Tasks: submitted to an executor, looked up by id, results taken, kept
//! within [`TAKEN_TASKS_KEPT`](super::TAKEN_TASKS_KEPT).

use std::sync::Arc;
use std::time::Duration;

use pp_pool::{TaskHandle, TaskId};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::executor::Executor;
use super::task_table::{AnyTask, TaskEntry, TaskTable};
use super::{ProcessManager, lock};
use crate::error::{ManagerError, Result};
use crate::ids::{ExecutorId, TypedTaskId};
use crate::records::TaskRecord;

impl ProcessManager {
    /// Runs `f(arg)` on executor `executor_id` (default: the default process
    /// pool); returns the task's id. `f` is a plain function or a
    /// non-capturing closure.
    pub fn submit_task<A, R>(
        &self,
        f: fn(A) -> R,
        arg: A,
        executor_id: Option<&ExecutorId>,
    ) -> Result<TaskId>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let executor_id = match executor_id {
            Some(id) => id.clone(),
            None => self.get_default_process_pool()?,
        };
        let (task_id, handle): (TaskId, Arc<dyn AnyTask>) = match &*self.executor(&executor_id)? {
            Executor::Process(pool) => {
                let handle = pool.submit(f, arg)?;
                (*handle.id(), Arc::new(handle))
            }
            Executor::Thread(pool) => {
                let handle = pool.submit(move || f(arg))?;
                (*handle.id(), Arc::new(handle))
            }
            // Known here by a local id; on the server by its own.
            Executor::Remote(pool) => (TaskId::next(), Arc::new(pool.submit(f, arg)?)),
        };
        tracing::debug!(%task_id, %executor_id, "submit_task");
        lock(&self.tasks)
            .entries
            .insert(task_id, TaskEntry { executor: executor_id, handle, taken: false });
        Ok(task_id)
    }

    /// [`submit_task`](Self::submit_task), returning an id that knows the
    /// result's type: [`take_task_result`](Self::take_task_result) then needs
    /// no type annotation, cannot ask for another type, and needs no `Clone`.
    pub fn submit_typed_task<A, R>(
        &self,
        f: fn(A) -> R,
        arg: A,
        executor_id: Option<&ExecutorId>,
    ) -> Result<TypedTaskId<R>>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.submit_task(f, arg, executor_id).map(TypedTaskId::new)
    }

    /// Waits at most `timeout` (`None`: forever) for task `task` and moves
    /// its value out: no `Clone` needed. Asked again, the task's result is
    /// gone (`TaskError` with kind `ResultTaken`); its status stays, kept as
    /// [`get_task_result`](Self::get_task_result) keeps it.
    pub fn take_task_result<R: Send + 'static>(
        &self,
        task: &TypedTaskId<R>,
        timeout: Option<Duration>,
    ) -> Result<R> {
        let id = task.id();
        if let Some(outcome) = self.remote_result::<R>(id, timeout) {
            return outcome;
        }
        self.finish_with(id, |handle: &TaskHandle<R>| match timeout {
            None => handle.take_result(),
            Some(limit) => handle.take_result_timeout(limit),
        })
    }

    /// [`remote_result`](Self::remote_result), awaited.
    pub(super) async fn remote_result_async<R: 'static>(
        &self,
        task_id: &TaskId,
    ) -> Option<Result<R>> {
        let waiting = self.task(task_id).ok()?.remote_result_async()?;
        let outcome = waiting.await;
        lock(&self.tasks).mark_taken(task_id);
        Some(self.remote_value(task_id, outcome))
    }

    /// A remote task's value as an `R`, or the error.
    fn remote_value<R: 'static>(
        &self,
        task_id: &TaskId,
        outcome: super::task_table::RemoteResult,
    ) -> Result<R> {
        match outcome {
            Ok(value) => value.downcast::<R>().map(|value| *value).map_err(|_| {
                ManagerError::WrongResultType {
                    task_id: task_id.to_string(),
                    expected: std::any::type_name::<R>(),
                }
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Task `task_id`'s result read from the server, if it is a remote
    /// task (nothing is taken there: it can be read again).
    fn remote_result<R: 'static>(
        &self,
        task_id: &TaskId,
        timeout: Option<Duration>,
    ) -> Option<Result<R>> {
        let outcome = self.task(task_id).ok()?.remote_result(timeout)?;
        if !matches!(outcome, Err(pp_remote::RemoteError::Timeout { .. })) {
            lock(&self.tasks).mark_taken(task_id);
        }
        Some(self.remote_value(task_id, outcome))
    }

    /// Runs `outcome` on task `task_id`'s handle, typed `R`; marks the task
    /// taken once it has finished.
    fn finish_with<R: Send + 'static>(
        &self,
        task_id: &TaskId,
        outcome: impl FnOnce(&TaskHandle<R>) -> std::result::Result<R, pp_pool::TaskError>,
    ) -> Result<R> {
        let handle = self.typed_handle::<R>(task_id)?;
        let outcome = outcome(&handle);
        self.mark_taken_if_finished(task_id);
        Ok(outcome?)
    }

    /// A clone of task `task_id`'s handle, typed `R` (for awaiting it).
    pub(super) fn typed_handle<R: Send + 'static>(
        &self,
        task_id: &TaskId,
    ) -> Result<TaskHandle<R>> {
        let task = self.task(task_id)?;
        let handle = task.as_any().downcast_ref::<TaskHandle<R>>().ok_or_else(|| {
            ManagerError::WrongResultType {
                task_id: task_id.to_string(),
                expected: std::any::type_name::<R>(),
            }
        })?;
        Ok(handle.clone())
    }

    /// Notes that task `task_id`'s result was returned, once it has finished.
    pub(super) fn mark_taken_if_finished(&self, task_id: &TaskId) {
        if self.task(task_id).is_ok_and(|task| task.status().is_finished()) {
            lock(&self.tasks).mark_taken(task_id);
        }
    }

    fn task(&self, task_id: &TaskId) -> Result<Arc<dyn AnyTask>> {
        lock(&self.tasks)
            .entries
            .get(task_id)
            .map(|entry| entry.handle.clone())
            .ok_or_else(|| ManagerError::not_found("task", &task_id.to_string()))
    }

    /// Waits at most `timeout` (`None`: forever) for task `task_id` and returns
    /// its value as an `R` (the type its function returns).
    ///
    /// Once a finished task's result (or its error) was returned, the task
    /// stays known (its status, its result again) until
    /// [`TAKEN_TASKS_KEPT`](crate::TAKEN_TASKS_KEPT) results of later tasks
    /// were taken; then it is forgotten (`NotFound`, status `None`), so a
    /// program running millions of tasks keeps flat memory. Results never
    /// taken stay until [`cleanup_tasks`](Self::cleanup_tasks).
    pub fn get_task_result<R: Clone + Send + 'static>(
        &self,
        task_id: &TaskId,
        timeout: Option<Duration>,
    ) -> Result<R> {
        // The seed's `timeout=None` blocks for as long as it takes.
        if let Some(outcome) = self.remote_result::<R>(task_id, timeout) {
            return outcome;
        }
        self.finish_with(task_id, |handle: &TaskHandle<R>| match timeout {
            None => handle.result(),
            Some(limit) => handle.result_timeout(limit),
        })
    }

    /// Forgets every finished task, its result taken or not; returns how many.
    /// Pending and running tasks stay.
    pub fn cleanup_tasks(&self) -> usize {
        let mut tasks = lock(&self.tasks);
        let before = tasks.entries.len();
        tasks.entries.retain(|_, entry| !entry.handle.status().is_finished());
        let TaskTable { entries, taken } = &mut *tasks;
        taken.retain(|id| entries.contains_key(id));
        tasks.shrink_if_sparse();
        before - tasks.entries.len()
    }

    /// The status of task `task_id`; `None` if unknown.
    pub fn get_task_status(&self, task_id: &TaskId) -> Option<TaskRecord> {
        // Out of the table's lock first: a remote task's status asks a server.
        let (executor, handle) = {
            let tasks = lock(&self.tasks);
            let entry = tasks.entries.get(task_id)?;
            (entry.executor.clone(), entry.handle.clone())
        };
        Some(TaskRecord {
            task_id: task_id.to_string(),
            executor_id: executor.to_string(),
            status: handle.status().into(),
        })
    }

    /// Cancels task `task_id`: a pending task is dropped, a running process
    /// task is stopped with its worker. False if unknown or already finished.
    pub fn cancel_task(&self, task_id: &TaskId) -> bool {
        self.task(task_id).is_ok_and(|task| task.cancel())
    }
}

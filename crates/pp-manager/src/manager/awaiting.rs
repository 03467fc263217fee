//! The async forms of the blocking calls, under the same names:
//! `pm.asynchronous().run_process(&cmd).await`. They work on any executor;
//! a pending one costs no thread (pp-process's reactor and a task's
//! `finish` wake them). Timeouts are the runtime's (`tokio::time::timeout`):
//! dropping one of these futures loses nothing.

use std::sync::Arc;

use pp_pool::TaskId;
use pp_process::Command;

use super::ProcessManager;
use crate::error::Result;
use crate::ids::TypedTaskId;
use crate::records::ProcessResult;

/// The async forms of a [`ProcessManager`]'s blocking calls
/// ([`ProcessManager::asynchronous`]).
#[derive(Debug, Clone, Copy)]
pub struct Asynchronous<'a> {
    manager: &'a ProcessManager,
}

impl ProcessManager {
    /// The async forms of this manager's blocking calls, under the same names.
    pub fn asynchronous(&self) -> Asynchronous<'_> {
        Asynchronous { manager: self }
    }
}

impl Asynchronous<'_> {
    /// [`run_process`](ProcessManager::run_process), awaited: the process
    /// runs under the manager's table (its status is known by id meanwhile),
    /// watched by pp-process's reactor. Dropping the future does not stop it.
    pub async fn run_process(&self, cmd: &Command) -> Result<ProcessResult> {
        tracing::debug!(command = ?cmd.argv_lossy(), "run_process (async)");
        let handle = self.manager.process_table().spawn(cmd)?;
        let output = handle.wait_async().await?;
        Ok(Arc::unwrap_or_clone(output).into())
    }

    /// [`get_task_result`](ProcessManager::get_task_result), awaited, without
    /// a timeout (use the runtime's). Dropping the future leaves the result
    /// for a later call.
    pub async fn get_task_result<R: Clone + Send + 'static>(&self, task_id: &TaskId) -> Result<R> {
        let handle = self.manager.typed_handle::<R>(task_id)?;
        let outcome = handle.result_async().await;
        self.manager.mark_taken_if_finished(task_id);
        Ok(outcome?)
    }

    /// [`take_task_result`](ProcessManager::take_task_result), awaited.
    /// Dropping the future before it is ready leaves the value in the task.
    pub async fn take_task_result<R: Send + 'static>(&self, task: &TypedTaskId<R>) -> Result<R> {
        let handle = self.manager.typed_handle::<R>(task.id())?;
        let outcome = handle.take_result_async().await;
        self.manager.mark_taken_if_finished(task.id());
        Ok(outcome?)
    }
}

//! The async forms of the blocking calls, under the same names:
//! `pm.asynchronous().run_process(&cmd).await`. They work on any executor;
//! a pending one costs no thread (pp-process's reactor, a task's `finish`
//! and pp-ipc's one waiter thread wake them). They wait as long as it
//! takes, so the seed's `block` and `timeout` arguments are gone: timeouts
//! are the runtime's (`tokio::time::timeout`), and dropping one of these
//! futures loses nothing.

use std::sync::Arc;

use pp_pool::TaskId;
use pp_process::Command;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ProcessManager;
use crate::error::Result;
use crate::ids::{EventId, QueueId, TypedTaskId};
use crate::records::ProcessResult;

/// The async forms of a [`ProcessManager`]'s blocking calls
/// ([`ProcessManager::asynchronous`]). A `Copy` borrow of the manager that
/// each method takes by value, so a future made by
/// `pm.asynchronous().get_queue_item(&id)` can be kept and awaited later.
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
    pub async fn run_process(self, cmd: &Command) -> Result<ProcessResult> {
        tracing::debug!(command = ?cmd.argv_lossy(), "run_process (async)");
        let handle = self.manager.process_table().spawn(cmd)?;
        let output = handle.wait_async().await?;
        Ok(Arc::unwrap_or_clone(output).into())
    }

    /// [`get_task_result`](ProcessManager::get_task_result), awaited, without
    /// a timeout (use the runtime's). Dropping the future leaves the result
    /// for a later call.
    pub async fn get_task_result<R: Clone + Send + 'static>(self, task_id: &TaskId) -> Result<R> {
        if let Some(outcome) = self.manager.remote_result_async::<R>(task_id).await {
            return outcome;
        }
        let handle = self.manager.typed_handle::<R>(task_id)?;
        let outcome = handle.result_async().await;
        self.manager.mark_taken_if_finished(task_id);
        Ok(outcome?)
    }

    /// [`take_task_result`](ProcessManager::take_task_result), awaited.
    /// Dropping the future before it is ready leaves the value in the task.
    pub async fn take_task_result<R: Send + 'static>(self, task: &TypedTaskId<R>) -> Result<R> {
        if let Some(outcome) = self.manager.remote_result_async::<R>(task.id()).await {
            return outcome;
        }
        let handle = self.manager.typed_handle::<R>(task.id())?;
        let outcome = handle.take_result_async().await;
        self.manager.mark_taken_if_finished(task.id());
        Ok(outcome?)
    }

    /// [`put_queue_item`](ProcessManager::put_queue_item), awaited: waits
    /// for room as long as it takes. Dropping the future puts nothing.
    pub async fn put_queue_item<T: Serialize>(self, id: &QueueId, item: &T) -> Result<()> {
        let queue = self.manager.queue(id)?;
        queue.put_async(item).await.map_err(|e| e.error)?;
        Ok(())
    }

    /// [`get_queue_item`](ProcessManager::get_queue_item), awaited: waits
    /// for an item as long as it takes. Cancel-safe: a future dropped before
    /// it is ready takes no item.
    pub async fn get_queue_item<T: DeserializeOwned>(self, id: &QueueId) -> Result<T> {
        let queue = self.manager.queue(id)?;
        Ok(queue.get_async().await?)
    }

    /// [`wait_for_event`](ProcessManager::wait_for_event), awaited: ends
    /// when event `id` is set (the seed's `true`; there is no timeout to
    /// report `false`).
    pub async fn wait_for_event(self, id: &EventId) -> Result<()> {
        let event = self.manager.event(id)?;
        Ok(event.wait_async().await?)
    }
}

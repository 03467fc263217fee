//! The async forms of the free functions, under the same names, on the
//! process-wide manager: `pp_manager::asynchronous::run_process(&cmd).await`.
//! See [`Asynchronous`](crate::Asynchronous) for what they share: any
//! executor, no thread per pending call, timeouts from the runtime.

use pp_pool::TaskId;
use pp_process::Command;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::global::get_process_manager;
use crate::ids::{EventId, QueueId, TypedTaskId};
use crate::records::ProcessResult;

/// Forwards to [`Asynchronous::run_process`](crate::Asynchronous::run_process).
pub async fn run_process(cmd: &Command) -> Result<ProcessResult> {
    get_process_manager().asynchronous().run_process(cmd).await
}

/// Forwards to [`Asynchronous::get_task_result`](crate::Asynchronous::get_task_result).
pub async fn get_task_result<R: Clone + Send + 'static>(task_id: &TaskId) -> Result<R> {
    get_process_manager().asynchronous().get_task_result(task_id).await
}

/// Forwards to [`Asynchronous::take_task_result`](crate::Asynchronous::take_task_result).
pub async fn take_task_result<R: Send + 'static>(task: &TypedTaskId<R>) -> Result<R> {
    get_process_manager().asynchronous().take_task_result(task).await
}

/// Forwards to [`Asynchronous::put_queue_item`](crate::Asynchronous::put_queue_item).
pub async fn put_queue_item<T: Serialize>(id: &QueueId, item: &T) -> Result<()> {
    get_process_manager().asynchronous().put_queue_item(id, item).await
}

/// Forwards to [`Asynchronous::get_queue_item`](crate::Asynchronous::get_queue_item).
pub async fn get_queue_item<T: DeserializeOwned>(id: &QueueId) -> Result<T> {
    get_process_manager().asynchronous().get_queue_item(id).await
}

/// Forwards to [`Asynchronous::wait_for_event`](crate::Asynchronous::wait_for_event).
pub async fn wait_for_event(id: &EventId) -> Result<()> {
    get_process_manager().asynchronous().wait_for_event(id).await
}

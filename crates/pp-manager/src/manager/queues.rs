//! Queues by id: created here or opened by name, items of any serde type.

use std::sync::Arc;
use std::time::Duration;

use pp_ipc::{AnyQueue, QueueOptions};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{ProcessManager, not_found};
use crate::error::Result;
use crate::ids::QueueId;

impl ProcessManager {
    /// Creates a queue of at most `maxsize` items (0: bounded by its 1 MiB byte capacity).
    pub fn create_queue(&self, maxsize: usize) -> Result<QueueId> {
        self.create_queue_with(QueueOptions::default().maxsize(maxsize))
    }

    /// Creates a queue with explicit sizes and, optionally, the caller's id.
    pub fn create_queue_with(&self, options: QueueOptions) -> Result<QueueId> {
        let queue = AnyQueue::create_with(options)?;
        let id = QueueId::from(queue.id().clone());
        self.queues.register(&id, queue);
        Ok(id)
    }

    /// The queue `id`: ours, or opened by name (created by another process).
    pub(super) fn queue(&self, id: &QueueId) -> Result<Arc<AnyQueue>> {
        self.queues.resolve(id, || {
            AnyQueue::open(id.object_id()).map_err(not_found(QueueId::KIND, id.as_str()))
        })
    }

    /// Puts `item` on queue `id`. With `block`, waits at most `timeout`
    /// (`None`: forever) for room; without, a full queue is `pp_ipc::Error::Full`.
    pub fn put_queue_item<T: Serialize>(
        &self,
        id: &QueueId,
        item: &T,
        block: bool,
        timeout: Option<Duration>,
    ) -> Result<()> {
        let queue = self.queue(id)?;
        // The item is a reference: a failed put hands back only the borrow.
        match (block, timeout) {
            (false, _) => queue.try_put(item).map_err(|e| e.into_error(queue.id()))?,
            (true, None) => queue.put(item).map_err(|e| e.error)?,
            (true, Some(t)) => {
                queue.put_timeout(item, t).map_err(|e| e.into_error(queue.id(), t))?
            }
        };
        Ok(())
    }

    /// Takes the oldest item of queue `id` as a `T`. With `block`, waits at
    /// most `timeout` (`None`: forever); without, an empty queue is `pp_ipc::Error::Empty`.
    pub fn get_queue_item<T: DeserializeOwned>(
        &self,
        id: &QueueId,
        block: bool,
        timeout: Option<Duration>,
    ) -> Result<T> {
        let queue = self.queue(id)?;
        Ok(match (block, timeout) {
            (false, _) => queue.try_get().map_err(|e| e.into_error(queue.id()))?,
            (true, None) => queue.get()?,
            (true, Some(t)) => queue.get_timeout(t).map_err(|e| e.into_error(queue.id(), t))?,
        })
    }

    /// Items in queue `id` now.
    pub fn get_queue_size(&self, id: &QueueId) -> Result<usize> {
        Ok(self.queue(id)?.len())
    }

    /// Whether queue `id` is empty now.
    pub fn is_queue_empty(&self, id: &QueueId) -> Result<bool> {
        Ok(self.queue(id)?.is_empty())
    }

    /// Whether queue `id` is full now.
    pub fn is_queue_full(&self, id: &QueueId) -> Result<bool> {
        Ok(self.queue(id)?.is_full())
    }

    /// Removes every item of queue `id`; returns how many.
    pub fn clear_queue(&self, id: &QueueId) -> Result<usize> {
        Ok(self.queue(id)?.clear()?)
    }

    /// Deletes queue `id`: its name is removed for every process; handles
    /// already open elsewhere keep working until they drop.
    pub fn delete_queue(&self, id: &QueueId) -> Result<()> {
        let queue = self.queue(id)?;
        self.queues.delete(id, queue, |q| Ok(q.delete()?))
    }

    /// The queues this manager has created or opened.
    pub fn list_queues(&self) -> Vec<QueueId> {
        self.queues.ids()
    }
}

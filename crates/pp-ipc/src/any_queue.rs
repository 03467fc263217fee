//! [`AnyQueue`]: a queue met by id, whose item type each call names.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::id::ObjectId;
use crate::ring::{QueueOptions, Ring};
use crate::wait::Wait;
use crate::wait_error::{PutError, PutTimeoutError, TimeoutError, TryGetError, TryPutError};

/// A queue without a fixed item type: each put and get names its own, for
/// code that meets queues by id and carries items of any serde type (the
/// `pp-manager` facade's `put_queue_item` / `get_queue_item`).
///
/// It is the same queue in shared memory as a [`Queue<T>`](crate::Queue):
/// either can open the other's id. Reading the oldest item as a type it was
/// not put as is [`Error::WrongItemType`](crate::Error::WrongItemType) (in
/// [`TryGetError::Failed`] / [`TimeoutError::Failed`] for those forms) and
/// **does not take it**: the item is decoded while the queue is locked and
/// removed only if it is a whole `U` (bytes left over count as another
/// type), so a read with the right type still gets it. Items carry no type
/// tag (postcard is not self-describing), so the check catches a record
/// that is no whole `U`, not one whose bytes also spell a `U` (a `String`
/// read as a `Vec<u8>` reads).
///
/// ```
/// use pp_ipc::{AnyQueue, Error, TryGetError};
///
/// let queue = AnyQueue::create(8)?;
/// queue.put((1u32, 2u32))?;
/// match queue.try_get::<u32>() {
///     Err(TryGetError::Failed(e)) => assert!(matches!(*e, Error::WrongItemType { .. })),
///     other => panic!("{other:?}"),
/// }
/// assert_eq!(queue.try_get::<(u32, u32)>().unwrap(), (1, 2));
/// # Ok::<(), pp_ipc::Error>(())
/// ```
#[derive(Debug)]
pub struct AnyQueue {
    ring: Ring,
}

impl AnyQueue {
    /// Creates a queue holding at most `maxsize` items (0: bounded by bytes
    /// only) in the default byte capacity, with a generated id.
    pub fn create(maxsize: usize) -> Result<Self> {
        Self::create_with(QueueOptions::default().maxsize(maxsize))
    }

    /// Creates a queue with explicit sizes and, optionally, an id.
    pub fn create_with(options: QueueOptions) -> Result<Self> {
        Ok(AnyQueue { ring: Ring::create(options)? })
    }

    /// Opens the queue `id`, creating it with `options` if nobody has (see
    /// [`Queue::open_or_create`](crate::Queue::open_or_create)).
    pub fn open_or_create(id: &ObjectId, options: QueueOptions) -> Result<Self> {
        Ok(AnyQueue { ring: Ring::open_or_create(id, options)? })
    }

    /// Opens an existing queue by id.
    pub fn open(id: &ObjectId) -> Result<Self> {
        Ok(AnyQueue { ring: Ring::open(id)? })
    }

    /// Puts an item of any serde type, waiting as long as it takes for room.
    /// Pass a reference (`&item`) to keep the item; any failure hands it back.
    pub fn put<U: Serialize>(&self, item: U) -> Result<(), PutError<U>> {
        match self.ring.put(&item, Wait::Forever) {
            Ok(()) => Ok(()),
            Err(stopped) => Err(PutError::from_stopped(item, stopped, self.id())),
        }
    }

    /// Puts an item if there is room now; otherwise hands it back
    /// ([`TryPutError::Full`], or [`TryPutError::Failed`] with the reason).
    pub fn try_put<U: Serialize>(&self, item: U) -> Result<(), TryPutError<U>> {
        match self.ring.put(&item, Wait::No) {
            Ok(()) => Ok(()),
            Err(stopped) => Err(TryPutError::from_stopped(item, stopped)),
        }
    }

    /// Puts an item, waiting at most `timeout` for room. A timeout too large
    /// for the clock waits as long as it takes.
    pub fn put_timeout<U: Serialize>(
        &self,
        item: U,
        timeout: Duration,
    ) -> Result<(), PutTimeoutError<U>> {
        self.put_until(item, Wait::timeout(timeout))
    }

    /// Puts an item, waiting until `deadline` for room.
    pub fn put_deadline<U: Serialize>(
        &self,
        item: U,
        deadline: Instant,
    ) -> Result<(), PutTimeoutError<U>> {
        self.put_until(item, Wait::deadline(deadline))
    }

    fn put_until<U: Serialize>(&self, item: U, wait: Wait) -> Result<(), PutTimeoutError<U>> {
        match self.ring.put(&item, wait) {
            Ok(()) => Ok(()),
            Err(stopped) => Err(PutTimeoutError::from_stopped(item, stopped)),
        }
    }

    /// [`put`](Self::put) awaited (see [`Queue::put_async`](crate::Queue::put_async)).
    pub fn put_async<U: Serialize>(
        &self,
        item: U,
    ) -> impl Future<Output = Result<(), PutError<U>>> {
        self.ring.put_async(item, |item: &U| item)
    }

    /// [`get`](Self::get) awaited; cancel-safe (see
    /// [`Queue::get_async`](crate::Queue::get_async)). An item of another
    /// type is [`Error::WrongItemType`](crate::Error::WrongItemType) and stays.
    pub fn get_async<U: DeserializeOwned>(&self) -> impl Future<Output = Result<U>> + '_ {
        self.ring.get_async::<U>()
    }

    /// Takes the oldest item as a `U`, waiting as long as it takes for one.
    /// [`Error::WrongItemType`](crate::Error::WrongItemType) leaves it in the queue.
    pub fn get<U: DeserializeOwned>(&self) -> Result<U> {
        self.ring.get(Wait::Forever).map_err(|stopped| stopped.into_error(self.id()))
    }

    /// Takes the oldest item as a `U` if there is one now; [`TryGetError::Empty`] otherwise.
    pub fn try_get<U: DeserializeOwned>(&self) -> Result<U, TryGetError> {
        self.ring.get(Wait::No).map_err(TryGetError::from_stopped)
    }

    /// Takes the oldest item as a `U`, waiting at most `timeout` for one.
    pub fn get_timeout<U: DeserializeOwned>(&self, timeout: Duration) -> Result<U, TimeoutError> {
        self.ring.get(Wait::timeout(timeout)).map_err(TimeoutError::from_stopped)
    }

    /// Takes the oldest item as a `U`, waiting until `deadline` for one.
    pub fn get_deadline<U: DeserializeOwned>(&self, deadline: Instant) -> Result<U, TimeoutError> {
        self.ring.get(Wait::deadline(deadline)).map_err(TimeoutError::from_stopped)
    }

    /// The queue's id.
    pub fn id(&self) -> &ObjectId {
        self.ring.id()
    }

    /// The most items it holds (0: bounded by bytes only).
    pub fn maxsize(&self) -> usize {
        self.ring.maxsize()
    }

    /// The largest serialized item it can hold, in bytes.
    pub fn max_item_bytes(&self) -> usize {
        self.ring.max_item_bytes()
    }

    /// Items in the queue now (a snapshot; others may change it at once).
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Whether the queue holds no item now.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Whether the queue holds `maxsize` items, or has no byte left for even
    /// an empty item.
    pub fn is_full(&self) -> bool {
        self.ring.is_full()
    }

    /// Removes every item; returns how many.
    pub fn clear(&self) -> Result<usize> {
        self.ring.clear()
    }

    /// Removes the queue's name now (the creating handle only); handles that
    /// have it open keep working.
    pub fn delete(self) -> Result<()> {
        self.ring.delete()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Queue;

    #[test]
    fn each_call_names_its_type() {
        let q = AnyQueue::create(4).unwrap();
        q.put("text").unwrap();
        q.try_put(7u32).unwrap();
        assert_eq!(q.get::<String>().unwrap(), "text");
        assert_eq!(q.try_get::<u32>().unwrap(), 7);
        let typed = Queue::<u32>::open(q.id()).unwrap();
        q.put(9u32).unwrap();
        assert_eq!(typed.try_get().unwrap(), 9, "the same queue, typed");
    }
}

//! [`Queue<T>`]: a named bounded MPMC queue of `T` in shared memory.

use std::borrow::Borrow;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::id::ObjectId;
use crate::ring::{QueueOptions, Ring};
use crate::wait::Wait;
use crate::wait_error::{PutError, PutTimeoutError, TimeoutError, TryGetError, TryPutError};

/// A bounded multi-producer multi-consumer queue of `T` in shared memory,
/// openable by id from any process.
///
/// It puts and gets `T` only. Puts take the item or a borrow of it (any
/// `I: Borrow<T>`: `put(item)` or `put(&item)`, which spares a clone) and
/// hand it back on failure. Items are stored serialized (postcard), so
/// another process's `Queue<T>` of the same `T` reads them; a record that
/// is not a whole `T` (put through an [`AnyQueue`](crate::AnyQueue) as
/// another type) is [`Error::WrongItemType`](crate::Error::WrongItemType)
/// and stays in the queue. For code that meets queues by id with a type per
/// call, see [`AnyQueue`](crate::AnyQueue).
///
/// Speed: each waiting call spins briefly before it sleeps, so two running
/// processes pass items in about a microsecond; [`put_many`](Self::put_many)
/// and [`get_many`](Self::get_many) move many items per lock. Carry byte
/// payloads as `serde_bytes::ByteBuf` (or a `#[serde(with = "serde_bytes")]`
/// field): serde writes a plain `Vec<u8>` one byte at a time, which costs
/// microseconds per kilobyte.
///
/// ```
/// use std::time::Duration;
/// use pp_ipc::{Queue, TryGetError};
///
/// let queue = Queue::<String>::create(8)?;
/// queue.put("hello".to_owned())?;
/// let other = Queue::<String>::open(queue.id())?; // in another process, by id
/// assert_eq!(other.get()?, "hello");
/// assert!(matches!(other.try_get(), Err(TryGetError::Empty)));
/// assert!(other.get_timeout(Duration::from_millis(10)).unwrap_err().is_timeout());
/// # Ok::<(), pp_ipc::Error>(())
/// ```
#[derive(Debug)]
pub struct Queue<T> {
    ring: Ring,
    _items: PhantomData<fn(T) -> T>,
}

impl<T: Serialize + DeserializeOwned> Queue<T> {
    /// Puts `item`, waiting as long as it takes for room. Fails only for
    /// other reasons (too large, corrupt queue, …), handing the item back.
    pub fn put<I: Borrow<T>>(&self, item: I) -> Result<(), PutError<I>> {
        match self.ring.put(item.borrow(), Wait::Forever) {
            Ok(()) => Ok(()),
            Err(stopped) => Err(PutError::from_stopped(item, stopped, self.id())),
        }
    }

    /// Puts `item` if there is room now; otherwise hands it back:
    /// [`TryPutError::Full`], or [`TryPutError::Failed`] with the reason.
    pub fn try_put<I: Borrow<T>>(&self, item: I) -> Result<(), TryPutError<I>> {
        match self.ring.put(item.borrow(), Wait::No) {
            Ok(()) => Ok(()),
            Err(stopped) => Err(TryPutError::from_stopped(item, stopped)),
        }
    }

    /// Puts `item`, waiting at most `timeout` for room; hands it back in
    /// [`PutTimeoutError::Timeout`] if none came. A timeout too large for
    /// the clock waits as long as it takes.
    pub fn put_timeout<I: Borrow<T>>(
        &self,
        item: I,
        timeout: Duration,
    ) -> Result<(), PutTimeoutError<I>> {
        self.put_until(item, Wait::timeout(timeout))
    }

    /// Puts `item`, waiting until `deadline` for room; hands it back in
    /// [`PutTimeoutError::Timeout`] if none came.
    pub fn put_deadline<I: Borrow<T>>(
        &self,
        item: I,
        deadline: Instant,
    ) -> Result<(), PutTimeoutError<I>> {
        self.put_until(item, Wait::deadline(deadline))
    }

    fn put_until<I: Borrow<T>>(&self, item: I, wait: Wait) -> Result<(), PutTimeoutError<I>> {
        match self.ring.put(item.borrow(), wait) {
            Ok(()) => Ok(()),
            Err(stopped) => Err(PutTimeoutError::from_stopped(item, stopped)),
        }
    }

    /// Puts every item of `items`, in order, waiting as long as it takes
    /// for room: as many per lock as fit, up to 64 KiB (one lock and one
    /// wake-up per round, not per item), so a stream of small items moves
    /// several times faster than item by item. Fails only for other reasons (an item too
    /// large for the queue puts nothing; an error mid-way leaves the items
    /// before it put).
    pub fn put_many<I: Borrow<T>>(&self, items: &[I]) -> Result<()> {
        self.ring.put_many(items, |item: &I| item.borrow(), Wait::Forever).map(drop)
    }

    /// Puts as many of `items` as fit now, in order; returns how many.
    pub fn try_put_many<I: Borrow<T>>(&self, items: &[I]) -> Result<usize> {
        self.ring.put_many(items, |item: &I| item.borrow(), Wait::No)
    }

    /// Puts `items` in order, waiting at most `timeout` for room; returns
    /// how many were put (all of them unless the time ran out).
    pub fn put_many_timeout<I: Borrow<T>>(&self, items: &[I], timeout: Duration) -> Result<usize> {
        self.ring.put_many(items, |item: &I| item.borrow(), Wait::timeout(timeout))
    }

    /// Puts `items` in order, waiting until `deadline` for room; returns how
    /// many were put.
    pub fn put_many_deadline<I: Borrow<T>>(&self, items: &[I], deadline: Instant) -> Result<usize> {
        self.ring.put_many(items, |item: &I| item.borrow(), Wait::deadline(deadline))
    }

    /// Takes up to `max` of the oldest items under one lock (at most 64 KiB
    /// of them past the first), waiting as long as it takes for at least one. Items come out in order; an item
    /// that does not decode as a `T` stays (with those behind it) — it is
    /// [`Error::WrongItemType`](crate::Error::WrongItemType) only when it is
    /// the first.
    pub fn get_many(&self, max: usize) -> Result<Vec<T>> {
        self.ring.get_many(max, Wait::Forever)
    }

    /// Takes up to `max` of the items there now (none: empty).
    pub fn try_get_many(&self, max: usize) -> Result<Vec<T>> {
        self.ring.get_many(max, Wait::No)
    }

    /// Takes up to `max` items, waiting at most `timeout` for the first
    /// (none came: empty).
    pub fn get_many_timeout(&self, max: usize, timeout: Duration) -> Result<Vec<T>> {
        self.ring.get_many(max, Wait::timeout(timeout))
    }

    /// Takes up to `max` items, waiting until `deadline` for the first.
    pub fn get_many_deadline(&self, max: usize, deadline: Instant) -> Result<Vec<T>> {
        self.ring.get_many(max, Wait::deadline(deadline))
    }

    /// [`put`](Self::put) awaited: waits for room without blocking the
    /// thread (no thread of its own either: the process's one waiter thread
    /// watches the queue). Dropping the future before it completes puts
    /// nothing and drops the item; the item comes back with any error.
    pub fn put_async<I: Borrow<T>>(
        &self,
        item: I,
    ) -> impl Future<Output = Result<(), PutError<I>>> {
        self.ring.put_async(item, |item: &I| item.borrow())
    }

    /// [`get`](Self::get) awaited: waits for an item without blocking the
    /// thread. Cancel-safe: an item is taken only by the `poll` that returns
    /// it, so a future dropped mid-wait (a `select!` that took another
    /// branch, a timeout) takes nothing and the item stays for the next get.
    pub fn get_async(&self) -> impl Future<Output = Result<T>> + '_ {
        self.ring.get_async::<T>()
    }

    /// Takes the oldest item, waiting as long as it takes for one.
    pub fn get(&self) -> Result<T> {
        self.ring.get(Wait::Forever).map_err(|stopped| stopped.into_error(self.id()))
    }

    /// Takes the oldest item if there is one now; [`TryGetError::Empty`] otherwise.
    pub fn try_get(&self) -> Result<T, TryGetError> {
        self.ring.get(Wait::No).map_err(TryGetError::from_stopped)
    }

    /// Takes the oldest item, waiting at most `timeout` for one;
    /// [`TimeoutError::Timeout`] if none came. A timeout too large for the
    /// clock waits as long as it takes.
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, TimeoutError> {
        self.ring.get(Wait::timeout(timeout)).map_err(TimeoutError::from_stopped)
    }

    /// Takes the oldest item, waiting until `deadline` for one;
    /// [`TimeoutError::Timeout`] if none came. A passed deadline still takes
    /// an item that is there.
    pub fn get_deadline(&self, deadline: Instant) -> Result<T, TimeoutError> {
        self.ring.get(Wait::deadline(deadline)).map_err(TimeoutError::from_stopped)
    }
}

impl<T> Queue<T> {
    /// Creates a queue holding at most `maxsize` items (0: bounded by bytes
    /// only) in the default byte capacity, with a generated id.
    pub fn create(maxsize: usize) -> Result<Self> {
        Self::create_with(QueueOptions::default().maxsize(maxsize))
    }

    /// Creates a queue with explicit sizes and, optionally, an id.
    pub fn create_with(options: QueueOptions) -> Result<Self> {
        Ok(Queue { ring: Ring::create(options)?, _items: PhantomData })
    }

    /// Opens the queue `id`, creating it with `options` (their `id` is
    /// replaced by `id`) if nobody has: what two unrelated processes that
    /// want the same named queue call. An existing queue keeps its sizes. The
    /// handle that created the object owns its name and removes it when
    /// dropped or deleted, as with `create`; a name removed between a failed
    /// create and the open is created again.
    pub fn open_or_create(id: &ObjectId, options: QueueOptions) -> Result<Self> {
        Ok(Queue { ring: Ring::open_or_create(id, options)?, _items: PhantomData })
    }

    /// Opens an existing queue by id. Nothing records the item type in the
    /// queue: items that are not `T` fail at `get`, and stay in the queue.
    pub fn open(id: &ObjectId) -> Result<Self> {
        Ok(Queue { ring: Ring::open(id)?, _items: PhantomData })
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

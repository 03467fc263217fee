//! The small errors of the calls that may give up: the `try_` forms and the
//! `_timeout` / `_deadline` forms.
//!
//! Giving up (the queue is empty or full, the lock is held, the time ran
//! out) is an ordinary outcome of these calls, often in a loop, so it is a
//! unit variant: nothing allocated, nothing formatted (crossbeam-channel's
//! `TryRecvError` / `RecvTimeoutError` are the model). Rarer failures — a
//! corrupt object, an OS error, an item of another type — carry the full
//! [`Error`], boxed so the `Result` stays small. `into_error` turns any of
//! them into the rich [`Error`] naming the object, for callers that want one
//! error type.

use std::fmt;
use std::time::Duration;

use crate::error::Error;
use crate::id::ObjectId;

/// Why an operation stopped without its result, before each form names it.
#[derive(Debug)]
pub(crate) enum Stopped {
    /// No item, no room or no permit now (or before the deadline).
    NotReady,
    /// Anything else.
    Failed(Error),
}

impl Stopped {
    /// The error of a form that waits as long as it takes, on object `id`:
    /// such a call only ends unready through a bug, reported as a timeout.
    pub(crate) fn into_error(self, id: &ObjectId) -> Error {
        match self {
            Stopped::NotReady => Error::Timeout { id: id.to_string(), limit: Duration::ZERO },
            Stopped::Failed(error) => error,
        }
    }
}

/// Why [`try_get`](crate::Queue::try_get) returned no item.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TryGetError {
    /// The queue holds no item now.
    #[error("the queue is empty")]
    Empty,
    /// Anything else: a corrupt queue, a mutex held too long
    /// ([`Error::Busy`]), an item of another type ([`Error::WrongItemType`],
    /// which leaves the item in the queue), ….
    #[error(transparent)]
    Failed(Box<Error>),
}

impl TryGetError {
    /// Whether the queue was empty.
    pub fn is_empty(&self) -> bool {
        matches!(self, TryGetError::Empty)
    }

    /// The rich [`Error`] for this failure of queue `id`: [`Error::Empty`]
    /// or the one carried.
    pub fn into_error(self, id: &ObjectId) -> Error {
        match self {
            TryGetError::Empty => Error::Empty { id: id.to_string() },
            TryGetError::Failed(error) => *error,
        }
    }

    pub(crate) fn from_stopped(stopped: Stopped) -> Self {
        match stopped {
            Stopped::NotReady => TryGetError::Empty,
            Stopped::Failed(error) => TryGetError::Failed(Box::new(error)),
        }
    }
}

/// Why a `_timeout` or `_deadline` call ([`get_timeout`](crate::Queue::get_timeout),
/// [`acquire_timeout`](crate::Lock::acquire_timeout), …) returned nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TimeoutError {
    /// The object was not ready before the time ran out.
    #[error("timed out")]
    Timeout,
    /// Anything else: a corrupt object, an OS error, ….
    #[error(transparent)]
    Failed(Box<Error>),
}

impl TimeoutError {
    /// Whether the time ran out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, TimeoutError::Timeout)
    }

    /// The rich [`Error`] for this failure on object `id` waited on for
    /// `limit`: [`Error::Timeout`] or the one carried.
    pub fn into_error(self, id: &ObjectId, limit: Duration) -> Error {
        match self {
            TimeoutError::Timeout => Error::Timeout { id: id.to_string(), limit },
            TimeoutError::Failed(error) => *error,
        }
    }

    pub(crate) fn from_stopped(stopped: Stopped) -> Self {
        match stopped {
            Stopped::NotReady => TimeoutError::Timeout,
            Stopped::Failed(error) => TimeoutError::Failed(Box::new(error)),
        }
    }
}

/// Why [`Lock::try_acquire`](crate::Lock::try_acquire) or
/// [`Semaphore::try_acquire`](crate::Semaphore::try_acquire) took nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TryAcquireError {
    /// The lock is held (by anyone, the calling thread included), or the
    /// semaphore has no permit left.
    #[error("not available now")]
    WouldBlock,
    /// Anything else: a corrupt or unrecoverable lock, an OS error, ….
    #[error(transparent)]
    Failed(Box<Error>),
}

impl TryAcquireError {
    /// Whether the object was simply not available.
    pub fn is_would_block(&self) -> bool {
        matches!(self, TryAcquireError::WouldBlock)
    }

    pub(crate) fn from_stopped(stopped: Stopped) -> Self {
        match stopped {
            Stopped::NotReady => TryAcquireError::WouldBlock,
            Stopped::Failed(error) => TryAcquireError::Failed(Box::new(error)),
        }
    }
}

/// A failed [`put`](crate::Queue::put) (one that waits as long as it takes,
/// so never for want of room): the item comes back with the reason.
#[derive(thiserror::Error)]
#[error("{error}")]
pub struct PutError<T> {
    /// The item that was not put.
    pub item: T,
    /// Why: the item is too large for the queue, could not be serialized,
    /// the queue is corrupt, ….
    pub error: Error,
}

impl<T> PutError<T> {
    pub(crate) fn from_stopped(item: T, stopped: Stopped, id: &ObjectId) -> Self {
        PutError { item, error: stopped.into_error(id) }
    }
}

/// Shows the reason, not the item (which need not be `Debug`).
impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PutError").field("error", &self.error).finish_non_exhaustive()
    }
}

/// Drops the item: for callers that only want the reason (`?` in a function
/// returning pp-ipc's [`Result`](crate::Result)).
impl<T> From<PutError<T>> for Error {
    fn from(e: PutError<T>) -> Error {
        e.error
    }
}

/// A failed [`try_put`](crate::Queue::try_put): the item comes back.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum TryPutError<T> {
    /// The queue has no room now (its `maxsize` items, or not the bytes).
    #[error("the queue is full")]
    Full(T),
    /// Anything else: the item is too large for the queue even when empty
    /// ([`Error::ItemTooLarge`]), a mutex held too long ([`Error::Busy`]), ….
    #[error("{1}")]
    Failed(T, Box<Error>),
}

impl<T> TryPutError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            TryPutError::Full(item) | TryPutError::Failed(item, _) => item,
        }
    }

    /// Whether the queue was full.
    pub fn is_full(&self) -> bool {
        matches!(self, TryPutError::Full(_))
    }

    /// The rich [`Error`] for this failure of queue `id`, dropping the item:
    /// [`Error::Full`] or the one carried.
    pub fn into_error(self, id: &ObjectId) -> Error {
        match self {
            TryPutError::Full(_) => Error::Full { id: id.to_string() },
            TryPutError::Failed(_, error) => *error,
        }
    }

    pub(crate) fn from_stopped(item: T, stopped: Stopped) -> Self {
        match stopped {
            Stopped::NotReady => TryPutError::Full(item),
            Stopped::Failed(error) => TryPutError::Failed(item, Box::new(error)),
        }
    }
}

/// Shows the reason, not the item (which need not be `Debug`).
impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(_) => f.write_str("Full(..)"),
            TryPutError::Failed(_, error) => f.debug_tuple("Failed").field(error).finish(),
        }
    }
}

/// A failed [`put_timeout`](crate::Queue::put_timeout) or
/// [`put_deadline`](crate::Queue::put_deadline): the item comes back.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum PutTimeoutError<T> {
    /// No room came before the time ran out.
    #[error("timed out")]
    Timeout(T),
    /// Anything else: the item is too large for the queue even when empty
    /// ([`Error::ItemTooLarge`]), a corrupt queue, ….
    #[error("{1}")]
    Failed(T, Box<Error>),
}

impl<T> PutTimeoutError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            PutTimeoutError::Timeout(item) | PutTimeoutError::Failed(item, _) => item,
        }
    }

    /// Whether the time ran out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, PutTimeoutError::Timeout(_))
    }

    /// The rich [`Error`] for this failure of queue `id` waited on for
    /// `limit`, dropping the item: [`Error::Timeout`] or the one carried.
    pub fn into_error(self, id: &ObjectId, limit: Duration) -> Error {
        match self {
            PutTimeoutError::Timeout(_) => Error::Timeout { id: id.to_string(), limit },
            PutTimeoutError::Failed(_, error) => *error,
        }
    }

    pub(crate) fn from_stopped(item: T, stopped: Stopped) -> Self {
        match stopped {
            Stopped::NotReady => PutTimeoutError::Timeout(item),
            Stopped::Failed(error) => PutTimeoutError::Failed(item, Box::new(error)),
        }
    }
}

/// Shows the reason, not the item (which need not be `Debug`).
impl<T> fmt::Debug for PutTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
            PutTimeoutError::Failed(_, error) => f.debug_tuple("Failed").field(error).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn giving_up_is_small() {
        // A pointer and a tag at most: `Result<u64, _>` stays two words.
        assert!(std::mem::size_of::<TryGetError>() <= 16);
        assert!(std::mem::size_of::<TimeoutError>() <= 16);
        assert!(std::mem::size_of::<TryAcquireError>() <= 16);
        assert!(std::mem::size_of::<TryPutError<u64>>() <= 24);
        assert!(std::mem::size_of::<Result<u64, TryGetError>>() <= 16);
    }

    #[test]
    fn rich_errors_name_the_object() {
        let id: ObjectId = "pp-test-small".parse().unwrap();
        assert!(
            matches!(TryGetError::Empty.into_error(&id), Error::Empty { id } if id == "pp-test-small")
        );
        let limit = Duration::from_millis(5);
        assert!(matches!(
            TimeoutError::Timeout.into_error(&id, limit),
            Error::Timeout { limit: l, .. } if l == limit
        ));
        let full = TryPutError::Full(3u8);
        assert!(full.is_full());
        assert_eq!(format!("{full:?}"), "Full(..)");
        assert!(matches!(full.into_error(&id), Error::Full { .. }));
        assert_eq!(PutTimeoutError::Timeout(4u8).into_inner(), 4);
    }
}

//! The one error type of pp-ipc.

use std::io;
use std::time::Duration;

/// Everything that can go wrong creating, opening or using a pp-ipc object.
///
/// Each variant names the object (its id) and the value that was wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The id is not a valid pp-ipc name.
    #[error("invalid object id {id:?}: {reason}")]
    InvalidId {
        /// The id as given.
        id: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// `create` found an object with this id already: ids are never reused silently.
    #[error("object {id:?} already exists")]
    AlreadyExists {
        /// The id.
        id: String,
    },

    /// No object with this id exists (never created, or deleted).
    #[error("object {id:?} not found")]
    NotFound {
        /// The id.
        id: String,
    },

    /// The object exists but is of another kind (a queue opened as an event, …).
    #[error("object {id:?} is of kind {found}, not {expected}")]
    WrongKind {
        /// The id.
        id: String,
        /// The kind asked for.
        expected: &'static str,
        /// The kind it is.
        found: &'static str,
    },

    /// A shared value opened with another value type than it was created with.
    #[error("shared value {id:?} holds {found}, not {expected}")]
    WrongValueType {
        /// The id.
        id: String,
        /// The type asked for.
        expected: &'static str,
        /// The type it holds.
        found: &'static str,
    },

    /// The object's header is not a valid pp-ipc header.
    #[error("object {id:?} is corrupt: {reason}")]
    Corrupt {
        /// The id.
        id: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The name is taken by something pp must not use: not a regular file,
    /// owned by another user, or open to other users. Opening it could let
    /// its owner steer this process, so it is refused before it is mapped.
    #[error(
        "refusing object {id:?}: {reason} (a {file_type}{}{}); pp opens only regular files \
         of its own user with mode 0600",
        owner.map(|uid| format!(", owner uid {uid}")).unwrap_or_default(),
        mode.map(|mode| format!(", mode {mode:04o}")).unwrap_or_default()
    )]
    Untrusted {
        /// The id.
        id: String,
        /// Why it was refused.
        reason: &'static str,
        /// What the name is: "regular file", "symbolic link", "FIFO", ….
        file_type: &'static str,
        /// Its owner's uid, when known.
        owner: Option<u32>,
        /// Its permission bits, when known.
        mode: Option<u32>,
    },

    /// The creator did not finish initialising the object in time (it may have died).
    #[error("object {id:?} was not initialised within {waited:?}")]
    NotInitialized {
        /// The id.
        id: String,
        /// How long `open` waited.
        waited: Duration,
    },

    /// A `_timeout` or `_deadline` call gave up: the object was not ready in
    /// time. The calls themselves report the small
    /// [`TimeoutError::Timeout`](crate::TimeoutError::Timeout); its
    /// `into_error` makes this, naming the object and the time waited.
    #[error("timed out after {limit:?} waiting on {id:?}")]
    Timeout {
        /// The object waited on.
        id: String,
        /// The timeout given (what `into_error` was told).
        limit: Duration,
    },

    /// A call that does not wait for the object's state (`try_put`,
    /// `try_get`, `clear`) found its internal mutex held for longer than any
    /// healthy holder keeps it: the holder is stuck, or not playing fair.
    #[error("{id:?} stayed locked by another holder for {waited:?}")]
    Busy {
        /// The object.
        id: String,
        /// How long the call waited for the mutex.
        waited: Duration,
    },

    /// The lock is not held by the calling thread, so it cannot release it.
    #[error("lock {id:?} is not held by this thread")]
    NotOwner {
        /// The lock's id.
        id: String,
    },

    /// `release` was called while a [`LockGuard`](crate::LockGuard) of the same
    /// handle holds the lock on this thread: the guard releases it when dropped.
    #[error("lock {id:?} is held by a live guard on this thread: drop the guard to release it")]
    GuardAlive {
        /// The lock's id.
        id: String,
    },

    /// The calling thread already holds the lock: waiting would deadlock.
    #[error("lock {id:?} is already held by this thread")]
    AlreadyHeld {
        /// The lock's id.
        id: String,
    },

    /// A lock whose holder died was left unrecoverable.
    #[error("lock {id:?} is unrecoverable: a previous owner died and it was not made consistent")]
    Unrecoverable {
        /// The lock's id.
        id: String,
    },

    /// A semaphore's count would pass its maximum.
    #[error("semaphore {id:?} is at its maximum count {max}")]
    Overflow {
        /// The semaphore's id.
        id: String,
        /// The maximum count.
        max: u32,
    },

    /// An item does not fit in the queue even when it is empty, or a message
    /// is larger than a pipe's limit.
    #[error(
        "item of {size} bytes is too large for {id:?}, which takes items of at most {capacity} bytes"
    )]
    ItemTooLarge {
        /// The queue's or pipe's id.
        id: String,
        /// The serialized item's size in bytes.
        size: usize,
        /// The largest item the queue can hold, in bytes.
        capacity: usize,
    },

    /// A non-blocking put found the queue full: the rich form of
    /// [`TryPutError::Full`](crate::TryPutError::Full).
    #[error("queue {id:?} is full")]
    Full {
        /// The queue's id.
        id: String,
    },

    /// A non-blocking get found the queue empty: the rich form of
    /// [`TryGetError::Empty`](crate::TryGetError::Empty).
    #[error("queue {id:?} is empty")]
    Empty {
        /// The queue's id.
        id: String,
    },

    /// An item read from a queue or pipe is not of the type asked for: it
    /// does not decode as one, or decodes with bytes left over (it was put
    /// as another type). A queue keeps the item, so a read with the right
    /// type still gets it; a pipe's message is consumed.
    #[error("an item of {id:?} is not a {expected}: {reason}")]
    WrongItemType {
        /// The queue's or pipe's id.
        id: String,
        /// The type asked for.
        expected: &'static str,
        /// What did not fit.
        reason: String,
    },

    /// An item could not be serialized, or a put or get was called from
    /// inside an item's (de)serialization.
    #[error("cannot (de)serialize an item of {id:?}: {reason}")]
    Serialization {
        /// The queue's or pipe's id.
        id: String,
        /// What the serializer said.
        reason: String,
    },

    /// A queue was created with sizes it cannot have.
    #[error("invalid queue options for {id:?}: {reason}")]
    InvalidOptions {
        /// The queue's id.
        id: String,
        /// What is wrong.
        reason: String,
    },

    /// The other end of a pipe closed it.
    #[error("pipe {id:?} was closed by the other end")]
    Closed {
        /// The pipe's id.
        id: String,
    },

    /// The directory for pipe endpoints could be reached by other users.
    #[error("refusing pipe directory {path:?}: {reason}")]
    UnsafeDirectory {
        /// The directory.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A pipe's peer runs as another user (or the kernel did not say who it is).
    #[error("pipe {id:?}: peer runs as {}, not as our user", uid.map_or("an unknown uid".to_owned(), |uid| format!("uid {uid}")))]
    ForeignPeer {
        /// The pipe's id.
        id: String,
        /// The peer's effective uid, when the kernel reported one.
        uid: Option<u32>,
    },

    /// An OS call failed.
    #[error("{what} {id:?}: {source}")]
    Io {
        /// What pp-ipc was doing.
        what: &'static str,
        /// The object concerned.
        id: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// `Result` with pp-ipc's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `text` for an error message: as it is when short, else its first 64
/// characters, an ellipsis and its length, so a huge input never makes a
/// huge message.
pub(crate) fn shorten(text: &str) -> String {
    const KEEP: usize = 64;
    match text.char_indices().nth(KEEP) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…({} bytes)", &text[..end], text.len()),
    }
}

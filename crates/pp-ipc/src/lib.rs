//! Named cross-process queues, locks, events, shared values and semaphores in shared memory.
//!
//! Every object lives in a POSIX shared-memory segment whose name is its
//! [`ObjectId`] (always `pp-…`). The creating handle owns the name and
//! removes it when dropped or deleted; any process of the same user can
//! `open` the id meanwhile, child or not. `open` validates the segment's
//! header, so opening a lock's id as an event is [`Error::WrongKind`], never
//! undefined behaviour.
//!
//! # Trust
//! `open` maps only a regular file of the calling user with mode 0600,
//! reached without following a link ([`Error::Untrusted`] otherwise), so no
//! other user's object is ever used. Processes of the same user can write
//! anything into an object: every value that becomes an offset or a length
//! is checked ([`Error::Corrupt`]), and calls that do not wait give up on a
//! mutex held too long ([`Error::Busy`]). One thing they can do that pp
//! cannot catch: truncate an object's file, after which touching the lost
//! pages raises SIGBUS in every process that maps it.
//!
//! # Map
//! - [`Lock`] / [`LockGuard`] / [`OwnedLockGuard`]: robust mutual
//!   exclusion; a holder's death is reported to the next acquirer, never a
//!   deadlock.
//! - [`Event`]: manual-reset; `set` wakes every waiter in every process.
//! - [`SharedValue`]: `i32`, `i64`, `u32`, `u64`, `bool`, `f64` ([`ValueType`];
//!   integers add atomic `fetch_add`, `compare_exchange`). Its shared memory
//!   records its [`ValueKind`], so [`ValueKind::of`] tells the type of a
//!   value met by id.
//! - [`Semaphore`]: counting permits, given back when a [`SemaphorePermit`]
//!   / [`OwnedSemaphorePermit`] drops (or kept: `forget`).
//! - [`Queue<T>`](Queue): bounded MPMC queue that puts and gets `T` only
//!   ([`QueueOptions`]); a producer killed mid-`put` leaves no torn item.
//!   [`AnyQueue`]: the same queue met by id, each call naming its item type;
//!   a read as the wrong type is [`Error::WrongItemType`] and takes nothing.
//! - [`PipeListener`] / [`Pipe`]: a named, connectable message stream between
//!   unrelated processes (Unix socket in a 0700 directory, peer uid checked).
//! - [`sweep`]: removes `pp-` objects whose creator has died ([`Swept`]
//!   also lists the `pp-` names it left alone, and why); [`list`] shows
//!   every object of this user ([`Listing`] of [`ObjectInfo`]: id,
//!   [`ObjectKind`], size, creator, stale or not) without changing any;
//!   [`unlink`] removes one name.
//! - [`Error`]: the rich error of every failure, naming the object;
//!   [`TryGetError`], [`TimeoutError`], [`TryAcquireError`],
//!   [`TryPutError`], [`PutTimeoutError`], [`PutError`]: the small errors of
//!   the calls that may give up.
//!
//! # Waiting
//! Every call that waits for an object comes in the forms crossbeam and
//! pp-process use: `x()` blocks as long as it takes, `try_x()` never waits,
//! `x_timeout(Duration)` and `x_deadline(Instant)` wait at most that long.
//! Giving up is an ordinary outcome, so it is a small error that neither
//! allocates nor formats, as in crossbeam-channel: `try_get` →
//! [`TryGetError::Empty`], `try_acquire` → [`TryAcquireError::WouldBlock`],
//! the `_timeout` / `_deadline` forms → [`TimeoutError::Timeout`] (for
//! [`Event::wait_timeout`]: `false`; for a pipe's `try_` forms: `None`). Other
//! failures ride along as `Failed(Box<Error>)`, and `into_error` gives the
//! rich [`Error`] naming the object. Puts take the item (a typed queue: or a
//! borrow of it) and hand it back in the error, whatever went wrong. A
//! timeout too large to add to the clock means no deadline.
//!
//! # Awaiting
//! [`Queue::get_async`] / [`Queue::put_async`] (and [`AnyQueue`]'s),
//! [`Event::wait_async`], [`Lock::acquire_async`] and
//! [`Semaphore::acquire_async`] are std futures for any executor. Another
//! process changes the object, so no waker can be handed to it: one
//! pp-owned thread per process watches the futex words of every pending
//! wait (`futex_waitv`) and wakes the right task, so a pending wait costs
//! no thread. For a deadline, race the future against the runtime's timer
//! (`tokio::time::timeout`, `select!`). Dropping a future cancels it and
//! takes nothing: an item or permit is taken only by the `poll` that
//! returns it.
//!
//! # Example
//! ```
//! use std::time::Duration;
//! use pp_ipc::{Event, Lock, ObjectId, SharedValue};
//!
//! let counter = SharedValue::<i64>::create(0)?;
//! let lock = Lock::create()?;
//! // Another process would do this with the id from its argv:
//! let id: ObjectId = counter.id().to_string().parse()?;
//! let same_counter = SharedValue::<i64>::open(&id)?;
//! {
//!     let _guard = lock.acquire_timeout(Duration::from_secs(5))?;
//!     same_counter.fetch_add(1);
//! }
//! assert_eq!(counter.get(), 1);
//!
//! let done = Event::create()?;
//! done.set();
//! assert!(done.wait_timeout(Duration::from_secs(1))?);
//! done.wait()?; // blocks until set: it is set already
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod any_queue;
mod codec;
mod error;
mod event;
mod futures;
mod id;
mod listing;
mod lock;
mod pipe;
mod queue;
mod ring;
mod segment;
mod semaphore;
mod spin;
mod sweep;
mod sys;
mod value;
mod wait;
mod wait_error;
mod waiter;

pub use any_queue::AnyQueue;
pub use error::{Error, Result};
pub use event::Event;
pub use id::ObjectId;
pub use listing::{Listing, ObjectInfo, ObjectKind, list};
pub use lock::{Lock, LockGuard, OwnedLockGuard};
pub use pipe::{DEFAULT_MAX_MESSAGE, Pipe, PipeListener, pipe_dir};
pub use queue::Queue;
pub use ring::QueueOptions;
pub use segment::unlink;
pub use semaphore::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};
pub use sweep::{Swept, sweep};
pub use value::{IntegerType, SharedValue, ValueKind, ValueType};
pub use wait_error::{
    PutError, PutTimeoutError, TimeoutError, TryAcquireError, TryGetError, TryPutError,
};

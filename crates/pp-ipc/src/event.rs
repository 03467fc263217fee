//! A named manual-reset event: set wakes every waiter in every process.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::futures::{Pending, Watch};
use crate::id::ObjectId;
use crate::segment::{Kind, PayloadSize, Segment};
use crate::sys::{self, Wake};
use crate::wait::Wait;

const CLEAR: u32 = 0;
const SET: u32 = 1;

/// A manual-reset event over one futex word in shared memory.
///
/// Waiters keep no registration in shared memory, so a waiter killed while
/// waiting cannot break later wake-ups.
#[derive(Debug)]
pub struct Event {
    segment: Segment,
}

impl Event {
    /// Creates a cleared event with a generated id.
    pub fn create() -> Result<Event> {
        Event::create_with_id(ObjectId::generate("event")?)
    }

    /// Creates a cleared event with the caller's id; fails if the id exists.
    pub fn create_with_id(id: ObjectId) -> Result<Event> {
        // The zero-filled payload is a cleared flag.
        Ok(Event { segment: Segment::create(id, Kind::Event, 0, 8, |_| Ok(()))? })
    }

    /// Opens the event `id`, creating it (cleared) if nobody has (see
    /// [`Queue::open_or_create`](crate::Queue::open_or_create) for who owns the name).
    pub fn open_or_create(id: &ObjectId) -> Result<Event> {
        crate::segment::open_or_create(|| Event::create_with_id(id.clone()), || Event::open(id))
    }

    /// Opens an existing event by id.
    pub fn open(id: &ObjectId) -> Result<Event> {
        Ok(Event { segment: Segment::open(id, Kind::Event, PayloadSize::Exactly(8))? })
    }

    /// The event's id.
    pub fn id(&self) -> &ObjectId {
        self.segment.id()
    }

    fn flag(&self) -> &std::sync::atomic::AtomicU32 {
        self.segment.atomic_u32(0)
    }

    /// Sets the event and wakes every waiter.
    pub fn set(&self) {
        if self.flag().swap(SET, Ordering::AcqRel) != SET {
            sys::futex_wake_all(self.flag());
        }
    }

    /// Clears the event.
    pub fn clear(&self) {
        self.flag().store(CLEAR, Ordering::Release);
    }

    /// Whether the event is set: the form of `wait` that does not wait.
    pub fn is_set(&self) -> bool {
        self.flag().load(Ordering::Acquire) == SET
    }

    /// The flag, checked: anything but 0 or 1 was written by someone else.
    fn state(&self) -> Result<bool> {
        match self.flag().load(Ordering::Acquire) {
            CLEAR => Ok(false),
            SET => Ok(true),
            other => Err(Error::Corrupt {
                id: self.id().to_string(),
                reason: format!("event flag is {other}, neither 0 (clear) nor 1 (set)"),
            }),
        }
    }

    /// Waits as long as it takes for the event to be set.
    /// [`Error::Corrupt`] if the flag holds neither 0 nor 1.
    pub fn wait(&self) -> Result<()> {
        self.wait_with(Wait::Forever).map(drop)
    }

    /// Waits at most `timeout` for the event; returns whether it is set. A
    /// timeout too large for the clock waits as long as it takes.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool> {
        self.wait_with(Wait::timeout(timeout))
    }

    /// Waits until `deadline` for the event; returns whether it is set.
    pub fn wait_deadline(&self, deadline: Instant) -> Result<bool> {
        self.wait_with(Wait::deadline(deadline))
    }

    /// [`wait`](Self::wait) awaited: the process's one waiter thread
    /// watches the flag, so a pending wait costs no thread.
    pub fn wait_async(&self) -> impl Future<Output = Result<()>> + '_ {
        let mut pending = Pending::default();
        std::future::poll_fn(move |cx| {
            // A set then cleared between two looks is missed, as by a
            // blocking wait: the event is a level, not a count.
            let watch = || {
                Watch::settled(
                    self.segment.shared_word(0),
                    self.flag().load(Ordering::SeqCst),
                    None,
                )
            };
            let attempt = || match self.state() {
                Ok(true) => Some(Ok(())),
                Ok(false) => None,
                Err(e) => Some(Err(e)),
            };
            pending.poll(cx, watch, attempt).map(|done| {
                done.unwrap_or_else(|source| {
                    Err(Error::Io {
                        what: "starting the async waiter thread",
                        id: self.id().to_string(),
                        source,
                    })
                })
            })
        })
    }

    fn wait_with(&self, wait: Wait) -> Result<bool> {
        loop {
            if self.state()? {
                return Ok(true);
            }
            if wait.expired() {
                return self.state();
            }
            if sys::futex_wait(self.flag(), CLEAR, wait.remaining()) == Wake::TimedOut {
                return self.state();
            }
        }
    }

    /// Removes the event's name now; open handles keep working.
    pub fn delete(mut self) -> Result<()> {
        self.segment.unlink()
    }
}

//! A named manual-reset event: set wakes every waiter in every process.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::segment::{Kind, ObjectId, Segment};
use crate::sys::{self, Wake};

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

    /// Opens an existing event by id.
    pub fn open(id: &ObjectId) -> Result<Event> {
        Ok(Event { segment: Segment::open(id, Kind::Event)? })
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

    /// Whether the event is set.
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

    /// Waits until the event is set, at most `timeout`; returns whether it is
    /// set. [`Error::Corrupt`] if the flag holds neither 0 nor 1.
    pub fn wait(&self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            if self.state()? {
                return Ok(true);
            }
            let remaining = match deadline {
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return self.state(),
                },
                None => None,
            };
            if sys::futex_wait(self.flag(), CLEAR, remaining) == Wake::TimedOut {
                return self.state();
            }
        }
    }

    /// Removes the event's name now; open handles keep working.
    pub fn delete(mut self) -> Result<()> {
        self.segment.unlink()
    }
}

//! A named counting semaphore over a futex word.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::id::ObjectId;
use crate::segment::{Kind, PayloadSize, Segment};
use crate::sys::{self, Wake};
use crate::wait::Wait;

/// A cross-process counting semaphore.
#[derive(Debug)]
pub struct Semaphore {
    segment: Segment,
}

impl Semaphore {
    /// The largest count a semaphore can hold.
    pub const MAX: u32 = i32::MAX as u32;

    /// Creates a semaphore holding `initial` permits, with a generated id.
    pub fn create(initial: u32) -> Result<Semaphore> {
        Semaphore::create_with_id(ObjectId::generate("sem")?, initial)
    }

    /// Creates a semaphore with the caller's id; fails if the id exists.
    pub fn create_with_id(id: ObjectId, initial: u32) -> Result<Semaphore> {
        if initial > Self::MAX {
            return Err(Error::Overflow { id: id.to_string(), max: Self::MAX });
        }
        let segment = Segment::create(id, Kind::Semaphore, 0, 8, |payload| {
            // SAFETY: fresh, aligned, 8-byte payload not yet shared.
            unsafe { payload.cast::<u32>().as_ptr().write(initial) };
            Ok(())
        })?;
        Ok(Semaphore { segment })
    }

    /// Opens the semaphore `id`, creating it with `initial` permits if nobody
    /// has (an existing one keeps its count; see
    /// [`Queue::open_or_create`](crate::Queue::open_or_create) for who owns the name).
    pub fn open_or_create(id: &ObjectId, initial: u32) -> Result<Semaphore> {
        crate::segment::open_or_create(
            || Semaphore::create_with_id(id.clone(), initial),
            || Semaphore::open(id),
        )
    }

    /// Opens an existing semaphore by id.
    pub fn open(id: &ObjectId) -> Result<Semaphore> {
        Ok(Semaphore { segment: Segment::open(id, Kind::Semaphore, PayloadSize::Exactly(8))? })
    }

    /// The semaphore's id.
    pub fn id(&self) -> &ObjectId {
        self.segment.id()
    }

    fn count(&self) -> &std::sync::atomic::AtomicU32 {
        self.segment.atomic_u32(0)
    }

    /// The permits available now.
    pub fn value(&self) -> u32 {
        self.count().load(Ordering::Acquire)
    }

    /// Takes a permit if one is available now.
    pub fn try_acquire(&self) -> bool {
        let mut current = self.count().load(Ordering::Acquire);
        while current > 0 {
            match self.count().compare_exchange_weak(
                current,
                current - 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(now) => current = now,
            }
        }
        false
    }

    /// Waits as long as it takes for a permit.
    pub fn acquire(&self) -> Result<()> {
        self.acquire_with(Wait::Forever)
    }

    /// Waits at most `timeout` for a permit; [`Error::Timeout`] if none came.
    /// A timeout too large for the clock waits as long as it takes.
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<()> {
        self.acquire_with(Wait::timeout(timeout))
    }

    /// Waits until `deadline` for a permit; [`Error::Timeout`] if none came.
    pub fn acquire_deadline(&self, deadline: Instant) -> Result<()> {
        self.acquire_with(Wait::deadline(deadline))
    }

    fn acquire_with(&self, wait: Wait) -> Result<()> {
        loop {
            if self.try_acquire() {
                return Ok(());
            }
            if wait.expired() {
                break;
            }
            if sys::futex_wait(self.count(), 0, wait.remaining()) == Wake::TimedOut {
                break;
            }
        }
        // A release may have landed between the last check and the timeout.
        if self.try_acquire() {
            return Ok(());
        }
        Err(wait.timed_out(self.id()))
    }

    /// Returns a permit and wakes one waiter.
    pub fn release(&self) -> Result<()> {
        let mut current = self.count().load(Ordering::Acquire);
        loop {
            if current >= Self::MAX {
                return Err(Error::Overflow { id: self.id().to_string(), max: Self::MAX });
            }
            match self.count().compare_exchange_weak(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => current = now,
            }
        }
        sys::futex_wake(self.count(), 1);
        Ok(())
    }

    /// Removes the semaphore's name now; open handles keep working.
    pub fn delete(mut self) -> Result<()> {
        self.segment.unlink()
    }
}

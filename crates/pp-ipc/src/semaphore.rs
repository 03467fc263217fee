//! A named counting semaphore over a futex word.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::futures::{Pending, Watch};
use crate::id::ObjectId;
use crate::segment::{Kind, PayloadSize, Segment};
use crate::sys::{self, Wake};
use crate::wait::Wait;
use crate::wait_error::{Stopped, TimeoutError, TryAcquireError};
use std::task::{Poll, ready};

/// A cross-process counting semaphore.
///
/// `acquire` and its forms return a permit that gives the count back when
/// dropped: [`SemaphorePermit`] borrows the handle, [`OwnedSemaphorePermit`]
/// holds an `Arc` of it. To use the count as a signal instead (one process
/// releases, another acquires), [`forget`](SemaphorePermit::forget) the
/// permit and call [`release`](Semaphore::release) where the signal comes from.
///
/// ```
/// use pp_ipc::{Semaphore, TryAcquireError};
///
/// let slots = Semaphore::create(1)?;
/// let permit = slots.acquire()?;
/// assert!(matches!(slots.try_acquire(), Err(TryAcquireError::WouldBlock)));
/// drop(permit);
/// slots.try_acquire().expect("given back on drop").forget();
/// assert_eq!(slots.value(), 0, "a forgotten permit stays taken");
/// slots.release()?;
/// # Ok::<(), pp_ipc::Error>(())
/// ```
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

    /// Takes a permit if one is available now (the count is above zero).
    fn take(&self) -> bool {
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

    /// Takes a permit, waiting as `wait` says.
    fn take_with(&self, wait: Wait) -> Result<(), Stopped> {
        loop {
            if self.take() {
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
        if self.take() {
            return Ok(());
        }
        Err(Stopped::NotReady)
    }

    /// Waits as long as it takes for a permit; the permit goes back when
    /// dropped (or stays taken: [`SemaphorePermit::forget`]).
    pub fn acquire(&self) -> Result<SemaphorePermit<'_>> {
        match self.take_with(Wait::Forever) {
            Ok(()) => Ok(SemaphorePermit { semaphore: self }),
            Err(stopped) => Err(stopped.into_error(self.id())),
        }
    }

    /// Takes a permit if one is available now; [`TryAcquireError::WouldBlock`] if not.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        match self.take() {
            true => Ok(SemaphorePermit { semaphore: self }),
            false => Err(TryAcquireError::WouldBlock),
        }
    }

    /// Waits at most `timeout` for a permit; [`TimeoutError::Timeout`] if
    /// none came. A timeout too large for the clock waits as long as it takes.
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<SemaphorePermit<'_>, TimeoutError> {
        self.take_with(Wait::timeout(timeout)).map_err(TimeoutError::from_stopped)?;
        Ok(SemaphorePermit { semaphore: self })
    }

    /// Waits until `deadline` for a permit; [`TimeoutError::Timeout`] if none came.
    pub fn acquire_deadline(&self, deadline: Instant) -> Result<SemaphorePermit<'_>, TimeoutError> {
        self.take_with(Wait::deadline(deadline)).map_err(TimeoutError::from_stopped)?;
        Ok(SemaphorePermit { semaphore: self })
    }

    /// [`acquire`](Self::acquire) awaited: the process's one waiter thread
    /// watches the count. Cancel-safe: a permit is taken only by the `poll`
    /// that returns it.
    pub fn acquire_async(&self) -> impl Future<Output = Result<SemaphorePermit<'_>>> + '_ {
        let mut pending = Pending::default();
        std::future::poll_fn(move |cx| {
            // A release always wakes; a count seen above zero that is
            // zero again by the attempt differs from what was seen.
            let watch = || {
                Watch::settled(
                    self.segment.shared_word(0),
                    self.count().load(Ordering::SeqCst),
                    None,
                )
            };
            let attempt = || self.take().then_some(Ok(()));
            let taken = ready!(pending.poll(cx, self.id(), watch, attempt));
            Poll::Ready(taken.map(|()| SemaphorePermit { semaphore: self }))
        })
    }

    /// [`acquire`](Self::acquire) with a permit that holds the handle itself
    /// (for keeping it in a struct, or moving it to another thread).
    pub fn acquire_owned(self: &Arc<Self>) -> Result<OwnedSemaphorePermit> {
        self.acquire().map(|permit| self.owned(permit))
    }

    /// [`try_acquire`](Self::try_acquire) with an owned permit.
    pub fn try_acquire_owned(self: &Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire().map(|permit| self.owned(permit))
    }

    /// [`acquire_timeout`](Self::acquire_timeout) with an owned permit.
    pub fn acquire_owned_timeout(
        self: &Arc<Self>,
        timeout: Duration,
    ) -> Result<OwnedSemaphorePermit, TimeoutError> {
        self.acquire_timeout(timeout).map(|permit| self.owned(permit))
    }

    /// [`acquire_deadline`](Self::acquire_deadline) with an owned permit.
    pub fn acquire_owned_deadline(
        self: &Arc<Self>,
        deadline: Instant,
    ) -> Result<OwnedSemaphorePermit, TimeoutError> {
        self.acquire_deadline(deadline).map(|permit| self.owned(permit))
    }

    /// Hands a borrowed permit's duty to an owned one; the permit stays taken.
    fn owned(self: &Arc<Self>, permit: SemaphorePermit<'_>) -> OwnedSemaphorePermit {
        permit.forget();
        OwnedSemaphorePermit { semaphore: self.clone(), give_back: true }
    }

    /// Returns a permit and wakes one waiter: for permits kept with
    /// [`SemaphorePermit::forget`], or a count used as a signal between
    /// processes (one process releases what another acquires).
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

/// A permit of a [`Semaphore`], borrowed from the handle; given back when
/// dropped. Any thread may drop it: a semaphore has no owner thread.
#[derive(Debug)]
#[must_use = "the permit is given back as soon as it is dropped"]
pub struct SemaphorePermit<'a> {
    semaphore: &'a Semaphore,
}

impl SemaphorePermit<'_> {
    /// Keeps the permit taken: the count stays one lower until someone
    /// (in any process) calls [`Semaphore::release`].
    pub fn forget(self) {
        std::mem::forget(self);
    }

    /// The semaphore the permit was taken from.
    pub fn semaphore(&self) -> &Semaphore {
        self.semaphore
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        // Fails only if others released past the maximum: the count is full anyway.
        let _ = self.semaphore.release();
    }
}

/// A [`SemaphorePermit`] that owns its handle (`Arc<Semaphore>`): from
/// [`Semaphore::acquire_owned`] and its sibling forms.
#[derive(Debug)]
#[must_use = "the permit is given back as soon as it is dropped"]
pub struct OwnedSemaphorePermit {
    semaphore: Arc<Semaphore>,
    /// False once forgotten: the handle is still dropped, the permit is not given back.
    give_back: bool,
}

impl OwnedSemaphorePermit {
    /// Keeps the permit taken (see [`SemaphorePermit::forget`]); the handle
    /// itself is dropped as usual.
    pub fn forget(mut self) {
        self.give_back = false;
    }

    /// The semaphore the permit was taken from.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.semaphore
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        if self.give_back {
            // As for SemaphorePermit.
            let _ = self.semaphore.release();
        }
    }
}

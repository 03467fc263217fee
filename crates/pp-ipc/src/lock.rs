//! A named cross-process lock that survives the death of its holder.

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::futures::{Pending, Watch};
use crate::id::ObjectId;
use crate::segment::{Kind, PayloadSize, Segment, SharedWord};
use crate::sys::{self, Locked};
use crate::wait::Wait;
use crate::wait_error::{Stopped, TimeoutError, TryAcquireError};
use std::task::{Poll, ready};

/// The payload: one pthread mutex.
const PAYLOAD: usize = std::mem::size_of::<libc::pthread_mutex_t>();

/// Cross-process mutual exclusion: a robust, process-shared pthread mutex in
/// shared memory.
///
/// If a holder dies, the next acquirer gets the lock and is told so
/// ([`LockGuard::previous_owner_died`]); nobody deadlocks. Timeouts run on
/// the monotonic clock.
#[derive(Debug)]
pub struct Lock {
    segment: Segment,
    /// The thread (see [`thread_token`]) holding the lock through a live
    /// guard of this handle, 0 when none: `release` must not pull the lock
    /// out from under a guard, which would later unlock someone else's hold.
    guard_thread: AtomicU64,
}

/// A non-zero number unique to the calling thread for the life of the process.
fn thread_token() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static TOKEN: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    TOKEN.with(|t| *t)
}

/// Proof that the calling thread holds a [`Lock`]; releases it on drop.
///
/// Not `Send`: a pthread mutex must be released by the thread that took it.
#[derive(Debug)]
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    lock: &'a Lock,
    previous_owner_died: bool,
    _not_send: PhantomData<*const ()>,
}

impl Lock {
    /// Creates a lock with a generated id.
    pub fn create() -> Result<Lock> {
        Lock::create_with_id(ObjectId::generate("lock")?)
    }

    /// Creates a lock with the caller's id; fails if the id exists.
    pub fn create_with_id(id: ObjectId) -> Result<Lock> {
        let segment = Segment::create(id, Kind::Lock, 0, PAYLOAD, |payload| {
            // SAFETY: the payload is fresh, 64-byte aligned, `size` bytes long and
            // not yet visible to other processes.
            unsafe { sys::mutex_init(payload.cast().as_ptr()) }
        })?;
        Ok(Lock { segment, guard_thread: AtomicU64::new(0) })
    }

    /// Opens the lock `id`, creating it if nobody has (see
    /// [`Queue::open_or_create`](crate::Queue::open_or_create) for who owns the name).
    pub fn open_or_create(id: &ObjectId) -> Result<Lock> {
        crate::segment::open_or_create(|| Lock::create_with_id(id.clone()), || Lock::open(id))
    }

    /// Opens an existing lock by id, from any process of the same user.
    pub fn open(id: &ObjectId) -> Result<Lock> {
        Ok(Lock {
            segment: Segment::open(id, Kind::Lock, PayloadSize::Exactly(PAYLOAD))?,
            guard_thread: AtomicU64::new(0),
        })
    }

    /// The lock's id.
    pub fn id(&self) -> &ObjectId {
        self.segment.id()
    }

    #[inline]
    fn mutex(&self) -> *mut libc::pthread_mutex_t {
        self.segment.payload().cast().as_ptr()
    }

    /// Takes the lock, waiting as `wait` says: [`Stopped::NotReady`] when it
    /// stayed held (for the try form: held by anyone, this thread included).
    #[inline]
    fn lock_with(&self, wait: Wait) -> Result<LockGuard<'_>, Stopped> {
        // SAFETY: the payload holds a mutex initialised at creation (open checked
        // the kind and size), mapped for as long as `self` lives.
        let locked = unsafe { sys::mutex_lock(self.mutex(), wait.remaining()) };
        let failed = |error| Err(Stopped::Failed(error));
        let id = || self.id().to_string();
        let locked = match locked {
            Ok(locked) => locked,
            Err(source) => return failed(Error::Io { what: "locking", id: id(), source }),
        };
        let guard = |previous_owner_died| {
            self.guard_thread.store(thread_token(), Ordering::Relaxed);
            Ok(LockGuard { lock: self, previous_owner_died, _not_send: PhantomData })
        };
        match locked {
            Locked::Ok => guard(false),
            Locked::OwnerDied => guard(true),
            Locked::Busy => Err(Stopped::NotReady),
            // Only the try form may report "not now": every waiting form would deadlock.
            Locked::HeldByCaller if matches!(wait, Wait::No) => Err(Stopped::NotReady),
            Locked::HeldByCaller => failed(Error::AlreadyHeld { id: id() }),
            Locked::Unrecoverable => failed(Error::Unrecoverable { id: id() }),
            Locked::Corrupt(reason) => failed(Error::Corrupt { id: id(), reason }),
        }
    }

    /// Waits as long as it takes for the lock. [`Error::AlreadyHeld`] if this
    /// thread holds it already (waiting would never end).
    #[inline]
    pub fn acquire(&self) -> Result<LockGuard<'_>> {
        self.lock_with(Wait::Forever).map_err(|stopped| stopped.into_error(self.id()))
    }

    /// Takes the lock if it is free right now; [`TryAcquireError::WouldBlock`]
    /// if it is held (by anyone, this thread included).
    #[inline]
    pub fn try_acquire(&self) -> Result<LockGuard<'_>, TryAcquireError> {
        self.lock_with(Wait::No).map_err(TryAcquireError::from_stopped)
    }

    /// Waits at most `timeout` for the lock; [`TimeoutError::Timeout`] if it
    /// stays held. A timeout too large for the clock waits as long as it takes.
    #[inline]
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<LockGuard<'_>, TimeoutError> {
        self.lock_with(Wait::timeout(timeout)).map_err(TimeoutError::from_stopped)
    }

    /// Waits until `deadline` for the lock; [`TimeoutError::Timeout`] if it stays held.
    #[inline]
    pub fn acquire_deadline(&self, deadline: Instant) -> Result<LockGuard<'_>, TimeoutError> {
        self.lock_with(Wait::deadline(deadline)).map_err(TimeoutError::from_stopped)
    }

    /// [`acquire`](Self::acquire) awaited: the process's one waiter thread
    /// watches the lock word, so a pending acquire costs no thread.
    /// Cancel-safe: the lock is taken only by the `poll` that returns the
    /// guard. The guard is not `Send` (the thread that polled it holds the
    /// lock), so await it where the task stays on one thread: a
    /// current-thread runtime, a `LocalSet`, `block_on`. A task of this
    /// thread that holds the lock is waited for, not refused.
    pub fn acquire_async(&self) -> impl Future<Output = Result<LockGuard<'_>>> + '_ {
        let mut pending = Pending::default();
        std::future::poll_fn(move |cx| {
            let attempt = || match self.lock_with(Wait::No) {
                Ok(guard) => Some(Ok(guard)),
                Err(Stopped::NotReady) => None,
                Err(Stopped::Failed(error)) => Some(Err(error)),
            };
            let taken = ready!(pending.poll(cx, self.id(), || self.watch_unlock(), attempt));
            if taken.is_ok() && pending.waited() {
                // Taken after a wait, as a woken glibc locker does: others
                // may still sleep on the word, and only an unlock that sees
                // this bit wakes one of them.
                self.lock_word().get().fetch_or(sys::MUTEX_WAITERS, Ordering::SeqCst);
            }
            Poll::Ready(taken)
        })
    }

    /// The mutex's lock word, made to wake this process's waiter: a
    /// holder's unlock wakes a sleeper only if the word carries the waiters
    /// bit, so it is set here (as a glibc locker does before it sleeps).
    fn watch_unlock(&self) -> Watch {
        let word = self.lock_word();
        let lock = word.get();
        let mut seen = lock.load(Ordering::SeqCst);
        while seen & sys::MUTEX_HOLDER != 0 && seen & sys::MUTEX_WAITERS == 0 {
            match lock.compare_exchange(
                seen,
                seen | sys::MUTEX_WAITERS,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => seen |= sys::MUTEX_WAITERS,
                Err(now) => seen = now,
            }
        }
        // Seen held, the word carries the waiters bit: its holder's unlock
        // wakes. Seen free, the attempt's failure means someone took it
        // since, and may free it again without a wake-up: look again.
        let settled = seen & sys::MUTEX_HOLDER != 0;
        Watch { word, seen, counter: None, settled }
    }

    /// The robust mutex's lock word (the first word of the payload).
    fn lock_word(&self) -> SharedWord {
        self.segment.shared_word(0)
    }

    /// [`acquire`](Self::acquire) with a guard that holds the handle itself
    /// (for keeping the lock in a struct, or past the borrow's scope).
    pub fn acquire_owned(self: &Arc<Self>) -> Result<OwnedLockGuard> {
        self.acquire().map(|guard| self.owned(guard))
    }

    /// [`try_acquire`](Self::try_acquire) with an owned guard.
    pub fn try_acquire_owned(self: &Arc<Self>) -> Result<OwnedLockGuard, TryAcquireError> {
        self.try_acquire().map(|guard| self.owned(guard))
    }

    /// [`acquire_timeout`](Self::acquire_timeout) with an owned guard.
    pub fn acquire_owned_timeout(
        self: &Arc<Self>,
        timeout: Duration,
    ) -> Result<OwnedLockGuard, TimeoutError> {
        self.acquire_timeout(timeout).map(|guard| self.owned(guard))
    }

    /// [`acquire_deadline`](Self::acquire_deadline) with an owned guard.
    pub fn acquire_owned_deadline(
        self: &Arc<Self>,
        deadline: Instant,
    ) -> Result<OwnedLockGuard, TimeoutError> {
        self.acquire_deadline(deadline).map(|guard| self.owned(guard))
    }

    /// Turns a borrowed guard into an owned one; the lock stays held, and
    /// `release` stays refused while the owned guard lives.
    fn owned(self: &Arc<Self>, guard: LockGuard<'_>) -> OwnedLockGuard {
        let previous_owner_died = guard.previous_owner_died;
        std::mem::forget(guard); // keeps `guard_thread` set: the owned guard holds it now
        OwnedLockGuard { lock: self.clone(), previous_owner_died, _not_send: PhantomData }
    }

    /// Releases a lock the calling thread holds without a guard (see
    /// [`LockGuard::keep`]); [`Error::NotOwner`] if it does not hold it,
    /// [`Error::GuardAlive`] if it holds it through a live guard of this
    /// handle (drop the guard instead).
    #[inline]
    pub fn release(&self) -> Result<()> {
        if self.guard_thread.load(Ordering::Relaxed) == thread_token() {
            return Err(Error::GuardAlive { id: self.id().to_string() });
        }
        self.unlock()
    }

    #[inline]
    fn unlock(&self) -> Result<()> {
        // SAFETY: as in lock_with.
        match unsafe { sys::mutex_unlock(self.mutex()) } {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                Err(Error::NotOwner { id: self.id().to_string() })
            }
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Err(Error::Corrupt {
                id: self.id().to_string(),
                reason: "glibc calls it an invalid mutex (EINVAL)".into(),
            }),
            Err(source) => Err(Error::Io { what: "unlocking", id: self.id().to_string(), source }),
        }
    }

    /// Removes the lock's name now (only the creating handle may); handles that
    /// have it open keep working.
    pub fn delete(mut self) -> Result<()> {
        self.segment.unlink()
    }
}

impl LockGuard<'_> {
    /// Whether the previous holder died holding the lock: the data it guarded
    /// may be half-updated.
    pub fn previous_owner_died(&self) -> bool {
        self.previous_owner_died
    }

    /// Keeps the lock held after the guard is gone; release it with
    /// [`Lock::release`] from this thread (the seed's `acquire_lock` style).
    pub fn keep(self) {
        self.lock.guard_thread.store(0, Ordering::Relaxed);
        std::mem::forget(self);
    }
}

/// A [`LockGuard`] that owns its handle (`Arc<Lock>`): from
/// [`Lock::acquire_owned`] and its sibling forms. Not `Send`, like the
/// borrowed guard: the thread that took the lock releases it.
#[derive(Debug)]
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedLockGuard {
    lock: Arc<Lock>,
    previous_owner_died: bool,
    _not_send: PhantomData<*const ()>,
}

impl OwnedLockGuard {
    /// Whether the previous holder died holding the lock.
    pub fn previous_owner_died(&self) -> bool {
        self.previous_owner_died
    }

    /// The lock this guard holds.
    pub fn lock(&self) -> &Arc<Lock> {
        &self.lock
    }
}

impl Drop for OwnedLockGuard {
    fn drop(&mut self) {
        self.lock.guard_thread.store(0, Ordering::Relaxed);
        let _ = self.lock.unlock();
    }
}

impl Drop for LockGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.lock.guard_thread.store(0, Ordering::Relaxed);
        // Cannot fail for the holding thread of a valid mutex.
        let _ = self.lock.unlock();
    }
}

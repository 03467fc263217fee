//! A named manual-reset event: set wakes every waiter in every process.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::futures::{Pending, Watch};
use crate::id::ObjectId;
use crate::segment::{Kind, PayloadSize, Segment};
use crate::spin::Spinner;
use crate::sys::{self, Wake};
use crate::wait::Wait;

const CLEAR: u32 = 0;
const SET: u32 = 1;
/// Offsets in the payload: the flag, and how many waiters sleep on it.
const FLAG: usize = 0;
const SLEEPERS: usize = 4;
/// Longest single sleep: bounds the delay if the sleepers count was
/// written wrong (by a waiter killed mid-count, or by anyone), so that a
/// `set` skipped its wake-up.
const MAX_SLEEP: Duration = Duration::from_millis(100);

/// A manual-reset event over a futex word in shared memory.
///
/// Waiters spin briefly, then sleep counted in a second word, so a `set`
/// with nobody asleep makes no system call. A waiter killed while asleep
/// leaves the count high, which only costs later `set`s a wake-up call.
#[derive(Debug)]
pub struct Event {
    segment: Segment,
    /// How long this process spins for the flag before it sleeps.
    spinner: Spinner,
}

impl Event {
    /// Creates a cleared event with a generated id.
    pub fn create() -> Result<Event> {
        Event::create_with_id(ObjectId::generate("event")?)
    }

    /// Creates a cleared event with the caller's id; fails if the id exists.
    pub fn create_with_id(id: ObjectId) -> Result<Event> {
        // The zero-filled payload is a cleared flag.
        Ok(Event {
            segment: Segment::create(id, Kind::Event, 0, 8, |_| Ok(()))?,
            spinner: Spinner::default(),
        })
    }

    /// Opens the event `id`, creating it (cleared) if nobody has (see
    /// [`Queue::open_or_create`](crate::Queue::open_or_create) for who owns the name).
    pub fn open_or_create(id: &ObjectId) -> Result<Event> {
        crate::segment::open_or_create(|| Event::create_with_id(id.clone()), || Event::open(id))
    }

    /// Opens an existing event by id.
    pub fn open(id: &ObjectId) -> Result<Event> {
        Ok(Event {
            segment: Segment::open(id, Kind::Event, PayloadSize::Exactly(8))?,
            spinner: Spinner::default(),
        })
    }

    /// The event's id.
    pub fn id(&self) -> &ObjectId {
        self.segment.id()
    }

    fn flag(&self) -> &std::sync::atomic::AtomicU32 {
        self.segment.atomic_u32(FLAG)
    }

    fn sleepers(&self) -> &std::sync::atomic::AtomicU32 {
        self.segment.atomic_u32(SLEEPERS)
    }

    /// Sets the event and wakes every waiter.
    pub fn set(&self) {
        // SeqCst against the waiter's count-then-sleep: either it sees the
        // flag set in the futex call, or this sees it counted.
        if self.flag().swap(SET, Ordering::SeqCst) != SET
            && self.sleepers().load(Ordering::SeqCst) > 0
        {
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
        let mut pending = Pending::spinning(&self.spinner);
        std::future::poll_fn(move |cx| {
            // A set then cleared between two looks is missed, as by a
            // blocking wait: the event is a level, not a count.
            let watch = || {
                Watch::settled(
                    self.segment.shared_word(FLAG),
                    self.flag().load(Ordering::SeqCst),
                    Some(self.segment.shared_word(SLEEPERS)),
                )
            };
            let attempt = || match self.state() {
                Ok(true) => Some(Ok(())),
                Ok(false) => None,
                Err(e) => Some(Err(e)),
            };
            pending.poll(cx, self.id(), watch, attempt)
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
            if self.spinner.spin_while(self.flag(), CLEAR) {
                continue;
            }
            let sleep = wait.remaining().map_or(MAX_SLEEP, |left| left.min(MAX_SLEEP));
            self.sleepers().fetch_add(1, Ordering::SeqCst);
            let woke = sys::futex_wait(self.flag(), CLEAR, Some(sleep));
            self.sleepers().fetch_sub(1, Ordering::SeqCst);
            if woke == Wake::TimedOut && wait.expired() {
                return self.state();
            }
        }
    }

    /// Removes the event's name now; open handles keep working.
    pub fn delete(mut self) -> Result<()> {
        self.segment.unlink()
    }
}

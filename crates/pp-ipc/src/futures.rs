//! What every async wait of pp-ipc shares: try the object, and if it is not
//! ready, register its futex word with the waiter thread (`waiter.rs`).
//!
//! Cancel safety: an attempt takes from the object (an item, a permit, the
//! lock) only inside `poll`, and that same `poll` returns what it took. A
//! future dropped at any other point has taken nothing, so dropping it
//! loses nothing; a wake-up it was given and did not use is passed on to
//! another waiter.

use std::task::{Context, Poll};

use crate::error::{Error, Result};
use crate::id::ObjectId;
use crate::segment::SharedWord;
use crate::spin::Spinner;
use crate::sys;
use crate::waiter::{self, Registration};

/// The word an attempt's failure is waited out on, read *before* the
/// attempt: a change between the read and the registration then wakes the
/// future at once instead of being missed.
#[derive(Debug)]
pub(crate) struct Watch {
    pub(crate) word: SharedWord,
    pub(crate) seen: u32,
    /// A shared count of waiters that wakers look at before waking.
    pub(crate) counter: Option<SharedWord>,
    /// Whether `seen` is a state a change of which is always announced
    /// with a wake-up. A lock word seen free is not: a locker could take
    /// and free it again between the look and the attempt, leaving the same
    /// value and no wake-up behind, so the future looks again instead.
    pub(crate) settled: bool,
}

impl Watch {
    /// A word whose every change that matters comes with a wake-up.
    pub(crate) fn settled(word: SharedWord, seen: u32, counter: Option<SharedWord>) -> Watch {
        Watch { word, seen, counter, settled: true }
    }
}

/// How often one poll looks again at an object (its word was not settled,
/// or changed during a spin) before it lets the executor run something else.
const LOOKS_PER_POLL: u32 = 64;

/// The state of one async wait.
#[derive(Debug, Default)]
pub(crate) struct Pending<'a> {
    registration: Option<Registration>,
    /// Whether it ever registered: the object was contended.
    waited: bool,
    /// The object's spin budget, for objects whose other side often
    /// answers within microseconds (queues, events): a short spin in `poll`
    /// saves the trip through the waiter thread.
    spinner: Option<&'a Spinner>,
    /// A word whose wake-up this wait used (it was woken, looked, and has
    /// not yet taken nor registered again): if it ends without taking (an
    /// error, or dropped), that wake-up may have been another sleeper's,
    /// so it passes one on.
    owes_wake: Option<SharedWord>,
    /// Completed: polled again, it takes nothing more.
    done: bool,
}

impl<'a> Pending<'a> {
    /// A wait that spins briefly (by `spinner`'s budget) before registering.
    pub(crate) fn spinning(spinner: &'a Spinner) -> Pending<'a> {
        let mut pending = Pending::default();
        pending.spinner = Some(spinner);
        pending
    }

    /// One poll of the object `id`: `watch` reads the word, `attempt` tries
    /// the object (`Some` when done, successfully or not). Polled again
    /// after it completed, it stays pending.
    pub(crate) fn poll<T>(
        &mut self,
        cx: &mut Context<'_>,
        id: &ObjectId,
        mut watch: impl FnMut() -> Watch,
        mut attempt: impl FnMut() -> Option<Result<T>>,
    ) -> Poll<Result<T>> {
        if self.done {
            return Poll::Pending;
        }
        if let Some(registration) = &self.registration
            && registration.still_waiting(cx.waker())
        {
            // A spurious poll (a `select!` sibling woke): nothing changed.
            return Poll::Pending;
        }
        if let Some(registration) = self.registration.take() {
            self.owes_wake = Some(registration.handled());
        }
        let mut looks = 0;
        let watch = loop {
            let watch = watch();
            match attempt() {
                Some(Ok(taken)) => {
                    self.owes_wake = None;
                    self.done = true;
                    return Poll::Ready(Ok(taken));
                }
                Some(Err(error)) => {
                    self.pass_on_wake();
                    self.done = true;
                    return Poll::Ready(Err(error));
                }
                None => {}
            }
            let look_again = match (watch.settled, self.spinner) {
                // One spin per poll: an executor thread is not held longer.
                (true, Some(spinner)) if looks == 0 => {
                    spinner.spin_while(watch.word.get(), watch.seen)
                }
                (true, _) => false,
                (false, _) => {
                    std::hint::spin_loop();
                    true
                }
            };
            if !look_again {
                break watch;
            }
            looks += 1;
            if looks == LOOKS_PER_POLL {
                // Contended hard: come back after the executor's other work.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        };
        match waiter::register(watch.word, watch.seen, watch.counter, cx.waker()) {
            Ok(registration) => {
                self.registration = Some(registration);
                self.owes_wake = None;
                self.waited = true;
                Poll::Pending
            }
            Err(source) => {
                self.pass_on_wake();
                self.done = true;
                Poll::Ready(Err(Error::Io {
                    what: "starting the async waiter thread",
                    id: id.to_string(),
                    source,
                }))
            }
        }
    }

    /// Whether this wait ever had to register (the object was contended).
    pub(crate) fn waited(&self) -> bool {
        self.waited
    }

    fn pass_on_wake(&mut self) {
        if let Some(word) = self.owes_wake.take() {
            sys::futex_wake(word.get(), 1);
        }
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.pass_on_wake();
    }
}

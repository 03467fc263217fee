//! What every async wait of pp-ipc shares: try the object, and if it is not
//! ready, register its futex word with the waiter thread (`waiter.rs`).
//!
//! Cancel safety: an attempt takes from the object (an item, a permit, the
//! lock) only inside `poll`, and that same `poll` returns what it took. A
//! future dropped at any other point has taken nothing, so dropping it
//! loses nothing; a wake-up it was given and did not use is passed on to
//! another waiter.

use std::task::{Context, Poll};

use crate::segment::SharedWord;
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

/// How often one poll looks again at an object whose word was not settled
/// before it lets the executor run something else.
const UNSETTLED_TRIES: u32 = 64;

/// The state of one async wait.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    registration: Option<Registration>,
    /// Whether it ever registered: the object was contended.
    waited: bool,
}

impl Pending {
    /// One poll: `watch` reads the word, `attempt` tries the object
    /// (`Some` when done, successfully or not). The error is the waiter
    /// thread's failure to start.
    pub(crate) fn poll<T>(
        &mut self,
        cx: &mut Context<'_>,
        mut watch: impl FnMut() -> Watch,
        mut attempt: impl FnMut() -> Option<T>,
    ) -> Poll<std::io::Result<T>> {
        if let Some(registration) = &self.registration
            && registration.still_waiting(cx.waker())
        {
            // A spurious poll (a `select!` sibling woke): nothing changed.
            return Poll::Pending;
        }
        if let Some(registration) = self.registration.take() {
            registration.handled();
        }
        let mut tries = 0;
        let watch = loop {
            let watch = watch();
            if let Some(done) = attempt() {
                return Poll::Ready(Ok(done));
            }
            if watch.settled {
                break watch;
            }
            tries += 1;
            if tries == UNSETTLED_TRIES {
                // Contended hard: come back after the executor's other work.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            std::hint::spin_loop();
        };
        match waiter::register(watch.word, watch.seen, watch.counter, cx.waker()) {
            Ok(registration) => {
                self.registration = Some(registration);
                self.waited = true;
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// Whether this wait ever had to register (the object was contended).
    pub(crate) fn waited(&self) -> bool {
        self.waited
    }
}

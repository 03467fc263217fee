//! Waking async tasks that wait for a streamed pipe, on any executor.
//!
//! A task that finds a pipe empty (or full) leaves its `Waker` here and
//! arms the pipe, once (`EPOLLONESHOT`), in one epoll instance watched by
//! one thread, `pp-process-io`, started at the first such wait. When the
//! pipe becomes ready that thread wakes the task, which then reads or
//! writes the pipe itself. The reactor is not involved: it never waits for
//! a consumer.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::Waker;

use crate::sys::{self, Direction};

/// The epoll instance and the wakers of the tasks waiting on it.
struct Readiness {
    epoll: OwnedFd,
    wakers: Mutex<HashMap<u64, Waker>>,
    next_token: AtomicU64,
}

impl Readiness {
    fn wakers(&self) -> MutexGuard<'_, HashMap<u64, Waker>> {
        // Every change to the map is one call: a panic cannot leave it half-done.
        self.wakers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn readiness() -> io::Result<&'static Readiness> {
    static READINESS: OnceLock<Result<Readiness, String>> = OnceLock::new();
    READINESS
        .get_or_init(|| {
            let start = || -> io::Result<Readiness> {
                let readiness = Readiness {
                    epoll: sys::epoll_create()?,
                    wakers: Mutex::new(HashMap::new()),
                    next_token: AtomicU64::new(0),
                };
                std::thread::Builder::new().name("pp-process-io".into()).spawn(watch)?;
                Ok(readiness)
            };
            start().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|reason| {
            io::Error::other(format!(
                "the thread that wakes pipe readers failed to start: {reason}"
            ))
        })
}

/// The `pp-process-io` thread: wakes the task of each pipe that turns ready.
fn watch() {
    // `readiness()` is being initialized by the thread that spawned this
    // one; `get` would race it, so wait for the value through the lock.
    let Ok(readiness) = readiness() else { return };
    let mut events = Vec::with_capacity(64);
    loop {
        if let Err(e) = sys::epoll_wait(&readiness.epoll, &mut events, None) {
            // Fails only for a bad epoll descriptor or buffer (EINTR is
            // retried below it): not a state to spin in; try again shortly.
            tracing::error!(error = %e, "epoll_wait failed");
            std::thread::sleep(std::time::Duration::from_millis(10));
            continue;
        }
        let ready: Vec<Waker> = {
            let mut wakers = readiness.wakers();
            events.iter().filter_map(|event| wakers.remove(&event.data.u64())).collect()
        };
        // Woken outside the lock: a waker may poll its task at once.
        // A waker that panics (executor code) must not end this thread,
        // which every other pipe wait relies on.
        for waker in ready {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake()));
        }
    }
}

/// One pipe end's place in the watch: its token, and whether epoll knows it.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    token: Option<u64>,
    added: bool,
}

impl Watch {
    /// Wakes `waker` once `fd` is ready in `direction` (at once if it already is).
    pub(crate) fn arm(
        &mut self,
        fd: impl AsFd,
        direction: Direction,
        waker: &Waker,
    ) -> io::Result<()> {
        let readiness = readiness()?;
        let token =
            *self.token.get_or_insert_with(|| readiness.next_token.fetch_add(1, Ordering::Relaxed));
        // The waker is in place before the pipe is armed, so an event cannot
        // miss it. The one it replaces is dropped outside the lock: a last
        // reference to a task may drop a future whose reader comes back here.
        let replaced = readiness.wakers().insert(token, waker.clone());
        drop(replaced);
        match sys::epoll_arm_once(&readiness.epoll, fd, token, direction.epoll_flags(), self.added)
        {
            Ok(()) => {
                self.added = true;
                Ok(())
            }
            Err(e) => {
                let removed = readiness.wakers().remove(&token);
                drop(removed);
                Err(e)
            }
        }
    }

    /// Takes the pipe out of the watch (before it is closed) and drops its waker.
    pub(crate) fn forget(&mut self, fd: impl AsFd) {
        // Never armed: nothing to undo (and no thread to start for it).
        let Some(token) = self.token else { return };
        let Ok(readiness) = readiness() else { return };
        let removed = readiness.wakers().remove(&token);
        drop(removed);
        if self.added {
            sys::epoll_delete(&readiness.epoll, fd);
            self.added = false;
        }
    }
}

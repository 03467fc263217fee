//! Awaiting a process from async code, on any executor: [`WaitFuture`] and
//! [`RunFuture`].
//!
//! A pending wait costs no thread: its task's `Waker` sits in the process's
//! shared state, and the event loop that already watches the process wakes
//! it when it records the end ([`Shared::finish`](crate::shared::Shared)).
//! Waiting with a limit is the executor's job (e.g. `tokio::time::timeout`
//! over the future).

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::command::Command;
use crate::error::Result;
use crate::handle::ProcessHandle;
use crate::types::ProcessOutput;

/// Waits for a process to finish: the async form of [`ProcessHandle::wait`],
/// with the same result. Made by [`ProcessHandle::wait_async`] or by
/// `.await` on a handle.
///
/// Dropping it cancels the wait only: the process runs on and the handle
/// stays usable (the future holds a clone of it, so with
/// [`Command::kill_on_drop`] the process is not stopped while it waits).
#[must_use = "a future does nothing unless awaited"]
#[derive(Debug)]
pub struct WaitFuture {
    handle: ProcessHandle,
    /// This future's place in the process's waker list, once it has one.
    token: Option<u64>,
}

impl WaitFuture {
    fn new(handle: ProcessHandle) -> WaitFuture {
        WaitFuture { handle, token: None }
    }
}

impl Future for WaitFuture {
    type Output = Result<Arc<ProcessOutput>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut state = this.handle.shared.lock();
        if state.status.is_finished() {
            // `finish` took the waker list with it.
            this.token = None;
            return Poll::Ready(this.handle.result_of(&state));
        }
        // Checked and registered under one lock: `finish` cannot slip between.
        this.token = Some(state.wakers.register(this.token, cx.waker()));
        Poll::Pending
    }
}

impl Drop for WaitFuture {
    fn drop(&mut self) {
        if let Some(token) = self.token {
            self.handle.shared.lock().wakers.remove(token);
        }
    }
}

impl ProcessHandle {
    /// Waits until the process has finished, from async code: the form of
    /// [`wait`](Self::wait) that yields instead of blocking, on any executor.
    ///
    /// No thread waits for it: the reactor thread that watches every
    /// process wakes the task. To give up after a while, wrap the future in
    /// your runtime's timer (`tokio::time::timeout(limit, handle.wait_async())`);
    /// the process runs on after a timeout, so stop it
    /// ([`terminate`](Self::terminate), [`kill`](Self::kill)) if it should not.
    pub fn wait_async(&self) -> WaitFuture {
        // As `wait`: a piped stdin nobody took is closed first.
        self.pipes.close_untaken_stdin();
        WaitFuture::new(self.clone())
    }
}

/// `handle.await` is `handle.wait_async().await`.
impl IntoFuture for ProcessHandle {
    type Output = Result<Arc<ProcessOutput>>;
    type IntoFuture = WaitFuture;

    fn into_future(self) -> WaitFuture {
        WaitFuture::new(self)
    }
}

/// Runs a command to completion from async code: the async form of
/// [`Command::run`], with the same result. Made by [`Command::run_async`].
///
/// The process starts at the first poll, on the reactor thread's watch (never
/// the blocking `run` path), and the future then waits as a [`WaitFuture`]
/// does. Dropping it after the start leaves the process running (it is
/// reaped) unless the command has [`Command::kill_on_drop`].
#[must_use = "a future does nothing unless awaited"]
#[derive(Debug)]
pub struct RunFuture {
    step: Step,
}

#[derive(Debug)]
enum Step {
    Start(Box<Command>),
    Wait(WaitFuture),
    Done,
}

impl Future for RunFuture {
    type Output = Result<ProcessOutput>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Step::Start(cmd) = &this.step {
            // Starting is short and synchronous, as `std` and tokio's spawn are.
            match cmd.spawn() {
                Ok(handle) => {
                    // Nobody can take this handle's piped ends: close them.
                    handle.pipes.close();
                    this.step = Step::Wait(WaitFuture::new(handle));
                }
                Err(e) => {
                    this.step = Step::Done;
                    return Poll::Ready(Err(e));
                }
            }
        }
        let Step::Wait(wait) = &mut this.step else {
            // Polled again after Ready: a caller's bug, answered without a panic.
            return Poll::Pending;
        };
        let result = match Pin::new(&mut *wait).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        // Nobody else holds this handle: take the output out instead of copying it.
        wait.handle.shared.lock().output = None;
        this.step = Step::Done;
        Poll::Ready(result.map(|output| Arc::try_unwrap(output).unwrap_or_else(|o| (*o).clone())))
    }
}

impl Command {
    /// Runs the command to completion from async code, on any executor:
    /// the async form of [`run`](Self::run), with the same result.
    ///
    /// The process starts when the future is first polled; no thread waits
    /// for it (see [`ProcessHandle::wait_async`]). A limit is either the
    /// command's [`timeout`](Self::timeout) (the tree is stopped,
    /// [`Error::Timeout`](crate::Error::Timeout)) or the runtime's timer
    /// around the future (the process runs on unless
    /// [`kill_on_drop`](Self::kill_on_drop)).
    pub fn run_async(&self) -> RunFuture {
        RunFuture { step: Step::Start(Box::new(self.clone())) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn dropped_futures_leave_no_waker_behind() {
        let handle = Command::new("sleep").arg("60").spawn().unwrap();
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..10_000 {
            let mut wait = handle.wait_async();
            assert!(Pin::new(&mut wait).poll(&mut cx).is_pending());
            assert!(Pin::new(&mut wait).poll(&mut cx).is_pending(), "a re-poll reuses its entry");
            assert_eq!(handle.shared.lock().wakers.len(), 1);
        }
        assert_eq!(handle.shared.lock().wakers.len(), 0, "every dropped future took its waker");
        handle.kill().unwrap();
    }
}

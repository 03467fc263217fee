//! Awaiting a task's result: futures over a task's cell, for any executor.
//!
//! A pending future is only a waker stored in the task's cell, which the
//! task's `finish` wakes: no thread waits for it.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::TaskError;
use crate::task::{TaskHandle, WakerSlot, clone_outcome, take_outcome};

/// The future of [`TaskHandle::result_async`]: the task's value (a clone),
/// or why there is none, once the task has finished.
///
/// Cancel-safe: dropping it before it is ready removes its waker and
/// nothing else. The task goes on (call [`TaskHandle::cancel`] to stop it)
/// and its result stays for [`TaskHandle::result`] or another await.
#[must_use = "a future does nothing unless it is awaited or polled"]
pub struct ResultFuture<R> {
    handle: TaskHandle<R>,
    slot: WakerSlot,
}

/// The future of [`TaskHandle::take_result_async`] (and of awaiting a
/// [`TaskHandle`] itself): the task's value, moved out, or why there is none.
///
/// Cancel-safe: the value is moved out only by the poll that returns it, so
/// dropping the future before it is ready loses nothing. It removes its waker
/// and nothing else; the task goes on (call [`TaskHandle::cancel`] to stop
/// it) and its value stays for [`TaskHandle::take_result`] or another await.
#[must_use = "a future does nothing unless it is awaited or polled"]
pub struct TakeResultFuture<R> {
    handle: TaskHandle<R>,
    slot: WakerSlot,
}

impl<R: Clone> TaskHandle<R> {
    /// [`result`](Self::result) for async code, on any executor: resolves to
    /// the task's value (a clone) or why there is none, once it has finished.
    /// A pending await costs no thread: the task's end wakes the future.
    /// For a time limit, use your runtime's timer (e.g. `tokio::time::timeout`);
    /// see [`ResultFuture`] for what dropping it does (nothing to the task).
    pub fn result_async(&self) -> ResultFuture<R> {
        ResultFuture { handle: self.clone(), slot: WakerSlot::default() }
    }
}

impl<R> TaskHandle<R> {
    /// [`take_result`](Self::take_result) for async code, on any executor:
    /// resolves to the task's value, moved out (a second taker gets
    /// [`ResultTaken`](crate::TaskErrorKind::ResultTaken)), or why there is
    /// none. A pending await costs no thread. Awaiting the handle itself
    /// (`handle.await`) does the same. See [`TakeResultFuture`] for what
    /// dropping it does (nothing to the task or its value).
    pub fn take_result_async(&self) -> TakeResultFuture<R> {
        TakeResultFuture { handle: self.clone(), slot: WakerSlot::default() }
    }
}

/// `handle.await` is [`TaskHandle::take_result_async`].
impl<R> IntoFuture for TaskHandle<R> {
    type Output = Result<R, TaskError>;
    type IntoFuture = TakeResultFuture<R>;

    fn into_future(self) -> TakeResultFuture<R> {
        TakeResultFuture { handle: self, slot: WakerSlot::default() }
    }
}

impl<R: Clone> Future for ResultFuture<R> {
    type Output = Result<R, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let cell = this.handle.cell();
        cell.poll_outcome(&mut this.slot, cx.waker(), |outcome| clone_outcome(cell.id, outcome))
    }
}

impl<R> Future for TakeResultFuture<R> {
    type Output = Result<R, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let cell = this.handle.cell();
        cell.poll_outcome(&mut this.slot, cx.waker(), |outcome| take_outcome(cell.id, outcome))
    }
}

impl<R> Drop for ResultFuture<R> {
    fn drop(&mut self) {
        self.handle.cell().forget_waker(&mut self.slot);
    }
}

impl<R> Drop for TakeResultFuture<R> {
    fn drop(&mut self) {
        self.handle.cell().forget_waker(&mut self.slot);
    }
}

impl<R> fmt::Debug for ResultFuture<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResultFuture").field("task", &self.handle).finish()
    }
}

impl<R> fmt::Debug for TakeResultFuture<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TakeResultFuture").field("task", &self.handle).finish()
    }
}

//! Task ids, statuses and handles, shared by both pools.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use crate::error::{TaskError, TaskErrorKind};
use crate::id::TaskId;

/// Polls of a finished flag before a waiter sleeps: half spins, half yields.
const SPIN_ROUNDS: u32 = 200;

/// Where a task is in its life. (De)serialized by variant name (`"Pending"`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum TaskStatus {
    /// Waiting for a worker.
    Pending,
    /// A worker is running it.
    Running,
    /// It returned a value.
    Completed,
    /// It panicked, or its argument or result could not be (de)serialized.
    Failed,
    /// It was cancelled.
    Cancelled,
    /// It ran past its timeout and was stopped.
    TimedOut,
    /// Its worker process died under it.
    WorkerDied,
}

impl TaskStatus {
    /// Whether the task has finished, one way or another.
    pub fn is_finished(self) -> bool {
        !matches!(self, TaskStatus::Pending | TaskStatus::Running)
    }

    fn of<R>(outcome: &Result<R, TaskError>) -> TaskStatus {
        match outcome {
            Ok(_) => TaskStatus::Completed,
            Err(error) => match error.kind {
                TaskErrorKind::Cancelled => TaskStatus::Cancelled,
                TaskErrorKind::TaskTimedOut { .. } => TaskStatus::TimedOut,
                TaskErrorKind::WorkerDied { .. } => TaskStatus::WorkerDied,
                _ => TaskStatus::Failed,
            },
        }
    }
}

/// What a process-pool task printed, with [`WorkerOutput::CapturePerTask`](crate::WorkerOutput::CapturePerTask).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CapturedOutput {
    /// Bytes written to stdout while the task ran.
    pub stdout: Vec<u8>,
    /// Bytes written to stderr while the task ran.
    pub stderr: Vec<u8>,
}

/// A cooperative cancellation flag handed to thread-pool tasks.
#[derive(Clone)]
pub struct CancelToken(Arc<dyn Flag>);

/// Something holding a task's cell (the cell itself, or a job embedding it),
/// so one allocation serves the task, its handle and its token.
pub(crate) trait AsCell<R>: Send + Sync {
    fn cell(&self) -> &TaskCell<R>;

    /// Requests cancellation ([`TaskCell::cancel`]); a holder whose pool
    /// must act on a running task's cancel (a process pool) also wakes it.
    fn cancel(&self) -> CancelOutcome {
        self.cell().cancel()
    }
}

impl<R: Send> AsCell<R> for TaskCell<R> {
    fn cell(&self) -> &TaskCell<R> {
        self
    }
}

/// Where a token's flag lives.
pub(crate) trait Flag: Send + Sync {
    fn flag(&self) -> &AtomicBool;
}

impl<R: Send> Flag for TaskCell<R> {
    fn flag(&self) -> &AtomicBool {
        &self.cancelled
    }
}

impl CancelToken {
    pub(crate) fn new(flag: Arc<dyn Flag>) -> CancelToken {
        CancelToken(flag)
    }

    /// Whether cancellation was requested: a running task should return soon.
    pub fn is_cancelled(&self) -> bool {
        self.0.flag().load(Ordering::Acquire)
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CancelToken").field(&self.is_cancelled()).finish()
    }
}

#[derive(Debug)]
struct State<R> {
    status: TaskStatus,
    outcome: Option<Result<R, TaskError>>,
    /// Threads blocked in `wait`: `finish` wakes (a system call) only when there are some.
    waiters: usize,
    /// Futures awaiting the task, by slot (`None`: a slot freed by a dropped
    /// future, for the next to reuse). `finish` takes them all and wakes them.
    wakers: Vec<Option<Waker>>,
}

/// Where one future's waker is registered in its task's cell, if it is.
#[derive(Debug, Default)]
pub(crate) struct WakerSlot(Option<usize>);

/// What a task's handle, its pool and its worker share.
#[derive(Debug)]
pub(crate) struct TaskCell<R> {
    pub(crate) id: TaskId,
    cancelled: AtomicBool,
    /// Mirrors `state.status.is_finished()` for waiters polling without the lock.
    finished: AtomicBool,
    pub(crate) timeout: Option<Duration>,
    captured: std::sync::OnceLock<CapturedOutput>,
    state: Mutex<State<R>>,
    done: Condvar,
}

impl<R> TaskCell<R> {
    #[cfg(test)] // both pools embed their cells; tests make one on its own
    pub(crate) fn new(timeout: Option<Duration>) -> Arc<TaskCell<R>> {
        Arc::new(TaskCell::unshared(timeout))
    }

    /// A cell to embed in a larger shared allocation.
    pub(crate) fn unshared(timeout: Option<Duration>) -> TaskCell<R> {
        TaskCell {
            id: TaskId::generate(),
            cancelled: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            timeout,
            captured: std::sync::OnceLock::new(),
            state: Mutex::new(State {
                status: TaskStatus::Pending,
                outcome: None,
                waiters: 0,
                wakers: Vec::new(),
            }),
            done: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<R>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn status(&self) -> TaskStatus {
        self.lock().status
    }

    /// Records what the task printed (before its outcome, so it is there once finished).
    pub(crate) fn set_captured(&self, captured: CapturedOutput) {
        let _ = self.captured.set(captured);
    }

    /// Whether cancellation was requested.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Pending → Running; false if the task was cancelled meanwhile.
    pub(crate) fn start(&self) -> bool {
        let mut state = self.lock();
        if state.status != TaskStatus::Pending {
            return false;
        }
        state.status = TaskStatus::Running;
        true
    }

    /// Records the outcome, unless one was recorded already (a cancel).
    /// A cancel requested while running turns a late value into `Cancelled`.
    pub(crate) fn finish(&self, outcome: Result<R, TaskError>) {
        let mut state = self.lock();
        if state.status.is_finished() {
            return;
        }
        let outcome = match outcome {
            Ok(_) if self.is_cancelled() => Err(TaskError::new(self.id, TaskErrorKind::Cancelled)),
            other => other,
        };
        state.status = TaskStatus::of(&outcome);
        state.outcome = Some(outcome);
        self.finished.store(true, Ordering::Release);
        let wake = state.waiters > 0;
        // Wake outside the lock: a waker may poll its future at once, on this thread.
        let wakers = std::mem::take(&mut state.wakers);
        drop(state);
        if wake {
            self.done.notify_all();
        }
        wakers.into_iter().flatten().for_each(Waker::wake);
    }

    /// For a future: `read` the outcome if the task has finished (freeing
    /// `slot`), else register `waker` in `slot` (replacing the one there)
    /// for `finish` to wake. A pending poll allocates at most one slot.
    pub(crate) fn poll_outcome<T>(
        &self,
        slot: &mut WakerSlot,
        waker: &Waker,
        read: impl FnOnce(&mut Option<Result<R, TaskError>>) -> T,
    ) -> Poll<T> {
        let mut state = self.lock();
        if state.status.is_finished() {
            // `finish` took every registered waker; nothing to free.
            slot.0 = None;
            return Poll::Ready(read(&mut state.outcome));
        }
        if let Some(entry) = slot.0.and_then(|i| state.wakers.get_mut(i)) {
            // Polled again: keep the waker unless the executor handed another.
            if !entry.as_ref().is_some_and(|old| old.will_wake(waker)) {
                *entry = Some(waker.clone());
            }
            return Poll::Pending;
        }
        let i = match state.wakers.iter().position(Option::is_none) {
            Some(free) => {
                state.wakers[free] = Some(waker.clone());
                free
            }
            None => {
                state.wakers.push(Some(waker.clone()));
                state.wakers.len() - 1
            }
        };
        slot.0 = Some(i);
        Poll::Pending
    }

    /// For a future dropped before its task finished: forgets its waker, so
    /// nothing of it stays behind (the task and its outcome are untouched).
    pub(crate) fn forget_waker(&self, slot: &mut WakerSlot) {
        let Some(i) = slot.0.take() else { return };
        let mut state = self.lock();
        // After `finish` the list is empty: then there is nothing to forget.
        if let Some(entry) = state.wakers.get_mut(i) {
            *entry = None;
        }
        while state.wakers.last().is_some_and(Option::is_none) {
            state.wakers.pop();
        }
    }

    /// Records that the task failed as `kind` says (unless it finished already).
    pub(crate) fn fail(&self, kind: TaskErrorKind) {
        self.finish(Err(TaskError::new(self.id, kind)));
    }

    /// Requests cancellation: a pending task is cancelled at once (true); a
    /// running one is flagged (true) and the caller stops it; a finished one is left (false).
    pub(crate) fn cancel(&self) -> CancelOutcome {
        let state = self.lock();
        match state.status {
            TaskStatus::Pending => {
                drop(state);
                self.cancelled.store(true, Ordering::Release);
                self.fail(TaskErrorKind::Cancelled);
                CancelOutcome::WasPending
            }
            TaskStatus::Running => {
                self.cancelled.store(true, Ordering::Release);
                CancelOutcome::WasRunning
            }
            _ => CancelOutcome::AlreadyFinished,
        }
    }

    /// Waits as `wait` says; `Ok(None)` only for [`Wait::No`] on a task
    /// that has not finished.
    fn wait(&self, wait: Wait) -> Result<Option<MutexGuard<'_, State<R>>>, TaskError> {
        let mut state = self.lock();
        if state.status.is_finished() {
            return Ok(Some(state)); // the common case: no clock read
        }
        let (deadline, limit) = match wait {
            Wait::No => return Ok(None),
            Wait::Forever => (None, Duration::ZERO),
            Wait::Until { deadline, limit } => (Some(deadline), limit),
        };
        // A result often arrives within microseconds: poll briefly before
        // sleeping, since a sleeping waiter costs a wake-up on each side.
        drop(state);
        for round in 0..SPIN_ROUNDS {
            if self.finished.load(Ordering::Acquire) {
                break;
            }
            if round < SPIN_ROUNDS / 2 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        state = self.lock();
        while !state.status.is_finished() {
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Err(TaskError::new(self.id, TaskErrorKind::Timeout { waited: limit }));
            }
            state.waiters += 1;
            state = match deadline {
                None => self.done.wait(state).unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    self.done
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
            state.waiters -= 1;
        }
        Ok(Some(state))
    }
}

/// How long a call on a [`TaskHandle`] waits for the task to finish.
#[derive(Clone, Copy, Debug)]
enum Wait {
    /// Not at all.
    No,
    /// Until `deadline`; `limit` is what the caller asked for, for the error.
    Until { deadline: Instant, limit: Duration },
    /// As long as it takes.
    Forever,
}

impl Wait {
    /// A timeout too large to add to the clock waits as long as it takes.
    fn timeout(limit: Duration) -> Wait {
        match Instant::now().checked_add(limit) {
            Some(deadline) => Wait::Until { deadline, limit },
            None => Wait::Forever,
        }
    }

    fn deadline(deadline: Instant) -> Wait {
        Wait::Until { deadline, limit: deadline.saturating_duration_since(Instant::now()) }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CancelOutcome {
    WasPending,
    WasRunning,
    AlreadyFinished,
}

/// A handle to a submitted task: its id, status, result and cancellation.
pub struct TaskHandle<R> {
    task: Arc<dyn AsCell<R>>,
}

impl<R> Clone for TaskHandle<R> {
    fn clone(&self) -> Self {
        TaskHandle { task: self.task.clone() }
    }
}

impl<R> fmt::Debug for TaskHandle<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHandle")
            .field("id", &self.cell().id)
            .field("status", &self.status())
            .finish()
    }
}

impl<R> TaskHandle<R> {
    pub(crate) fn new(task: Arc<dyn AsCell<R>>) -> TaskHandle<R> {
        TaskHandle { task }
    }

    pub(crate) fn cell(&self) -> &TaskCell<R> {
        self.task.cell()
    }

    /// The task's id.
    pub fn id(&self) -> &TaskId {
        &self.cell().id
    }

    /// The task's status now.
    pub fn status(&self) -> TaskStatus {
        self.cell().status()
    }

    /// Cancels the task: a pending task is dropped; a running process-pool
    /// task is stopped by stopping its worker (which is replaced); a running
    /// thread-pool task sees its [`CancelToken`] set and its result becomes
    /// `Cancelled` once it returns. True unless the task had already finished.
    ///
    /// A quick process-pool task may already have been sent ahead to a worker
    /// (its status is then `running`): if it is not the one running, it still
    /// runs when its turn comes, and its value is discarded as `Cancelled`.
    pub fn cancel(&self) -> bool {
        // A running process task is stopped by its supervisor, which this
        // wakes; a running thread task sees its token.
        self.task.cancel() != CancelOutcome::AlreadyFinished
    }

    /// What the task printed, once finished, when its process pool captures
    /// output per task ([`WorkerOutput::CapturePerTask`](crate::WorkerOutput::CapturePerTask)).
    pub fn captured_output(&self) -> Option<&CapturedOutput> {
        self.cell().captured.get()
    }

    /// Waits until the task has finished, without taking its result.
    pub fn wait(&self) -> Result<TaskStatus, TaskError> {
        self.wait_as(Wait::Forever).and_then(|status| self.finished(status))
    }

    /// [`wait`](Self::wait), giving up after `limit` with [`TaskErrorKind::Timeout`].
    pub fn wait_timeout(&self, limit: Duration) -> Result<TaskStatus, TaskError> {
        self.wait_as(Wait::timeout(limit)).and_then(|status| self.finished(status))
    }

    /// [`wait`](Self::wait), giving up at `deadline` with [`TaskErrorKind::Timeout`].
    pub fn wait_deadline(&self, deadline: Instant) -> Result<TaskStatus, TaskError> {
        self.wait_as(Wait::deadline(deadline)).and_then(|status| self.finished(status))
    }

    /// The value of a wait that finished. (Only a wait that does not wait
    /// can end without a value; answer as a zero-length timeout anyway.)
    fn finished<T>(&self, value: Option<T>) -> Result<T, TaskError> {
        value.ok_or(TaskError::new(
            self.cell().id,
            TaskErrorKind::Timeout { waited: Duration::ZERO },
        ))
    }

    fn wait_as(&self, wait: Wait) -> Result<Option<TaskStatus>, TaskError> {
        Ok(self.cell().wait(wait)?.map(|state| state.status))
    }

    /// Waits for the task and takes its value out; a second call is
    /// [`TaskErrorKind::ResultTaken`]. For values that are `Clone`,
    /// [`result`](Self::result) can be called any number of times.
    pub fn take_result(&self) -> Result<R, TaskError> {
        self.take_as(Wait::Forever).and_then(|value| self.finished(value))
    }

    /// The value if the task has finished (taken out), `Ok(None)` if it has not.
    pub fn try_take_result(&self) -> Result<Option<R>, TaskError> {
        self.take_as(Wait::No)
    }

    /// [`take_result`](Self::take_result), giving up after `limit` with [`TaskErrorKind::Timeout`].
    pub fn take_result_timeout(&self, limit: Duration) -> Result<R, TaskError> {
        self.take_as(Wait::timeout(limit)).and_then(|value| self.finished(value))
    }

    /// [`take_result`](Self::take_result), giving up at `deadline` with [`TaskErrorKind::Timeout`].
    pub fn take_result_deadline(&self, deadline: Instant) -> Result<R, TaskError> {
        self.take_as(Wait::deadline(deadline)).and_then(|value| self.finished(value))
    }

    fn take_as(&self, wait: Wait) -> Result<Option<R>, TaskError> {
        let Some(mut state) = self.cell().wait(wait)? else { return Ok(None) };
        take_outcome(self.cell().id, &mut state.outcome).map(Some)
    }
}

impl<R: Clone> TaskHandle<R> {
    /// Waits for the task and returns its value (a clone) or why there is none.
    pub fn result(&self) -> Result<R, TaskError> {
        self.result_as(Wait::Forever).and_then(|value| self.finished(value))
    }

    /// The value if the task has finished, `Ok(None)` if it has not.
    pub fn try_result(&self) -> Result<Option<R>, TaskError> {
        self.result_as(Wait::No)
    }

    /// [`result`](Self::result), giving up after `limit` with [`TaskErrorKind::Timeout`].
    pub fn result_timeout(&self, limit: Duration) -> Result<R, TaskError> {
        self.result_as(Wait::timeout(limit)).and_then(|value| self.finished(value))
    }

    /// [`result`](Self::result), giving up at `deadline` with [`TaskErrorKind::Timeout`].
    pub fn result_deadline(&self, deadline: Instant) -> Result<R, TaskError> {
        self.result_as(Wait::deadline(deadline)).and_then(|value| self.finished(value))
    }

    fn result_as(&self, wait: Wait) -> Result<Option<R>, TaskError> {
        let Some(state) = self.cell().wait(wait)? else { return Ok(None) };
        clone_outcome(self.cell().id, &state.outcome).map(Some)
    }
}

/// A finished task's value, moved out (an error stays for the next reader);
/// [`TaskErrorKind::ResultTaken`] once it was.
pub(crate) fn take_outcome<R>(
    id: TaskId,
    outcome: &mut Option<Result<R, TaskError>>,
) -> Result<R, TaskError> {
    match outcome.take() {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => {
            *outcome = Some(Err(e.clone()));
            Err(e)
        }
        None => Err(TaskError::new(id, TaskErrorKind::ResultTaken)),
    }
}

/// A finished task's value, cloned; [`TaskErrorKind::ResultTaken`] if it was taken.
pub(crate) fn clone_outcome<R: Clone>(
    id: TaskId,
    outcome: &Option<Result<R, TaskError>>,
) -> Result<R, TaskError> {
    match outcome {
        Some(outcome) => outcome.clone(),
        None => Err(TaskError::new(id, TaskErrorKind::ResultTaken)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_task_cancels_at_once_and_a_late_value_is_discarded() {
        let cell = TaskCell::<u8>::new(None);
        assert_eq!(cell.cancel(), CancelOutcome::WasPending);
        assert_eq!(cell.status(), TaskStatus::Cancelled);
        assert!(!cell.start(), "a cancelled task never starts");
        cell.finish(Ok(1));
        assert_eq!(cell.status(), TaskStatus::Cancelled);

        let running = TaskCell::<u8>::new(None);
        assert!(running.start());
        assert_eq!(running.cancel(), CancelOutcome::WasRunning);
        running.finish(Ok(1));
        assert_eq!(running.status(), TaskStatus::Cancelled, "the value came after the cancel");
    }

    #[test]
    fn statuses_serialize_by_variant_name() {
        let all = [
            TaskStatus::Pending,
            TaskStatus::Running,
            TaskStatus::Completed,
            TaskStatus::Failed,
            TaskStatus::Cancelled,
            TaskStatus::TimedOut,
            TaskStatus::WorkerDied,
        ];
        for status in all {
            let text = serde_json::to_string(&status).unwrap();
            assert_eq!(text, format!("\"{status:?}\""));
            assert_eq!(serde_json::from_str::<TaskStatus>(&text).unwrap(), status);
        }
        assert!(serde_json::from_str::<TaskStatus>("\"worker_died\"").is_err());
    }

    struct CountingWaker(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Futures register one slot each (reused once freed); a forgotten one is
    /// not woken; `finish` wakes each registered waker once and keeps none.
    #[test]
    fn finish_wakes_each_registered_future_once_and_forgotten_ones_not_at_all() {
        let cell = TaskCell::<u8>::new(None);
        let counters: Vec<_> =
            (0..3).map(|_| Arc::new(CountingWaker(Default::default()))).collect();
        let wakers: Vec<Waker> = counters.iter().map(|c| Waker::from(c.clone())).collect();
        let mut slots: Vec<WakerSlot> = (0..3).map(|_| WakerSlot::default()).collect();
        for (slot, waker) in slots.iter_mut().zip(&wakers) {
            assert!(cell.poll_outcome(slot, waker, |_| ()).is_pending());
            assert!(cell.poll_outcome(slot, waker, |_| ()).is_pending(), "polled again");
        }
        assert_eq!(cell.lock().wakers.len(), 3, "one slot per future");
        cell.forget_waker(&mut slots[1]);
        assert_eq!(cell.lock().wakers.iter().flatten().count(), 2);
        let mut reused = WakerSlot::default();
        assert!(cell.poll_outcome(&mut reused, &wakers[1], |_| ()).is_pending());
        cell.forget_waker(&mut reused);
        cell.forget_waker(&mut slots[2]);
        assert_eq!(cell.lock().wakers.len(), 1, "trailing free slots are dropped");

        cell.finish(Ok(7));
        let woken: Vec<usize> = counters.iter().map(|c| c.0.load(Ordering::SeqCst)).collect();
        assert_eq!(woken, [1, 0, 0]);
        assert!(cell.lock().wakers.is_empty());
        let ready = cell.poll_outcome(&mut slots[0], &wakers[0], |o| o.clone());
        assert!(matches!(ready, Poll::Ready(Some(Ok(7)))));
        cell.forget_waker(&mut slots[0]);
    }

    /// Waiting on a task that has not finished (not ready, or timed out)
    /// allocates nothing: the error is a `Copy` task id and a `Duration`.
    #[test]
    fn waits_that_find_no_result_do_not_allocate() {
        let handle = TaskHandle::new(TaskCell::<String>::new(None));
        let past = Instant::now();
        let before = crate::counting_allocator::allocations();
        for _ in 0..10 {
            assert!(handle.try_result().unwrap().is_none());
            assert!(handle.try_take_result().unwrap().is_none());
            for error in [
                handle.result_timeout(Duration::from_millis(1)).unwrap_err(),
                handle.result_deadline(past).unwrap_err(),
                handle.take_result_timeout(Duration::ZERO).unwrap_err(),
                handle.wait_timeout(Duration::from_millis(1)).unwrap_err(),
            ] {
                assert!(matches!(error.kind, TaskErrorKind::Timeout { .. }));
            }
        }
        assert_eq!(crate::counting_allocator::allocations(), before);
    }
}

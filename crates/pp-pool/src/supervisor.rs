//! A process pool's supervisors, one thread per worker slot: each takes
//! tasks from the pool's queue, sends them to its worker, waits for the
//! answers, and replaces the worker when it is lost.
//!
//! While a task runs, a supervisor sleeps in one place: poll(2) on its
//! worker's socket and its [`Alarm`], with the running task's deadline as
//! the timeout. It wakes for the worker's answer; the worker's death (end of
//! file on the socket, or pp-process's exit callback ringing the alarm); a
//! cancel (`TaskHandle::cancel` rings every supervisor's alarm); a shutdown
//! that cancels; or the task's timeout. Nothing is polled on a timer.
//!
//! While tasks are quick, up to [`WINDOW`] are sent ahead (never more than a
//! fair share of the queue), so tiny tasks do not each wait for a round trip;
//! the worker runs them in order and answers each. The oldest unanswered
//! task is the one running. When the worker is lost (it died, or was
//! stopped for a cancel or timeout of the running task), that task alone
//! fails; the ones sent behind it go to the replacement worker.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError};

use crate::error::TaskErrorKind;
use crate::job::Job;
use crate::remote::WireOutcome;
use crate::shared::Shared;
use crate::sys::Alarm;
use crate::task::CapturedOutput;
use crate::transport::{FrameError, Received};
use crate::worker::FromWorker;
use crate::worker_process::{Exit, WorkerProcess};

/// Tasks sent ahead to one worker, at most.
const WINDOW: usize = 32;
/// A task this fast lets its supervisor send the next ones ahead.
const QUICK: Duration = Duration::from_millis(2);
/// Non-blocking reads of a worker's socket before a supervisor sleeps on
/// it: a quick task's answer comes within microseconds, and a sleeping
/// supervisor costs a wake-up per task.
const RECEIVE_POLLS: u32 = 20;

/// The body of the supervisor thread of `slot`: supervises (starting with
/// `worker`, if given) until the pool closes. A panic restarts it here, so
/// the pool never loses a slot; the panicking supervisor's worker was killed
/// and reaped and its tasks in hand reported cancelled as it unwound.
pub(crate) fn supervisor_thread(
    pool: &Shared,
    slot: usize,
    jobs: &Receiver<Job>,
    worker: Option<WorkerProcess>,
) {
    let Some(alarm) = pool.alarm(slot) else { return };
    let mut worker = worker;
    loop {
        let supervisor = Supervisor::new(pool, alarm.clone(), jobs, worker.take());
        match catch_unwind(AssertUnwindSafe(|| supervisor.run())) {
            Ok(()) => return,
            Err(payload) => {
                let message = crate::panic_message::panic_message(&*payload);
                tracing::error!(%message, slot, "a pool supervisor panicked; restarting it");
                // A back-off, so a supervisor that panics at once does not spin.
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// Why a worker is being given up.
#[derive(Clone, Copy, Debug)]
enum Loss {
    /// Its socket broke or pp-process saw it end: it died by itself (or
    /// was killed from outside).
    Died,
    /// Its running task was cancelled.
    Cancelled,
    /// Its running task ran past its timeout.
    TimedOut(Duration),
}

/// What ended a wait for the worker.
enum Wakeup {
    /// The worker said something (or its socket failed).
    Reply(Result<FromWorker, FrameError>),
    /// The worker must be given up.
    Lost(Loss),
    /// The pool is shutting down and cancelling.
    Stopping,
}

/// One worker slot: its worker and the tasks in its hands.
struct Supervisor<'a> {
    pool: &'a Shared,
    alarm: Arc<Alarm>,
    jobs: &'a Receiver<Job>,
    worker: Option<WorkerProcess>,
    /// Sent to the worker, oldest (the running one) first.
    in_flight: VecDeque<Job>,
    /// Taken from the queue (or back from a lost worker), not yet sent.
    unsent: VecDeque<Job>,
    queue_closed: bool,
    /// Since when the oldest task in flight has been the worker's (it was
    /// sent, or the one before it was answered).
    front_since: Instant,
    /// Whether the last task finished within [`QUICK`]: only then are tasks sent ahead.
    quick: bool,
}

impl<'a> Supervisor<'a> {
    fn new(
        pool: &'a Shared,
        alarm: Arc<Alarm>,
        jobs: &'a Receiver<Job>,
        worker: Option<WorkerProcess>,
    ) -> Supervisor<'a> {
        Supervisor {
            pool,
            alarm,
            jobs,
            worker,
            in_flight: VecDeque::new(),
            unsent: VecDeque::new(),
            queue_closed: false,
            front_since: Instant::now(),
            quick: false,
        }
    }

    /// Runs tasks until the queue is closed and empty (then retires the
    /// worker) or the pool stops with a cancel (then stops it).
    fn run(mut self) {
        loop {
            if self.pool.is_stopping() {
                self.stop_everything();
                return;
            }
            self.take_jobs();
            if self.in_flight.is_empty() && self.unsent.is_empty() {
                if self.queue_closed {
                    break;
                }
                continue;
            }
            if self.worker.is_none() && !self.start_worker() {
                continue;
            }
            let sent = self.send_jobs();
            if self.in_flight.is_empty() {
                if !sent {
                    // The socket is broken: the worker is gone. Replace it.
                    self.lose_worker(Loss::Died);
                }
                continue;
            }
            // Even when a send failed: answers sent before the worker died
            // are read first, then its end of file fails the task it died on.
            self.await_reply();
        }
        if let Some(worker) = self.worker.take() {
            worker.retire(self.pool);
        }
    }

    /// How many tasks to hold: one until tasks prove quick, then up to
    /// [`WINDOW`], but no more than a fair share of the queue (slow tasks
    /// must spread over every worker) nor than the worker's quota.
    fn window(&self) -> usize {
        let window = if self.quick {
            let share = self.jobs.len() / self.pool.options.max_workers;
            WINDOW.min(self.in_flight.len() + self.unsent.len() + share).max(1)
        } else {
            1
        };
        let quota = self.worker.as_ref().map_or(usize::MAX, |w| w.quota(self.pool));
        window.min(quota)
    }

    /// Takes tasks from the queue up to the window: waits for one when none
    /// is in hand, else takes only those already there.
    fn take_jobs(&mut self) {
        let window = self.window();
        while !self.queue_closed && self.in_flight.len() + self.unsent.len() < window {
            let next = if self.in_flight.is_empty() && self.unsent.is_empty() {
                crate::next_job::next_job(self.jobs).ok_or(TryRecvError::Disconnected)
            } else {
                self.jobs.try_recv()
            };
            match next {
                // A task cancelled while queued is dropped (it is cancelled already).
                Ok(job) if job.cell.start() => self.unsent.push_back(job),
                Ok(_) => {}
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => self.queue_closed = true,
            }
        }
    }

    /// Starts a worker; if that fails, fails the first task waiting with the
    /// reason (the next one tries again).
    fn start_worker(&mut self) -> bool {
        match WorkerProcess::start(self.pool, &self.alarm) {
            Ok(worker) => {
                self.worker = Some(worker);
                true
            }
            Err(e) => {
                let reason = e.to_string();
                tracing::error!(%reason, "cannot start a pool worker");
                if let Some(job) = self.unsent.pop_front() {
                    job.cell.fail(TaskErrorKind::NoWorker { reason: reason.clone() });
                }
                false
            }
        }
    }

    /// Sends the tasks in hand, as far as the worker's quota allows; a task
    /// cancelled before it was sent is dropped instead. False if the socket
    /// is broken.
    fn send_jobs(&mut self) -> bool {
        let Some(worker) = self.worker.as_mut() else { return false };
        while worker.quota(self.pool) > self.in_flight.len() {
            let Some(job) = self.unsent.pop_front() else { break };
            if job.cell.is_cancelled() {
                continue; // dropping it reports it cancelled
            }
            if worker.send(job.function, &job.arg).is_err() {
                self.unsent.push_front(job);
                return false;
            }
            if self.in_flight.is_empty() {
                self.front_since = Instant::now();
            }
            self.in_flight.push_back(job);
        }
        true
    }

    /// Waits for the running task's answer and acts on what ended the wait.
    fn await_reply(&mut self) {
        match self.wait_for_worker() {
            Wakeup::Reply(Ok(FromWorker::Done(outcome, captured))) => {
                self.finish_front(outcome, captured)
            }
            Wakeup::Reply(Ok(other)) => {
                tracing::error!(?other, "unexpected message from a pool worker");
                self.lose_worker(Loss::Died);
            }
            Wakeup::Reply(Err(_)) => self.lose_worker(Loss::Died),
            Wakeup::Lost(loss) => self.lose_worker(loss),
            // `run` stops everything.
            Wakeup::Stopping => {}
        }
    }

    /// Spins briefly on the socket, then sleeps until the worker answers or
    /// dies, the alarm rings for a reason that concerns us, or the running
    /// task's deadline passes.
    fn wait_for_worker(&mut self) -> Wakeup {
        let Some(worker) = self.worker.as_mut() else { return Wakeup::Lost(Loss::Died) };
        for _ in 0..RECEIVE_POLLS {
            match worker.try_recv() {
                Ok(None) => std::thread::yield_now(),
                reply => return Wakeup::Reply(reply.and_then(|r| r.ok_or(FrameError::Closed))),
            }
        }
        let deadline = self.front_deadline();
        loop {
            // The alarm is silenced before these checks, and a ring comes
            // after the flag it announces is set, so no ring is missed.
            if let Some(wakeup) = self.interruption() {
                return wakeup;
            }
            let Some(worker) = self.worker.as_mut() else { return Wakeup::Lost(Loss::Died) };
            if worker.has_exited() {
                // All it wrote is here by now: an answer sent before it died still counts.
                return match worker.try_recv() {
                    Ok(None) => Wakeup::Lost(Loss::Died),
                    reply => Wakeup::Reply(reply.and_then(|r| r.ok_or(FrameError::Closed))),
                };
            }
            match worker.recv_until(deadline, &self.alarm) {
                Ok(Received::Message(message)) => return Wakeup::Reply(Ok(message)),
                Err(e) => return Wakeup::Reply(Err(e)),
                Ok(Received::Deadline) => {}
                Ok(Received::Alarm) => self.alarm.silence(),
            }
        }
    }

    /// When the running task's timeout ends it (`None`: never).
    fn front_deadline(&self) -> Option<Instant> {
        let limit = self.in_flight.front()?.cell.timeout()?;
        // A deadline that does not fit in an `Instant` is none.
        self.front_since.checked_add(limit)
    }

    /// A reason to stop waiting other than the worker's answer: a shutdown
    /// that cancels, or the running task cancelled or past its timeout.
    fn interruption(&self) -> Option<Wakeup> {
        if self.pool.is_stopping() {
            return Some(Wakeup::Stopping);
        }
        let front = self.in_flight.front()?;
        if front.cell.is_cancelled() {
            return Some(Wakeup::Lost(Loss::Cancelled));
        }
        let limit = front.cell.timeout()?;
        (self.front_since.elapsed() >= limit).then_some(Wakeup::Lost(Loss::TimedOut(limit)))
    }

    /// Records the running task's answer; retires the worker once it has
    /// run its quota of tasks.
    fn finish_front(&mut self, outcome: WireOutcome, captured: Option<CapturedOutput>) {
        let Some(front) = self.in_flight.pop_front() else { return };
        front.cell.finish_wire(outcome, captured);
        self.quick = self.front_since.elapsed() < QUICK;
        self.front_since = Instant::now();
        let spent = self.worker.as_ref().is_some_and(|w| w.quota(self.pool) == 0);
        if spent
            && self.in_flight.is_empty()
            && let Some(worker) = self.worker.take()
        {
            worker.retire(self.pool);
        }
    }

    /// Stops and reaps the worker, fails its running task with the cause,
    /// and puts the tasks sent behind it back in front of the unsent ones.
    fn lose_worker(&mut self, loss: Loss) {
        let Some(worker) = self.worker.take() else { return };
        let pid = worker.pid();
        let exit = worker.stop(self.pool, self.pool.options.grace);
        if let Some(front) = self.in_flight.pop_front() {
            fail(&front, loss, pid, exit);
        }
        while let Some(job) = self.in_flight.pop_back() {
            self.unsent.push_front(job);
        }
    }

    /// The pool shuts down cancelling: stops the worker; every task in hand
    /// reports itself cancelled as it is dropped.
    fn stop_everything(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.stop(self.pool, self.pool.options.grace);
        }
        self.in_flight.clear();
        self.unsent.clear();
    }
}

/// Fails `job`, which was running on worker `pid` when it was lost.
fn fail(job: &Job, loss: Loss, pid: u32, exit: Exit) {
    let Exit { code, signal } = exit;
    match loss {
        Loss::Died if !job.cell.is_cancelled() => {
            tracing::warn!(pid, ?code, ?signal, "pool worker died; replacing it");
            job.cell.fail(TaskErrorKind::WorkerDied { code, signal });
        }
        Loss::TimedOut(limit) => {
            tracing::warn!(pid, ?limit, "task timed out; its worker was stopped");
            job.cell.fail(TaskErrorKind::TaskTimedOut { limit });
        }
        Loss::Died | Loss::Cancelled => {
            tracing::debug!(pid, "running task cancelled; its worker was stopped");
            job.cell.fail(TaskErrorKind::Cancelled);
        }
    }
}

//! A thread pool on crossbeam channels: panics become task errors, the pool
//! keeps its threads, running tasks can be cancelled cooperatively.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, unbounded};

use crate::error::{PoolError, TaskError};
use crate::task::{AsCell, CancelToken, Flag, TaskCell, TaskHandle};

/// A queued task. Dropped unrun (shutdown with `cancel_pending`), it
/// reports itself cancelled.
struct Job(Option<Arc<dyn Runnable>>);

impl Job {
    fn run(mut self) {
        if let Some(task) = self.0.take() {
            task.run();
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.cancel_unrun();
        }
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").finish_non_exhaustive()
    }
}

trait Runnable: Send + Sync {
    fn run(self: Arc<Self>);
    fn cancel_unrun(&self);
}

/// A thread task: its closure and its cell in one allocation.
struct ThreadTask<R, F> {
    cell: TaskCell<R>,
    work: Mutex<Option<F>>,
}

impl<R: Send, F: Send> AsCell<R> for ThreadTask<R, F> {
    fn cell(&self) -> &TaskCell<R> {
        &self.cell
    }
}

impl<R: Send, F: Send> Flag for ThreadTask<R, F> {
    fn flag(&self) -> &std::sync::atomic::AtomicBool {
        self.cell.flag()
    }
}

impl<R, F> Runnable for ThreadTask<R, F>
where
    R: Send + 'static,
    F: FnOnce(CancelToken) -> R + Send + 'static,
{
    fn run(self: Arc<Self>) {
        let work = self.work.lock().unwrap_or_else(PoisonError::into_inner).take();
        let Some(work) = work else { return };
        if !self.cell.start() {
            return; // cancelled while pending
        }
        let token = CancelToken::new(self.clone());
        let outcome = catch_unwind(AssertUnwindSafe(|| work(token))).map_err(|payload| {
            TaskError::Panicked { task_id: self.cell.id, message: panic_message(&*payload) }
        });
        self.cell.finish(outcome);
    }

    fn cancel_unrun(&self) {
        self.cell.finish(Err(TaskError::Cancelled { task_id: self.cell.id }));
    }
}

/// A fixed set of threads running submitted closures.
#[derive(Debug)]
pub struct ThreadPool {
    sender: Mutex<Option<Sender<Job>>>,
    /// Kept to drain (and cancel) pending jobs at shutdown.
    receiver: Receiver<Job>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    max_workers: usize,
}

/// Python's default for `ThreadPoolExecutor`: min(32, cpus + 4).
pub fn default_thread_count() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cpus + 4).min(32)
}

/// The next job: briefly spins before sleeping, because a sleeping thread
/// costs the submitter a wake-up system call per task.
pub(crate) fn next_job<J>(jobs: &Receiver<J>) -> Option<J> {
    for round in 0..SPIN_ROUNDS {
        match jobs.try_recv() {
            Ok(job) => return Some(job),
            Err(crossbeam_channel::TryRecvError::Disconnected) => return None,
            Err(crossbeam_channel::TryRecvError::Empty) => {
                for _ in 0..round.min(32) {
                    std::hint::spin_loop();
                }
            }
        }
    }
    jobs.recv().ok()
}

/// Empty polls, with a growing pause between them, before a pool thread sleeps.
const SPIN_ROUNDS: u32 = 64;

/// The message of a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}

impl ThreadPool {
    /// A pool of `max_workers` threads (see [`default_thread_count`]).
    pub fn new(max_workers: usize) -> Result<ThreadPool, PoolError> {
        if max_workers == 0 {
            return Err(PoolError::NoWorkers);
        }
        let (sender, receiver) = unbounded::<Job>();
        let threads = (0..max_workers)
            .map(|i| {
                let jobs = receiver.clone();
                std::thread::Builder::new()
                    .name(format!("pp-pool-thread-{i}"))
                    .spawn(move || {
                        while let Some(job) = next_job(&jobs) {
                            job.run();
                        }
                    })
                    .map_err(|e| PoolError::WorkerStart {
                        exe: "thread".into(),
                        reason: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ThreadPool {
            sender: Mutex::new(Some(sender)),
            receiver,
            threads: Mutex::new(threads),
            max_workers,
        })
    }

    /// How many threads run tasks.
    pub fn max_workers(&self) -> usize {
        self.max_workers
    }

    /// Runs `f` on a pool thread. A panic becomes [`TaskError::Panicked`].
    pub fn submit<R, F>(&self, f: F) -> Result<TaskHandle<R>, PoolError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.submit_cancellable(move |_| f())
    }

    /// Runs `f` with a [`CancelToken`] it should poll: after
    /// [`TaskHandle::cancel`] the token is set, and whatever `f` returns
    /// becomes [`TaskError::Cancelled`].
    pub fn submit_cancellable<R, F>(&self, f: F) -> Result<TaskHandle<R>, PoolError>
    where
        F: FnOnce(CancelToken) -> R + Send + 'static,
        R: Send + 'static,
    {
        // One allocation holds the closure, the task's state and its flag.
        let task =
            Arc::new(ThreadTask { cell: TaskCell::unshared(None), work: Mutex::new(Some(f)) });
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        let sender = sender.as_ref().ok_or(PoolError::ShutDown)?;
        sender.send(Job(Some(task.clone()))).map_err(|_| PoolError::ShutDown)?;
        Ok(TaskHandle::new(task))
    }

    /// Stops accepting tasks. With `cancel_pending`, tasks not yet started are
    /// cancelled; with `wait`, returns once every thread has finished.
    pub fn shutdown(&self, wait: bool, cancel_pending: bool) {
        self.sender.lock().unwrap_or_else(PoisonError::into_inner).take();
        if cancel_pending {
            // Each job checks its cell first, so running them here only marks them cancelled.
            while let Ok(job) = self.receiver.try_recv() {
                drop(job);
            }
        }
        if wait {
            let threads =
                std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner));
            for thread in threads {
                let _ = thread.join();
            }
        }
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.shutdown(true, false);
    }
}

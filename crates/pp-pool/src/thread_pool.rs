//! A thread pool on crossbeam channels: panics become task errors, the pool
//! keeps its threads, running tasks can be cancelled cooperatively.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, unbounded};

use crate::error::{PoolError, TaskError, TaskErrorKind};
use crate::next_job::next_job;
use crate::panic_message::panic_message;
use crate::task::{AsCell, CancelToken, Flag, TaskCell, TaskHandle};

/// A queued task. Dropped unrun ([`ThreadPool::abort`]), it reports itself cancelled.
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
            TaskError::new(
                self.cell.id,
                TaskErrorKind::Panicked { message: panic_message(&*payload) },
            )
        });
        self.cell.finish(outcome);
    }

    fn cancel_unrun(&self) {
        self.cell.fail(TaskErrorKind::Cancelled);
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

impl ThreadPool {
    /// A pool of `max_workers` threads (one per CPU is
    /// [`std::thread::available_parallelism`]).
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

    /// Runs `f` on a pool thread. A panic becomes [`TaskErrorKind::Panicked`].
    pub fn submit<R, F>(&self, f: F) -> Result<TaskHandle<R>, PoolError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.submit_cancellable(move |_| f())
    }

    /// Runs `f` with a [`CancelToken`] it should poll: after
    /// [`TaskHandle::cancel`] the token is set, and whatever `f` returns
    /// becomes [`TaskErrorKind::Cancelled`].
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

    /// Stops accepting tasks; those already submitted still run. Returns at
    /// once: [`shutdown`](Self::shutdown) also waits for them.
    pub fn close(&self) {
        self.sender.lock().unwrap_or_else(PoisonError::into_inner).take();
    }

    /// Stops accepting tasks and cancels those not started yet (their
    /// results become [`TaskErrorKind::Cancelled`]). Returns at once. A
    /// running closure cannot be stopped from outside: it runs to its end and
    /// keeps its value (to stop it early, cancel its handle and poll its
    /// [`CancelToken`]).
    pub fn abort(&self) {
        self.close();
        // Dropping a job unrun reports it cancelled.
        while let Ok(job) = self.receiver.try_recv() {
            drop(job);
        }
    }

    /// [`close`](Self::close), then blocks until every submitted task has
    /// run and every thread has exited. Called from one of the pool's own
    /// tasks, it does not wait for that task's thread.
    pub fn shutdown(&self) {
        self.close();
        self.join();
    }

    /// [`abort`](Self::abort), then blocks until the running tasks have
    /// returned and every thread has exited. Called from one of the pool's
    /// own tasks, it does not wait for that task's thread.
    pub fn shutdown_now(&self) {
        self.abort();
        self.join();
    }

    /// Waits for every thread but the calling one (which would wait for itself).
    fn join(&self) {
        let threads =
            std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner));
        let me = std::thread::current().id();
        for thread in threads {
            if thread.thread().id() != me {
                let _ = thread.join();
            }
        }
    }
}

/// Dropping a pool is [`shutdown`](ThreadPool::shutdown): submitted tasks still run.
impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

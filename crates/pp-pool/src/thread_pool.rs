//! A thread pool on crossbeam channels: panics become task errors, the pool
//! keeps its threads, running tasks can be cancelled cooperatively.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, unbounded};

use crate::error::{PoolError, TaskError};
use crate::task::{CancelToken, TaskCell, TaskHandle};

type Job = Box<dyn FnOnce() + Send>;

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
                        for job in jobs {
                            job();
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
        let cell = TaskCell::new(None);
        // A job dropped unrun (shutdown with cancel_pending) reports itself cancelled.
        let guard = CancelOnDrop { cell: cell.clone() };
        let job: Job = Box::new(move || {
            let job_cell = &guard.cell;
            if !job_cell.start() {
                return; // cancelled while pending
            }
            let token = job_cell.token.clone();
            let outcome = catch_unwind(AssertUnwindSafe(|| f(token))).map_err(|payload| {
                TaskError::Panicked {
                    task_id: job_cell.id.clone(),
                    message: panic_message(&*payload),
                }
            });
            job_cell.finish(outcome);
        });
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        let sender = sender.as_ref().ok_or(PoolError::ShutDown)?;
        sender.send(job).map_err(|_| PoolError::ShutDown)?;
        // Cancelling a running thread task is cooperative: the token is all there is.
        Ok(TaskHandle { cell, canceller: None })
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

/// Finishes a task as cancelled when its job is dropped without having
/// finished it (a no-op after the job ran).
pub(crate) struct CancelOnDrop<R> {
    pub(crate) cell: Arc<TaskCell<R>>,
}

impl<R> Drop for CancelOnDrop<R> {
    fn drop(&mut self) {
        self.cell.finish(Err(TaskError::Cancelled { task_id: self.cell.id.clone() }));
    }
}

//! A process pool whose workers are fresh copies of this program: a worker
//! that dies fails only its own task and is replaced; running tasks can be
//! cancelled or timed out by stopping their worker.
//!
//! The pool is a queue of jobs and one supervisor thread per worker slot
//! (`supervisor.rs`); each supervisor owns one worker process at a time
//! (`worker_process.rs`), started and stopped through pp-process. The first
//! worker is started by `with_options` itself, so a program that forgot
//! `pp_pool::init()` fails there. pp-process forks every worker from a
//! thread that lives as long as the process, so a worker's parent-death
//! signal fires when the pool's process dies, not when the thread that
//! created the pool ends.
//!
//! Durations from callers (task timeouts, the stop grace) may be anything up
//! to `Duration::MAX`: deadlines are `Instant::checked_add`, and one that
//! does not fit means "no deadline", never an overflow panic.

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, unbounded};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::encoded::TaskFn;
use crate::error::{PoolError, TaskErrorKind};
use crate::job::{Job, ProcessTask};
use crate::options::{ProcessPoolOptions, TaskOptions};
use crate::remote::{Identity, RemoteFn};
use crate::shared::Shared;
use crate::supervisor::supervisor_thread;
use crate::sys::Alarms;
use crate::task::{AsCell, TaskHandle};
use crate::worker_process::WorkerProcess;

/// A pool of worker processes running `fn(A) -> R` tasks.
#[derive(Debug)]
pub struct ProcessPool {
    sender: Mutex<Option<Sender<Job>>>,
    receiver: Receiver<Job>,
    supervisors: Mutex<Vec<JoinHandle<()>>>,
    shared: Arc<Shared>,
}

impl ProcessPool {
    /// A pool with `max_workers` workers and default options.
    pub fn new(max_workers: usize) -> Result<ProcessPool, PoolError> {
        ProcessPool::with_options(ProcessPoolOptions {
            max_workers,
            ..ProcessPoolOptions::default()
        })
    }

    /// A pool built from `options`. Starts the first worker now, so a
    /// program that forgot `pp_pool::init()` fails here, not at its first task.
    pub fn with_options(options: ProcessPoolOptions) -> Result<ProcessPool, PoolError> {
        if crate::worker::is_worker() {
            return Err(PoolError::InsideWorker);
        }
        if options.max_workers == 0 {
            return Err(PoolError::NoWorkers);
        }
        let exe = options.worker_exe.clone().unwrap_or_else(|| "/proc/self/exe".into());
        let start_error =
            |reason: String| PoolError::WorkerStart { exe: exe.display().to_string(), reason };
        let identity = Identity::of_this_process().map_err(|e| start_error(e.to_string()))?;
        let alarms = Alarms::new(options.max_workers)
            .map_err(|e| start_error(format!("cannot create a supervisor's alarm: {e}")))?;
        let shared = Arc::new(Shared::new(options, exe.clone(), identity, Arc::new(alarms)));
        let first = match shared.alarm(0) {
            Some(alarm) => WorkerProcess::start(&shared, alarm)?,
            None => return Err(PoolError::NoWorkers),
        };
        let (sender, receiver) = unbounded::<Job>();
        let pool = ProcessPool {
            sender: Mutex::new(Some(sender)),
            receiver,
            supervisors: Mutex::new(Vec::new()),
            shared,
        };
        let mut first = Some(first);
        for slot in 0..pool.shared.options.max_workers {
            let (shared, jobs, worker) = (pool.shared.clone(), pool.receiver.clone(), first.take());
            let thread = std::thread::Builder::new()
                .name(format!("pp-pool-supervisor-{slot}"))
                .spawn(move || supervisor_thread(&shared, slot, &jobs, worker))
                .map_err(|e| PoolError::WorkerStart {
                    exe: "supervisor thread".into(),
                    reason: e.to_string(),
                })?; // dropping `pool` stops the supervisors started so far
            pool.supervisors.lock().unwrap_or_else(PoisonError::into_inner).push(thread);
        }
        Ok(pool)
    }

    /// How many workers the pool runs.
    pub fn max_workers(&self) -> usize {
        self.shared.options.max_workers
    }

    /// The pids of the workers alive now.
    pub fn worker_pids(&self) -> Vec<u32> {
        self.shared.worker_pids()
    }

    /// Runs `f(arg)` in a worker. `f` is a plain function or a non-capturing
    /// closure of this program; nothing needs registering.
    pub fn submit<A, R>(&self, f: fn(A) -> R, arg: A) -> Result<TaskHandle<R>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.submit_with(f, arg, TaskOptions::default())
    }

    /// [`submit`](Self::submit) with per-task options (a timeout).
    pub fn submit_with<A, R>(
        &self,
        f: fn(A) -> R,
        arg: A,
        options: TaskOptions,
    ) -> Result<TaskHandle<R>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let task = ProcessTask::<R>::new(options.timeout, Arc::downgrade(self.shared.alarms()));
        let handle = TaskHandle::new(task.clone());
        let arg = match postcard::to_allocvec(&arg) {
            Ok(arg) => arg,
            Err(e) => {
                task.cell()
                    .fail(TaskErrorKind::Serialization { what: "argument", reason: e.to_string() });
                return Ok(handle);
            }
        };
        self.queue(Job { cell: task, function: RemoteFn::new(f), arg })?;
        Ok(handle)
    }

    /// Runs the task `f` with the encoded argument `arg` (see
    /// [`encode`](crate::encode)); its result stays encoded (decode it with
    /// [`decode`](crate::decode)). For layers that carry tasks as data.
    pub fn submit_encoded(
        &self,
        f: TaskFn,
        arg: Vec<u8>,
        options: TaskOptions,
    ) -> Result<TaskHandle<Vec<u8>>, PoolError> {
        let task = ProcessTask::encoded(options.timeout, Arc::downgrade(self.shared.alarms()));
        let handle = TaskHandle::new(task.clone());
        self.queue(Job { cell: task, function: f.0, arg })?;
        Ok(handle)
    }

    fn queue(&self, job: Job) -> Result<(), PoolError> {
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        let sender = sender.as_ref().ok_or(PoolError::ShutDown)?;
        sender.send(job).map_err(|_| PoolError::ShutDown)
    }

    /// Stops accepting tasks; those already submitted still run, then the
    /// workers exit. Returns at once: [`shutdown`](Self::shutdown) also waits.
    pub fn close(&self) {
        self.sender.lock().unwrap_or_else(PoisonError::into_inner).take();
    }

    /// Stops accepting tasks, cancels those not started and stops the running
    /// ones (their workers are stopped: SIGTERM, the grace, SIGKILL); each
    /// result becomes [`TaskErrorKind::Cancelled`]. Returns at once:
    /// [`shutdown_now`](Self::shutdown_now) also waits.
    pub fn abort(&self) {
        self.close();
        self.shared.begin_stopping();
        // Dropping a job unrun reports it cancelled.
        while let Ok(job) = self.receiver.try_recv() {
            drop(job);
        }
    }

    /// [`close`](Self::close), then blocks until every submitted task has
    /// run and every worker has exited.
    pub fn shutdown(&self) {
        self.close();
        self.join();
    }

    /// [`abort`](Self::abort), then blocks until every worker has exited.
    pub fn shutdown_now(&self) {
        self.abort();
        self.join();
    }

    /// Waits for every supervisor thread (each reaps its worker before it ends).
    fn join(&self) {
        let threads =
            std::mem::take(&mut *self.supervisors.lock().unwrap_or_else(PoisonError::into_inner));
        for thread in threads {
            let _ = thread.join();
        }
    }
}

/// Dropping a pool is [`shutdown_now`](ProcessPool::shutdown_now): tasks not
/// finished are cancelled.
impl Drop for ProcessPool {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

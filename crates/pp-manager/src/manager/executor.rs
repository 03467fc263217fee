//! `Executor`: a process or thread pool of a manager — its own, or pp-pool's
//! program-wide default — and how each kind is shut down.

use std::ops::Deref;

use pp_pool::{ProcessPool, ThreadPool};
use pp_remote::RemotePool;

use crate::status::ExecutorKind;

/// An executor: a process pool, a thread pool, or a remote pool.
#[derive(Debug)]
pub(super) enum Executor {
    Process(Pool<ProcessPool>),
    Thread(Pool<ThreadPool>),
    /// Its tasks live on the server: shutting it down only disconnects.
    Remote(RemotePool),
}

/// A pool this manager made, or pp-pool's process-wide default of its kind
/// (shared with every other user of `pp_pool::default_*_pool` in the program,
/// so there is one default pool per kind).
#[derive(Debug)]
pub(super) enum Pool<P: 'static> {
    Own(P),
    Default(&'static P),
}

impl<P> Deref for Pool<P> {
    type Target = P;
    fn deref(&self) -> &P {
        match self {
            Pool::Own(pool) => pool,
            Pool::Default(pool) => pool,
        }
    }
}

impl<P> Pool<P> {
    fn is_default(&self) -> bool {
        matches!(self, Pool::Default(_))
    }
}

impl Executor {
    fn is_default(&self) -> bool {
        match self {
            Executor::Process(pool) => pool.is_default(),
            Executor::Thread(pool) => pool.is_default(),
            Executor::Remote(_) => false,
        }
    }

    /// Python's `Executor.shutdown(wait=True)`: no new tasks; queued and
    /// running ones still run; returns once they are done and the workers
    /// have exited. The program-wide default pools are not shut down (others
    /// may use them): they are only forgotten.
    pub(super) fn shut_down(&self) {
        match self {
            _ if self.is_default() => {}
            Executor::Process(pool) => pool.shutdown(),
            Executor::Thread(pool) => pool.shutdown(),
            Executor::Remote(_) => {}
        }
    }

    /// No new tasks from now on; returns at once (default pools: nothing).
    pub(super) fn close(&self) {
        match self {
            _ if self.is_default() => {}
            Executor::Process(pool) => pool.close(),
            Executor::Thread(pool) => pool.close(),
            Executor::Remote(_) => {}
        }
    }

    /// The manager's own shutdown: pending tasks cancelled, running ones
    /// stopped (process pools) or waited for (thread pools). Default pools
    /// are only forgotten, as in [`shut_down`](Self::shut_down).
    pub(super) fn stop(&self) {
        match self {
            _ if self.is_default() => {}
            Executor::Process(pool) => pool.shutdown_now(),
            Executor::Thread(pool) => pool.shutdown_now(),
            Executor::Remote(_) => {}
        }
    }

    /// Shutdown as the program exits: default pools too; running thread-pool
    /// tasks are not waited for (they end with the process).
    pub(super) fn stop_exiting(&self) {
        match self {
            Executor::Process(pool) => pool.shutdown_now(),
            Executor::Thread(pool) => pool.abort(),
            Executor::Remote(_) => {}
        }
    }

    pub(super) fn kind_and_size(&self) -> (ExecutorKind, usize) {
        match self {
            Executor::Process(pool) => (ExecutorKind::Process, pool.max_workers()),
            Executor::Thread(pool) => (ExecutorKind::Thread, pool.max_workers()),
            // The workers are wherever they run: the pool does not know how many.
            Executor::Remote(_) => (ExecutorKind::Remote, 0),
        }
    }
}

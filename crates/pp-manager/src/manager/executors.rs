//! Executors: process and thread pools by id, and the default ones.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use pp_pool::{ProcessPool, ThreadPool};

use super::{ProcessManager, lock};
use crate::error::{ManagerError, Result};
use crate::ids::ExecutorId;
use crate::records::ExecutorInfo;
use crate::status::ExecutorKind;

/// An executor: a process pool or a thread pool.
#[derive(Debug)]
pub(super) enum Executor {
    Process(ProcessPool),
    Thread(ThreadPool),
}

impl ProcessManager {
    fn new_executor_id(&self, kind: &str) -> ExecutorId {
        let n = self.next_executor.fetch_add(1, Ordering::Relaxed);
        ExecutorId::from_str_unchecked(format!("{kind}-pool-{n}"))
    }

    /// Creates a process pool of `max_workers` workers (the program must call
    /// [`init`](crate::init) first thing in `main`).
    pub fn create_process_pool(&self, max_workers: usize) -> Result<ExecutorId> {
        let pool = ProcessPool::new(max_workers)?;
        let id = self.new_executor_id("process");
        self.executors.insert(id.clone(), Arc::new(Executor::Process(pool)));
        Ok(id)
    }

    /// Creates a thread pool of `max_workers` threads.
    pub fn create_thread_pool(&self, max_workers: usize) -> Result<ExecutorId> {
        let pool = ThreadPool::new(max_workers)?;
        let id = self.new_executor_id("thread");
        self.executors.insert(id.clone(), Arc::new(Executor::Thread(pool)));
        Ok(id)
    }

    /// The default process pool (one worker per CPU), created on first use.
    pub fn get_default_process_pool(&self) -> Result<ExecutorId> {
        let mut default = lock(&self.default_process_pool);
        if let Some(id) = default.as_ref().filter(|id| self.executors.contains(id)) {
            return Ok(id.clone());
        }
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let id = self.create_process_pool(cpus)?;
        *default = Some(id.clone());
        Ok(id)
    }

    /// The default thread pool (min(32, cpus + 4) threads), created on first use.
    pub fn get_default_thread_pool(&self) -> Result<ExecutorId> {
        let mut default = lock(&self.default_thread_pool);
        if let Some(id) = default.as_ref().filter(|id| self.executors.contains(id)) {
            return Ok(id.clone());
        }
        let id = self.create_thread_pool(pp_pool::default_thread_count())?;
        *default = Some(id.clone());
        Ok(id)
    }

    pub(super) fn executor(&self, id: &ExecutorId) -> Result<Arc<Executor>> {
        self.executors.get(id).ok_or_else(|| ManagerError::not_found("executor", id.as_str()))
    }

    /// Shuts executor `id` down: with `wait`, lets submitted tasks finish and
    /// waits for its workers; without, cancels what has not run and returns at once.
    pub fn shutdown_executor(&self, id: &ExecutorId, wait: bool) -> Result<()> {
        let executor = self
            .executors
            .remove(id)
            .ok_or_else(|| ManagerError::not_found("executor", id.as_str()))?;
        match &*executor {
            Executor::Process(pool) => pool.shutdown(wait, !wait),
            Executor::Thread(pool) => pool.shutdown(wait, !wait),
        }
        Ok(())
    }

    /// Every executor of this manager.
    pub fn list_executors(&self) -> Vec<ExecutorInfo> {
        let mut list: Vec<ExecutorInfo> = self
            .executors
            .snapshot()
            .into_iter()
            .map(|(id, executor)| {
                let (kind, max_workers) = match &*executor {
                    Executor::Process(pool) => (ExecutorKind::Process, pool.max_workers()),
                    Executor::Thread(pool) => (ExecutorKind::Thread, pool.max_workers()),
                };
                ExecutorInfo { executor_id: id.to_string(), kind, max_workers }
            })
            .collect();
        list.sort_by(|a, b| a.executor_id.cmp(&b.executor_id));
        list
    }
}

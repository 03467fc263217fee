//! Executors: process and thread pools by id, and the default ones.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use pp_pool::{ProcessPool, ThreadPool};

use super::executor::{Executor, Pool};

use super::{ProcessManager, lock};
use crate::error::{ManagerError, Result};
use crate::ids::ExecutorId;
use crate::records::ExecutorInfo;

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
        self.executors.insert(id.clone(), Arc::new(Executor::Process(Pool::Own(pool))));
        Ok(id)
    }

    /// Connects to the NATS JetStream server at `url` as a remote pool:
    /// tasks submitted to it run on [`pp_remote::Worker`]s of this program
    /// on any host; the key comes from `PP_REMOTE_KEY` (see pp-remote).
    pub fn create_remote_pool(&self, url: &str) -> Result<ExecutorId> {
        let options = pp_remote::RemoteOptions::new(pp_remote::Key::from_env()?);
        self.create_remote_pool_with(url, options)
    }

    /// [`create_remote_pool`](Self::create_remote_pool) with options.
    pub fn create_remote_pool_with(
        &self,
        url: &str,
        options: pp_remote::RemoteOptions,
    ) -> Result<ExecutorId> {
        let pool = pp_remote::RemotePool::connect(url, options)?;
        let id = self.new_executor_id("remote");
        self.executors.insert(id.clone(), Arc::new(Executor::Remote(pool)));
        Ok(id)
    }

    /// Creates a thread pool of `max_workers` threads.
    pub fn create_thread_pool(&self, max_workers: usize) -> Result<ExecutorId> {
        let pool = ThreadPool::new(max_workers)?;
        let id = self.new_executor_id("thread");
        self.executors.insert(id.clone(), Arc::new(Executor::Thread(Pool::Own(pool))));
        Ok(id)
    }

    /// The default process pool: pp-pool's program-wide one
    /// ([`pp_pool::default_process_pool`], one worker per CPU), created on
    /// first use and shared with every other user of it in this program.
    pub fn get_default_process_pool(&self) -> Result<ExecutorId> {
        let mut default = lock(&self.default_process_pool);
        if let Some(id) = default.as_ref().filter(|id| self.executors.contains(id)) {
            return Ok(id.clone());
        }
        let pool = Pool::Default(pp_pool::default_process_pool()?);
        let id = self.new_executor_id("process");
        self.executors.insert(id.clone(), Arc::new(Executor::Process(pool)));
        *default = Some(id.clone());
        Ok(id)
    }

    /// The default thread pool: pp-pool's program-wide one
    /// ([`pp_pool::default_thread_pool`]), created on first use and shared
    /// with every other user of it in this program.
    pub fn get_default_thread_pool(&self) -> Result<ExecutorId> {
        let mut default = lock(&self.default_thread_pool);
        if let Some(id) = default.as_ref().filter(|id| self.executors.contains(id)) {
            return Ok(id.clone());
        }
        let pool = Pool::Default(pp_pool::default_thread_pool()?);
        let id = self.new_executor_id("thread");
        self.executors.insert(id.clone(), Arc::new(Executor::Thread(pool)));
        *default = Some(id.clone());
        Ok(id)
    }

    pub(super) fn executor(&self, id: &ExecutorId) -> Result<Arc<Executor>> {
        self.executors.get(id).ok_or_else(|| ManagerError::not_found("executor", id.as_str()))
    }

    /// Shuts executor `id` down as Python's `Executor.shutdown(wait)` does:
    /// it takes no new tasks, and what was submitted still runs; with `wait`,
    /// returns once that is done and the workers have exited, else at once
    /// (results stay available by task id). To stop running tasks, cancel them.
    /// The default pools are shared by the whole program: for them this only
    /// forgets the id (their tasks go on; the next `get_default_*` gives a new id).
    pub fn shutdown_executor(&self, id: &ExecutorId, wait: bool) -> Result<()> {
        let executor = self
            .executors
            .remove(id)
            .ok_or_else(|| ManagerError::not_found("executor", id.as_str()))?;
        if wait {
            executor.shut_down();
        } else {
            self.close_in_background(id, executor);
        }
        Ok(())
    }

    /// `shutdown(wait=false)`: the pool takes no new tasks from now on, and
    /// a thread of its own waits for the submitted ones and drops the pool
    /// (dropping a pool here would wait, or stop its running tasks).
    fn close_in_background(&self, id: &ExecutorId, executor: Arc<Executor>) {
        executor.close();
        self.closing.insert(id.clone(), executor.clone());
        let closing = self.closing.clone();
        let id = id.clone();
        let waiter =
            std::thread::Builder::new().name("pp-manager-pool-close".into()).spawn(move || {
                executor.shut_down();
                closing.remove(&id);
            });
        if let Err(e) = waiter {
            tracing::warn!(error = %e, "no thread to wait for a closed pool; it ends at shutdown");
        }
    }

    /// Every executor of this manager.
    pub fn list_executors(&self) -> Vec<ExecutorInfo> {
        let mut list: Vec<ExecutorInfo> = self
            .executors
            .snapshot()
            .into_iter()
            .map(|(id, executor)| {
                let (kind, max_workers) = executor.kind_and_size();
                ExecutorInfo { executor_id: id.to_string(), kind, max_workers }
            })
            .collect();
        list.sort_by(|a, b| a.executor_id.cmp(&b.executor_id));
        list
    }
}

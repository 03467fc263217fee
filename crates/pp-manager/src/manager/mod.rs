//! `ProcessManager`: processes, pools, tasks and IPC objects behind string ids.
//!
//! One file per subsystem, each an `impl ProcessManager` block: processes,
//! executors, tasks, queues, values, events, locks; this file holds the
//! manager itself and its shutdown. Every kind of object sits in a
//! [`Registry`], so a manager's maps share one set of rules.

mod awaiting;
mod events;
mod executor;
mod executors;
mod locks;
mod processes;
mod queues;
mod task_table;
mod tasks;
mod values;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use pp_ipc::{AnyQueue, Event, Lock};
use pp_process::ProcessTable;

use crate::error::ManagerError;
use crate::ids::{EventId, ExecutorId, LockId, QueueId, ValueId};
use crate::registry::Registry;
use crate::values::AnyValue;

pub use awaiting::Asynchronous;
pub use locks::ManagedLockGuard;
pub use task_table::TAKEN_TASKS_KEPT;

use executor::Executor;
use task_table::TaskTable;

/// The grace period `terminate_process` gives before SIGKILL.
const TERMINATE_GRACE: Duration = Duration::from_secs(5);

/// The grace period children get before SIGKILL when the program was
/// interrupted (Ctrl-C): short, since someone is waiting for the prompt.
const INTERRUPT_GRACE: Duration = Duration::from_secs(2);

/// Owns every process, pool, task and IPC object it created, by id.
///
/// [`get_process_manager`](crate::get_process_manager) is the process-wide
/// one behind the free functions; tests and libraries can make their own.
/// Queue, value, event and lock ids also work when they come from another
/// process: the manager opens the named object on first use.
pub struct ProcessManager {
    processes: ProcessTable,
    executors: Registry<ExecutorId, Executor>,
    /// Executors shut down without waiting, until their submitted tasks are
    /// done: the manager's own shutdown still stops them.
    closing: Arc<Registry<ExecutorId, Executor>>,
    default_process_pool: Mutex<Option<ExecutorId>>,
    default_thread_pool: Mutex<Option<ExecutorId>>,
    tasks: Mutex<TaskTable>,
    queues: Registry<QueueId, AnyQueue>,
    values: Registry<ValueId, AnyValue>,
    events: Registry<EventId, Event>,
    locks: Registry<LockId, Lock>,
    next_executor: AtomicU64,
}

impl std::fmt::Debug for ProcessManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessManager")
            .field("processes", &self.processes.len())
            .field("executors", &self.executors.len())
            .field("tasks", &lock(&self.tasks).len())
            .field("queues", &self.queues.len())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Maps pp-ipc's `NotFound` to the facade's, naming the kind and the id.
fn not_found<'a>(
    kind: &'static str,
    id: &'a str,
) -> impl FnOnce(pp_ipc::Error) -> ManagerError + 'a {
    move |e| match e {
        pp_ipc::Error::NotFound { .. } => ManagerError::not_found(kind, id),
        other => other.into(),
    }
}

impl Default for ProcessManager {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcessManager {
    /// An empty manager.
    pub fn new() -> Self {
        ProcessManager {
            processes: ProcessTable::new(),
            executors: Registry::new(),
            closing: Arc::new(Registry::new()),
            default_process_pool: Mutex::new(None),
            default_thread_pool: Mutex::new(None),
            tasks: Mutex::new(TaskTable::default()),
            queues: Registry::new(),
            values: Registry::new(),
            events: Registry::new(),
            locks: Registry::new(),
            next_executor: AtomicU64::new(1),
        }
    }

    /// Orderly exit: shuts every executor down (pending tasks cancelled,
    /// running thread-pool tasks waited for, running process-pool tasks
    /// stopped), terminates every tracked process (SIGTERM, 5 s, SIGKILL), and
    /// drops every IPC object: the ones this manager created are removed, even
    /// if another thread still holds one. The manager stays usable afterwards.
    ///
    /// The process-wide manager also does this by itself when the program
    /// exits: see [`shutdown`](crate::shutdown).
    pub fn shutdown(&self) {
        for (_, executor) in self.executors.drain().into_iter().chain(self.closing.snapshot()) {
            executor.stop();
        }
        *lock(&self.tasks) = TaskTable::default();
        self.processes.terminate_all(TERMINATE_GRACE);
        self.processes.cleanup();
        self.release_ipc_objects();
        pp_process::release_spare_cgroups();
        tracing::debug!("process manager shut down");
    }

    /// [`shutdown`](Self::shutdown) for a process that is exiting: what
    /// outlives the process goes first (shared-memory names, then child
    /// processes), and running thread-pool tasks are not waited for (they end
    /// with the process).
    pub(crate) fn shutdown_at_exit(&self) {
        self.shutdown_exiting(TERMINATE_GRACE);
    }

    /// [`shutdown_at_exit`](Self::shutdown_at_exit) for a program ended by a
    /// signal (see [`shutdown_on_interrupt`](crate::shutdown_on_interrupt)):
    /// the user is waiting, so children get a shorter grace before SIGKILL.
    pub(crate) fn shutdown_on_interrupt(&self) {
        self.shutdown_exiting(INTERRUPT_GRACE);
    }

    fn shutdown_exiting(&self, grace: Duration) {
        self.release_ipc_objects();
        self.processes.terminate_all(grace);
        self.processes.cleanup();
        // The pools stay in the map: dropping a thread pool waits for its running tasks.
        for (_, executor) in self.executors.snapshot().into_iter().chain(self.closing.snapshot()) {
            executor.stop_exiting();
        }
        // The program-wide default pools this manager handed out, even after
        // an explicit `shutdown()` forgot their ids (pp-pool's own exit hook
        // stops and reaps the default process pool's workers).
        if lock(&self.default_thread_pool).is_some()
            && let Ok(pool) = pp_pool::default_thread_pool()
        {
            pool.abort();
        }
        // Empty cgroups pp-process keeps for reuse would outlive the program.
        pp_process::release_spare_cgroups();
    }

    fn release_ipc_objects(&self) {
        self.queues.release_all();
        self.values.release_all();
        self.events.release_all();
        self.locks.release_all();
    }
}

impl Drop for ProcessManager {
    fn drop(&mut self) {
        self.shutdown();
    }
}

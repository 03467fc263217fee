//! `ProcessManager`: processes, pools, tasks and IPC objects behind string ids.

use std::any::Any;
use std::collections::{HashMap, HashSet, VecDeque};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use pp_ipc::{AnyQueue, Event, Lock, ObjectId, QueueOptions, SharedValue, ValueKind, ValueType};
use pp_pool::{ProcessPool, TaskHandle, TaskId, TaskStatus, ThreadPool};
use pp_process::{Command, ProcessTable, TerminateOutcome};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ManagerError, Result, shorten};
use crate::ids::{CachedId, EventId, ExecutorId, LockId, QueueId, ValueId};
use crate::records::{ExecutorInfo, ProcessRecord, ProcessResult, Scalar, TaskRecord};
use crate::typecode;

/// The grace period `terminate_process` gives before SIGKILL.
const TERMINATE_GRACE: Duration = Duration::from_secs(5);

/// The grace period children get before SIGKILL when the program was
/// interrupted (Ctrl-C): short, since someone is waiting for the prompt.
const INTERRUPT_GRACE: Duration = Duration::from_secs(2);

/// How many finished tasks whose result was taken stay known (status, result
/// again); older ones are forgotten, so memory stays flat however many run.
pub const TAKEN_TASKS_KEPT: usize = 1024;

/// An executor: a process pool or a thread pool.
#[derive(Debug, Clone)]
enum Executor {
    Process(Arc<ProcessPool>),
    Thread(Arc<ThreadPool>),
}

/// A task whose result type is known only to whoever asks for it.
trait AnyTask: Send + Sync {
    fn status(&self) -> TaskStatus;
    fn cancel(&self) -> bool;
    fn as_any(&self) -> &dyn Any;
}

impl<R: Send + 'static> AnyTask for TaskHandle<R> {
    fn status(&self) -> TaskStatus {
        TaskHandle::status(self)
    }
    fn cancel(&self) -> bool {
        TaskHandle::cancel(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct TaskEntry {
    executor: ExecutorId,
    handle: Arc<dyn AnyTask>,
    /// Its result (or why there is none) was returned by `get_task_result`.
    taken: bool,
}

/// The tasks a manager knows, and which finished ones were taken, oldest first.
#[derive(Default)]
struct TaskTable {
    entries: HashMap<TaskId, TaskEntry>,
    taken: VecDeque<TaskId>,
}

impl TaskTable {
    /// Notes that `task_id`'s result was taken; forgets the oldest taken
    /// tasks beyond [`TAKEN_TASKS_KEPT`].
    fn mark_taken(&mut self, task_id: &TaskId) {
        let Some(entry) = self.entries.get_mut(task_id) else { return };
        if entry.taken {
            return;
        }
        entry.taken = true;
        self.taken.push_back(*task_id);
        while self.taken.len() > TAKEN_TASKS_KEPT {
            if let Some(oldest) = self.taken.pop_front() {
                self.entries.remove(&oldest);
            }
        }
        self.shrink_if_sparse();
    }

    /// Gives back the memory of a burst of tasks once they are forgotten.
    fn shrink_if_sparse(&mut self) {
        if self.entries.capacity() > 4 * self.entries.len() + 4 * TAKEN_TASKS_KEPT {
            self.entries.shrink_to_fit();
        }
    }
}

/// A shared value of whichever type its kind says.
#[derive(Debug)]
pub(crate) enum AnyValue {
    I32(SharedValue<i32>),
    I64(SharedValue<i64>),
    U32(SharedValue<u32>),
    U64(SharedValue<u64>),
    Bool(SharedValue<bool>),
    F64(SharedValue<f64>),
}

/// Applies `$body` to the typed value inside an `AnyValue`.
macro_rules! with_value {
    ($value:expr, $v:ident => $body:expr) => {
        match $value {
            AnyValue::I32($v) => $body,
            AnyValue::I64($v) => $body,
            AnyValue::U32($v) => $body,
            AnyValue::U64($v) => $body,
            AnyValue::Bool($v) => $body,
            AnyValue::F64($v) => $body,
        }
    };
}

impl AnyValue {
    fn create(id: ObjectId, typecode: &str, initial: Scalar) -> Result<AnyValue> {
        let id_text = shorten(id.as_str());
        let misfit = |holds: &'static str| ManagerError::ValueDoesNotFit {
            id: id_text.clone(),
            holds,
            value: initial.to_string(),
        };
        let kind = typecode::kind_of(typecode)
            .ok_or_else(|| ManagerError::InvalidTypecode { typecode: shorten(typecode) })?;
        Ok(match kind {
            ValueKind::I32 => AnyValue::I32(SharedValue::create_with_id(
                id,
                fit_i32(initial).ok_or_else(|| misfit("i32"))?,
            )?),
            ValueKind::I64 => AnyValue::I64(SharedValue::create_with_id(
                id,
                initial.as_i64().ok_or_else(|| misfit("i64"))?,
            )?),
            ValueKind::U32 => AnyValue::U32(SharedValue::create_with_id(
                id,
                fit_u32(initial).ok_or_else(|| misfit("u32"))?,
            )?),
            ValueKind::U64 => AnyValue::U64(SharedValue::create_with_id(
                id,
                fit_u64(initial).ok_or_else(|| misfit("u64"))?,
            )?),
            ValueKind::Bool => AnyValue::Bool(SharedValue::create_with_id(
                id,
                fit_bool(initial).ok_or_else(|| misfit("bool"))?,
            )?),
            ValueKind::F64 => AnyValue::F64(SharedValue::create_with_id(
                id,
                initial.as_f64().ok_or_else(|| misfit("f64"))?,
            )?),
            _ => return Err(ManagerError::InvalidTypecode { typecode: shorten(typecode) }),
        })
    }

    fn open(id: &ObjectId) -> Result<AnyValue> {
        Ok(match ValueKind::of(id)? {
            ValueKind::I32 => AnyValue::I32(SharedValue::open(id)?),
            ValueKind::I64 => AnyValue::I64(SharedValue::open(id)?),
            ValueKind::U32 => AnyValue::U32(SharedValue::open(id)?),
            ValueKind::U64 => AnyValue::U64(SharedValue::open(id)?),
            ValueKind::Bool => AnyValue::Bool(SharedValue::open(id)?),
            ValueKind::F64 => AnyValue::F64(SharedValue::open(id)?),
            other => {
                return Err(pp_ipc::Error::WrongValueType {
                    id: id.to_string(),
                    expected: "a type with a typecode",
                    found: other.name(),
                }
                .into());
            }
        })
    }

    fn get(&self) -> Scalar {
        with_value!(self, v => Scalar::from(v.get()))
    }

    fn set(&self, id: &ValueId, value: Scalar) -> Result<()> {
        let misfit = |holds: &'static str| ManagerError::ValueDoesNotFit {
            id: shorten(id.as_str()),
            holds,
            value: value.to_string(),
        };
        match self {
            AnyValue::I32(v) => v.set(fit_i32(value).ok_or_else(|| misfit("i32"))?),
            AnyValue::I64(v) => v.set(value.as_i64().ok_or_else(|| misfit("i64"))?),
            AnyValue::U32(v) => v.set(fit_u32(value).ok_or_else(|| misfit("u32"))?),
            AnyValue::U64(v) => v.set(fit_u64(value).ok_or_else(|| misfit("u64"))?),
            AnyValue::Bool(v) => v.set(fit_bool(value).ok_or_else(|| misfit("bool"))?),
            AnyValue::F64(v) => v.set(value.as_f64().ok_or_else(|| misfit("f64"))?),
        }
        Ok(())
    }

    fn delete(self) -> Result<()> {
        with_value!(self, v => v.delete())?;
        Ok(())
    }
}

fn fit_i32(v: Scalar) -> Option<i32> {
    v.as_i64().and_then(|v| i32::try_from(v).ok())
}
fn fit_u32(v: Scalar) -> Option<u32> {
    fit_u64(v).and_then(|v| u32::try_from(v).ok())
}
fn fit_u64(v: Scalar) -> Option<u64> {
    match v {
        Scalar::UInt(v) => Some(v),
        Scalar::Int(v) => u64::try_from(v).ok(),
        _ => None,
    }
}
fn fit_bool(v: Scalar) -> Option<bool> {
    match v {
        Scalar::Bool(b) => Some(b),
        Scalar::Int(0) | Scalar::UInt(0) => Some(false),
        Scalar::Int(1) | Scalar::UInt(1) => Some(true),
        _ => None,
    }
}

/// Owns every process, pool, task and IPC object it created, by id.
///
/// [`get_process_manager`](crate::get_process_manager) is the process-wide
/// one behind the free functions; tests and libraries can make their own.
/// Queue, value, event and lock ids also work when they come from another
/// process: the manager opens the named object on first use.
pub struct ProcessManager {
    processes: ProcessTable,
    executors: Mutex<HashMap<ExecutorId, Executor>>,
    default_process_pool: Mutex<Option<ExecutorId>>,
    default_thread_pool: Mutex<Option<ExecutorId>>,
    tasks: Mutex<TaskTable>,
    queues: Mutex<HashMap<QueueId, Arc<AnyQueue>>>,
    values: Mutex<HashMap<ValueId, Arc<AnyValue>>>,
    events: Mutex<HashMap<EventId, Arc<Event>>>,
    locks: Mutex<HashMap<LockId, Arc<Lock>>>,
    /// The IPC objects this manager created (not opened) and has not deleted:
    /// shutdown removes their names even while other threads hold handles.
    created: Mutex<HashSet<ObjectId>>,
    next_executor: AtomicU64,
}

impl std::fmt::Debug for ProcessManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessManager")
            .field("processes", &self.processes.len())
            .field("executors", &lock(&self.executors).len())
            .field("tasks", &lock(&self.tasks).entries.len())
            .field("queues", &lock(&self.queues).len())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The handle of IPC object `id`: remembered by the id, else this manager's
/// (created here or opened before), else opened by name with `open` (it was
/// created by another process).
fn resolve<I: CachedId<T>, T>(
    map: &Mutex<HashMap<I, Arc<T>>>,
    id: &I,
    open: impl FnOnce() -> Result<T>,
) -> Result<Arc<T>> {
    if let Some(handle) = id.cached() {
        return Ok(handle);
    }
    let found = lock(map).get(id).cloned();
    let handle = match found {
        Some(handle) => handle,
        None => {
            let opened = Arc::new(open()?);
            lock(map).entry(id.clone()).or_insert(opened).clone()
        }
    };
    id.remember(&handle);
    Ok(handle)
}

/// Registers a handle this manager created under its id.
fn register<I: CachedId<T>, T>(
    map: &Mutex<HashMap<I, Arc<T>>>,
    created: &Mutex<HashSet<ObjectId>>,
    id: &I,
    handle: T,
) {
    let handle = Arc::new(handle);
    id.remember(&handle);
    lock(created).insert(id.name().clone());
    lock(map).insert(id.clone(), handle);
}

/// Drops every handle of `map`. An object whose last handle this was is
/// removed by that handle if it created it; one this manager created that
/// other threads still hold (a blocked `get_queue_item`, a lock guard) is
/// removed by name, so its name never outlives the shutdown.
fn release_all<I: CachedId<T>, T>(
    map: &Mutex<HashMap<I, Arc<T>>>,
    created: &Mutex<HashSet<ObjectId>>,
) {
    let handles: Vec<(I, Arc<T>)> = lock(map).drain().collect();
    for (id, handle) in handles {
        let ours = lock(created).remove(id.name());
        if Arc::strong_count(&handle) > 1 && ours {
            let _ = pp_ipc::unlink(id.name());
        }
        drop(handle);
    }
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
            executors: Mutex::new(HashMap::new()),
            default_process_pool: Mutex::new(None),
            default_thread_pool: Mutex::new(None),
            tasks: Mutex::new(TaskTable::default()),
            queues: Mutex::new(HashMap::new()),
            values: Mutex::new(HashMap::new()),
            events: Mutex::new(HashMap::new()),
            locks: Mutex::new(HashMap::new()),
            created: Mutex::new(HashSet::new()),
            next_executor: AtomicU64::new(1),
        }
    }

    // ----- processes -----

    /// Runs `cmd` and waits for it. A timeout stops its whole process tree and
    /// returns `ManagerError::Process(pp_process::Error::Timeout { .. })`.
    pub fn run_process(&self, cmd: &Command) -> Result<ProcessResult> {
        tracing::debug!(command = ?cmd.argv_lossy(), "run_process");
        Ok(self.processes.run(cmd)?.into())
    }

    /// Starts `cmd` and returns its id at once.
    pub fn run_process_async(&self, cmd: &Command) -> Result<pp_process::ProcessId> {
        tracing::debug!(command = ?cmd.argv_lossy(), "run_process_async");
        Ok(self.processes.spawn(cmd)?.id().clone())
    }

    /// The status of process `id`; `None` if no such process is tracked.
    pub fn get_process_status(&self, id: &str) -> Option<ProcessRecord> {
        self.processes.get(id).map(ProcessRecord::from)
    }

    /// Stops process `id` and its whole tree (SIGTERM, 5 s, SIGKILL). True if
    /// it was running and was stopped; false if unknown or already finished.
    pub fn terminate_process(&self, id: &str) -> bool {
        let running = self.processes.get(id).is_some_and(|p| !p.status.is_finished());
        running
            && matches!(
                self.processes.terminate(id, Some(TERMINATE_GRACE)),
                Ok(TerminateOutcome::Terminated | TerminateOutcome::Killed)
            )
    }

    /// Every tracked process, oldest first.
    pub fn list_processes(&self) -> Vec<ProcessRecord> {
        self.processes.list().into_iter().map(ProcessRecord::from).collect()
    }

    /// Forgets finished processes; returns how many.
    pub fn cleanup_processes(&self) -> usize {
        self.processes.cleanup()
    }

    /// Stops every running process (and its tree); returns how many.
    pub fn terminate_all_processes(&self) -> usize {
        self.processes.terminate_all(TERMINATE_GRACE)
    }

    /// The underlying process table, for what the seed's API does not cover.
    pub fn process_table(&self) -> &ProcessTable {
        &self.processes
    }

    // ----- executors and tasks -----

    fn new_executor_id(&self, kind: &str) -> ExecutorId {
        let n = self.next_executor.fetch_add(1, Ordering::Relaxed);
        ExecutorId::from_str_unchecked(format!("{kind}-pool-{n}"))
    }

    /// Creates a process pool of `max_workers` workers (the program must call
    /// [`init`](crate::init) first thing in `main`).
    pub fn create_process_pool(&self, max_workers: usize) -> Result<ExecutorId> {
        let pool = ProcessPool::new(max_workers)?;
        let id = self.new_executor_id("process");
        lock(&self.executors).insert(id.clone(), Executor::Process(Arc::new(pool)));
        Ok(id)
    }

    /// Creates a thread pool of `max_workers` threads.
    pub fn create_thread_pool(&self, max_workers: usize) -> Result<ExecutorId> {
        let pool = ThreadPool::new(max_workers)?;
        let id = self.new_executor_id("thread");
        lock(&self.executors).insert(id.clone(), Executor::Thread(Arc::new(pool)));
        Ok(id)
    }

    /// The default process pool (one worker per CPU), created on first use.
    pub fn get_default_process_pool(&self) -> Result<ExecutorId> {
        let mut default = lock(&self.default_process_pool);
        if let Some(id) = default.as_ref().filter(|id| lock(&self.executors).contains_key(*id)) {
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
        if let Some(id) = default.as_ref().filter(|id| lock(&self.executors).contains_key(*id)) {
            return Ok(id.clone());
        }
        let id = self.create_thread_pool(pp_pool::default_thread_count())?;
        *default = Some(id.clone());
        Ok(id)
    }

    fn executor(&self, id: &ExecutorId) -> Result<Executor> {
        lock(&self.executors)
            .get(id)
            .cloned()
            .ok_or_else(|| ManagerError::not_found("executor", id.as_str()))
    }

    /// Runs `f(arg)` on executor `executor_id` (default: the default process
    /// pool); returns the task's id. `f` is a plain function or a
    /// non-capturing closure.
    pub fn submit_task<A, R>(
        &self,
        f: fn(A) -> R,
        arg: A,
        executor_id: Option<&ExecutorId>,
    ) -> Result<TaskId>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let executor_id = match executor_id {
            Some(id) => id.clone(),
            None => self.get_default_process_pool()?,
        };
        let handle: TaskHandle<R> = match self.executor(&executor_id)? {
            Executor::Process(pool) => pool.submit(f, arg)?,
            Executor::Thread(pool) => pool.submit(move || f(arg))?,
        };
        let task_id = *handle.id();
        tracing::debug!(%task_id, %executor_id, "submit_task");
        lock(&self.tasks).entries.insert(
            task_id,
            TaskEntry { executor: executor_id, handle: Arc::new(handle), taken: false },
        );
        Ok(task_id)
    }

    fn task(&self, task_id: &TaskId) -> Result<Arc<dyn AnyTask>> {
        lock(&self.tasks)
            .entries
            .get(task_id)
            .map(|entry| entry.handle.clone())
            .ok_or_else(|| ManagerError::not_found("task", &task_id.to_string()))
    }

    /// Waits at most `timeout` (`None`: forever) for task `task_id` and returns
    /// its value as an `R` (the type its function returns).
    ///
    /// Once a finished task's result (or its error) was returned, the task
    /// stays known (its status, its result again) until
    /// [`TAKEN_TASKS_KEPT`](crate::TAKEN_TASKS_KEPT) results of later tasks
    /// were taken; then it is forgotten (`NotFound`, status `None`), so a
    /// program running millions of tasks keeps flat memory. Results never
    /// taken stay until [`cleanup_tasks`](Self::cleanup_tasks).
    pub fn get_task_result<R: Clone + Send + 'static>(
        &self,
        task_id: &TaskId,
        timeout: Option<Duration>,
    ) -> Result<R> {
        let task = self.task(task_id)?;
        let handle = task.as_any().downcast_ref::<TaskHandle<R>>().ok_or_else(|| {
            ManagerError::WrongResultType {
                task_id: task_id.to_string(),
                expected: std::any::type_name::<R>(),
            }
        })?;
        // The seed's `timeout=None` blocks for as long as it takes.
        let outcome = match timeout {
            None => handle.result(),
            Some(limit) => handle.result_timeout(limit),
        };
        if task.status().is_finished() {
            lock(&self.tasks).mark_taken(task_id);
        }
        Ok(outcome?)
    }

    /// Forgets every finished task, its result taken or not; returns how many.
    /// Pending and running tasks stay.
    pub fn cleanup_tasks(&self) -> usize {
        let mut tasks = lock(&self.tasks);
        let before = tasks.entries.len();
        tasks.entries.retain(|_, entry| !entry.handle.status().is_finished());
        let TaskTable { entries, taken } = &mut *tasks;
        taken.retain(|id| entries.contains_key(id));
        tasks.shrink_if_sparse();
        before - tasks.entries.len()
    }

    /// The status of task `task_id`; `None` if unknown.
    pub fn get_task_status(&self, task_id: &TaskId) -> Option<TaskRecord> {
        let tasks = lock(&self.tasks);
        let entry = tasks.entries.get(task_id)?;
        Some(TaskRecord {
            task_id: task_id.to_string(),
            executor_id: entry.executor.to_string(),
            status: entry.handle.status().to_string(),
        })
    }

    /// Cancels task `task_id`: a pending task is dropped, a running process
    /// task is stopped with its worker. False if unknown or already finished.
    pub fn cancel_task(&self, task_id: &TaskId) -> bool {
        self.task(task_id).is_ok_and(|task| task.cancel())
    }

    /// Shuts executor `id` down: with `wait`, lets submitted tasks finish and
    /// waits for its workers; without, cancels what has not run and returns at once.
    pub fn shutdown_executor(&self, id: &ExecutorId, wait: bool) -> Result<()> {
        let executor = lock(&self.executors)
            .remove(id)
            .ok_or_else(|| ManagerError::not_found("executor", id.as_str()))?;
        match executor {
            Executor::Process(pool) => pool.shutdown(wait, !wait),
            Executor::Thread(pool) => pool.shutdown(wait, !wait),
        }
        Ok(())
    }

    /// Every executor of this manager.
    pub fn list_executors(&self) -> Vec<ExecutorInfo> {
        let mut list: Vec<ExecutorInfo> = lock(&self.executors)
            .iter()
            .map(|(id, executor)| {
                let (kind, max_workers) = match executor {
                    Executor::Process(pool) => ("process", pool.max_workers()),
                    Executor::Thread(pool) => ("thread", pool.max_workers()),
                };
                ExecutorInfo { executor_id: id.to_string(), kind: kind.into(), max_workers }
            })
            .collect();
        list.sort_by(|a, b| a.executor_id.cmp(&b.executor_id));
        list
    }

    // ----- queues -----

    /// Creates a queue of at most `maxsize` items (0: bounded by its 1 MiB byte capacity).
    pub fn create_queue(&self, maxsize: usize) -> Result<QueueId> {
        self.create_queue_with(QueueOptions::default().maxsize(maxsize))
    }

    /// Creates a queue with explicit sizes and, optionally, the caller's id.
    pub fn create_queue_with(&self, options: QueueOptions) -> Result<QueueId> {
        let queue = AnyQueue::create_with(options)?;
        let id = QueueId::from(queue.id().clone());
        register(&self.queues, &self.created, &id, queue);
        Ok(id)
    }

    /// The queue `id`: ours, or opened by name (created by another process).
    fn queue(&self, id: &QueueId) -> Result<Arc<AnyQueue>> {
        resolve(&self.queues, id, || {
            AnyQueue::open(id.object_id()).map_err(not_found(QueueId::KIND, id.as_str()))
        })
    }

    /// Puts `item` on queue `id`. With `block`, waits at most `timeout`
    /// (`None`: forever) for room; without, a full queue is `pp_ipc::Error::Full`.
    pub fn put_queue_item<T: Serialize>(
        &self,
        id: &QueueId,
        item: &T,
        block: bool,
        timeout: Option<Duration>,
    ) -> Result<()> {
        let queue = self.queue(id)?;
        // The item is a reference: a failed put hands back only the borrow.
        match (block, timeout) {
            (false, _) => queue.try_put(item).map_err(|e| e.into_error(queue.id()))?,
            (true, None) => queue.put(item).map_err(|e| e.error)?,
            (true, Some(t)) => {
                queue.put_timeout(item, t).map_err(|e| e.into_error(queue.id(), t))?
            }
        };
        Ok(())
    }

    /// Takes the oldest item of queue `id` as a `T`. With `block`, waits at
    /// most `timeout` (`None`: forever); without, an empty queue is `pp_ipc::Error::Empty`.
    pub fn get_queue_item<T: DeserializeOwned>(
        &self,
        id: &QueueId,
        block: bool,
        timeout: Option<Duration>,
    ) -> Result<T> {
        let queue = self.queue(id)?;
        Ok(match (block, timeout) {
            (false, _) => queue.try_get().map_err(|e| e.into_error(queue.id()))?,
            (true, None) => queue.get()?,
            (true, Some(t)) => queue.get_timeout(t).map_err(|e| e.into_error(queue.id(), t))?,
        })
    }

    /// Items in queue `id` now.
    pub fn get_queue_size(&self, id: &QueueId) -> Result<usize> {
        Ok(self.queue(id)?.len())
    }

    /// Whether queue `id` is empty now.
    pub fn is_queue_empty(&self, id: &QueueId) -> Result<bool> {
        Ok(self.queue(id)?.is_empty())
    }

    /// Whether queue `id` is full now.
    pub fn is_queue_full(&self, id: &QueueId) -> Result<bool> {
        Ok(self.queue(id)?.is_full())
    }

    /// Removes every item of queue `id`; returns how many.
    pub fn clear_queue(&self, id: &QueueId) -> Result<usize> {
        Ok(self.queue(id)?.clear()?)
    }

    /// Deletes queue `id`: its name is removed for every process; handles
    /// already open elsewhere keep working until they drop.
    pub fn delete_queue(&self, id: &QueueId) -> Result<()> {
        let queue = self.queue(id)?;
        delete(&self.queues, &self.created, id, queue, |q| Ok(q.delete()?))
    }

    /// The queues this manager has created or opened.
    pub fn list_queues(&self) -> Vec<QueueId> {
        let mut ids: Vec<QueueId> = lock(&self.queues).keys().cloned().collect();
        ids.sort();
        ids
    }

    // ----- shared values -----

    /// Creates a shared value of the seed's `typecode` (`i`, `l`, `I`, `L`,
    /// `b`, `d`) holding `initial`.
    pub fn create_shared_value(
        &self,
        typecode: &str,
        initial: impl Into<Scalar>,
    ) -> Result<ValueId> {
        let id = ObjectId::generate("value")?;
        self.create_shared_value_with_id(id.into(), typecode, initial)
    }

    /// [`create_shared_value`](Self::create_shared_value) with the caller's id.
    pub fn create_shared_value_with_id(
        &self,
        id: ValueId,
        typecode: &str,
        initial: impl Into<Scalar>,
    ) -> Result<ValueId> {
        let value = AnyValue::create(id.object_id().clone(), typecode, initial.into())?;
        register(&self.values, &self.created, &id, value);
        Ok(id)
    }

    /// Creates a shared value of Rust type `T`.
    pub fn create_shared_value_typed<T: ValueType>(&self, initial: T) -> Result<ValueId>
    where
        Scalar: From<T>,
    {
        let typecode = typecode::typecode_of(T::KIND)
            .ok_or_else(|| ManagerError::InvalidTypecode { typecode: T::KIND.to_string() })?;
        self.create_shared_value(typecode, initial)
    }

    fn value(&self, id: &ValueId) -> Result<Arc<AnyValue>> {
        resolve(&self.values, id, || {
            AnyValue::open(id.object_id()).map_err(|e| match e {
                ManagerError::Ipc(pp_ipc::Error::NotFound { .. }) => {
                    ManagerError::not_found(ValueId::KIND, id.as_str())
                }
                other => other,
            })
        })
    }

    /// The value of shared value `id`.
    pub fn get_shared_value(&self, id: &ValueId) -> Result<Scalar> {
        Ok(self.value(id)?.get())
    }

    /// Sets shared value `id`; a value its type cannot hold is refused.
    pub fn set_shared_value(&self, id: &ValueId, value: impl Into<Scalar>) -> Result<()> {
        self.value(id)?.set(id, value.into())
    }

    /// Atomically adds `delta` to integer shared value `id`; returns the previous value.
    pub fn add_shared_value(&self, id: &ValueId, delta: i64) -> Result<Scalar> {
        let value = self.value(id)?;
        let misfit = |holds| ManagerError::ValueDoesNotFit {
            id: shorten(id.as_str()),
            holds,
            value: delta.to_string(),
        };
        Ok(match &*value {
            AnyValue::I32(v) => {
                Scalar::from(v.fetch_add(i32::try_from(delta).map_err(|_| misfit("i32"))?))
            }
            AnyValue::I64(v) => Scalar::from(v.fetch_add(delta)),
            AnyValue::U32(v) => Scalar::from(v.fetch_add(delta as u32)),
            AnyValue::U64(v) => Scalar::from(v.fetch_add(delta as u64)),
            AnyValue::Bool(_) => return Err(misfit("bool")),
            AnyValue::F64(_) => return Err(misfit("f64")),
        })
    }

    /// Deletes shared value `id` (its name, for every process).
    pub fn delete_shared_value(&self, id: &ValueId) -> Result<()> {
        let value = self.value(id)?;
        delete(&self.values, &self.created, id, value, AnyValue::delete)
    }

    // ----- events -----

    /// Creates an event (cleared).
    pub fn create_event(&self) -> Result<EventId> {
        let event = Event::create()?;
        let id = EventId::from(event.id().clone());
        register(&self.events, &self.created, &id, event);
        Ok(id)
    }

    fn event(&self, id: &EventId) -> Result<Arc<Event>> {
        resolve(&self.events, id, || {
            Event::open(id.object_id()).map_err(not_found(EventId::KIND, id.as_str()))
        })
    }

    /// Sets event `id`, waking every waiter in every process.
    pub fn set_event(&self, id: &EventId) -> Result<()> {
        self.event(id)?.set();
        Ok(())
    }

    /// Clears event `id`.
    pub fn clear_event(&self, id: &EventId) -> Result<()> {
        self.event(id)?.clear();
        Ok(())
    }

    /// Waits at most `timeout` (`None`: forever) for event `id`; true if it is set.
    pub fn wait_for_event(&self, id: &EventId, timeout: Option<Duration>) -> Result<bool> {
        let event = self.event(id)?;
        Ok(match timeout {
            None => event.wait().map(|()| true)?,
            Some(timeout) => event.wait_timeout(timeout)?,
        })
    }

    /// Whether event `id` is set.
    pub fn is_event_set(&self, id: &EventId) -> Result<bool> {
        Ok(self.event(id)?.is_set())
    }

    /// Deletes event `id` (its name, for every process).
    pub fn delete_event(&self, id: &EventId) -> Result<()> {
        let event = self.event(id)?;
        delete(&self.events, &self.created, id, event, |e| Ok(e.delete()?))
    }

    // ----- locks -----

    /// Creates a lock.
    pub fn create_lock(&self) -> Result<LockId> {
        let lock_object = Lock::create()?;
        let id = LockId::from(lock_object.id().clone());
        register(&self.locks, &self.created, &id, lock_object);
        Ok(id)
    }

    fn lock_object(&self, id: &LockId) -> Result<Arc<Lock>> {
        resolve(&self.locks, id, || {
            Lock::open(id.object_id()).map_err(not_found(LockId::KIND, id.as_str()))
        })
    }

    /// Acquires lock `id`, waiting at most `timeout` (`None`: forever); false
    /// on timeout. Release it with [`release_lock`](Self::release_lock) from the same thread.
    pub fn acquire_lock(&self, id: &LockId, timeout: Option<Duration>) -> Result<bool> {
        let l = self.lock_object(id)?;
        let acquired = match timeout {
            Some(t) => l.acquire_timeout(t).map_err(|e| e.into_error(l.id(), t)),
            None => l.acquire(),
        };
        match acquired {
            Ok(guard) => {
                if guard.previous_owner_died() {
                    tracing::warn!(lock = %id, "acquired a lock whose previous owner died holding it");
                }
                guard.keep();
                Ok(true)
            }
            Err(pp_ipc::Error::Timeout { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Releases lock `id`, held by this thread.
    pub fn release_lock(&self, id: &LockId) -> Result<()> {
        Ok(self.lock_object(id)?.release()?)
    }

    /// Acquires lock `id` (at most `timeout`) and returns a guard releasing it
    /// when dropped: the seed's `with lock_context(...)`.
    pub fn lock_context(&self, id: &LockId, timeout: Option<Duration>) -> Result<ManagedLockGuard> {
        let l = self.lock_object(id)?;
        let guard = match timeout {
            Some(t) => l.acquire_timeout(t).map_err(|e| e.into_error(l.id(), t))?,
            None => l.acquire()?,
        };
        let previous_owner_died = guard.previous_owner_died();
        guard.keep();
        Ok(ManagedLockGuard { lock: l, previous_owner_died, _not_send: PhantomData })
    }

    /// Deletes lock `id` (its name, for every process).
    pub fn delete_lock(&self, id: &LockId) -> Result<()> {
        let l = self.lock_object(id)?;
        delete(&self.locks, &self.created, id, l, |l| Ok(l.delete()?))
    }

    // ----- shutdown -----

    /// Orderly exit: shuts every executor down (pending tasks cancelled,
    /// running thread-pool tasks waited for, running process-pool tasks
    /// stopped), terminates every tracked process (SIGTERM, 5 s, SIGKILL), and
    /// drops every IPC object: the ones this manager created are removed, even
    /// if another thread still holds one. The manager stays usable afterwards.
    ///
    /// The process-wide manager also does this by itself when the program
    /// exits: see [`shutdown`](crate::shutdown).
    pub fn shutdown(&self) {
        let executors: Vec<Executor> = lock(&self.executors).drain().map(|(_, e)| e).collect();
        for executor in executors {
            match executor {
                Executor::Process(pool) => pool.shutdown(true, true),
                Executor::Thread(pool) => pool.shutdown(true, true),
            }
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
        // Empty cgroups pp-process keeps for reuse would outlive the program.
        pp_process::release_spare_cgroups();
        // The pools stay in the map: dropping a thread pool waits for its running tasks.
        let executors: Vec<Executor> = lock(&self.executors).values().cloned().collect();
        for executor in executors {
            match executor {
                Executor::Process(pool) => pool.shutdown(true, true),
                Executor::Thread(pool) => pool.shutdown(false, true),
            }
        }
    }

    fn release_ipc_objects(&self) {
        release_all(&self.queues, &self.created);
        release_all(&self.values, &self.created);
        release_all(&self.events, &self.created);
        release_all(&self.locks, &self.created);
    }
}

impl Drop for ProcessManager {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Forgets `handle` (resolved from `id`) and removes its object's name: with
/// the object's own `delete` when this was the last handle (so a later drop
/// does not remove a namesake created meanwhile), else by name, leaving the
/// other holders working until they drop.
fn delete<I: CachedId<T>, T>(
    map: &Mutex<HashMap<I, Arc<T>>>,
    created: &Mutex<HashSet<ObjectId>>,
    id: &I,
    handle: Arc<T>,
    delete: impl FnOnce(T) -> Result<()>,
) -> Result<()> {
    lock(map).remove(id);
    lock(created).remove(id.name());
    match Arc::try_unwrap(handle) {
        Ok(handle) => delete(handle),
        Err(_) => Ok(pp_ipc::unlink(id.name())?),
    }
}

/// A lock held by this thread through [`ProcessManager::lock_context`];
/// released when dropped.
#[derive(Debug)]
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ManagedLockGuard {
    lock: Arc<Lock>,
    previous_owner_died: bool,
    _not_send: PhantomData<*const ()>,
}

impl ManagedLockGuard {
    /// Whether the previous holder died holding the lock.
    pub fn previous_owner_died(&self) -> bool {
        self.previous_owner_died
    }
}

impl Drop for ManagedLockGuard {
    fn drop(&mut self) {
        let _ = self.lock.release();
    }
}

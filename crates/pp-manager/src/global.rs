//! The process-wide manager and the seed's free functions, which forward to it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Once, OnceLock};
use std::time::{Duration, Instant};

use pp_ipc::ValueType;
use pp_pool::TaskId;
use pp_process::{Command, ProcessId};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::ids::{EventId, ExecutorId, LockId, QueueId, TypedTaskId, ValueId};
use crate::manager::{ManagedLockGuard, ProcessManager};
use crate::records::{ExecutorInfo, ProcessRecord, ProcessResult, Scalar, TaskRecord};

/// The process-wide manager behind the free functions.
static MANAGER: OnceLock<ProcessManager> = OnceLock::new();

/// How long the exit hook waits for the cleanup: a stubborn child's grace
/// period (5 s) and the pools' shutdown, with room to spare. Past it the
/// program exits anyway rather than hang.
const EXIT_CLEANUP_LIMIT: Duration = Duration::from_secs(15);

/// The process-wide [`ProcessManager`], created on first use.
///
/// Its creation registers an exit hook (`atexit`): a program that returns
/// from `main` (or calls `std::process::exit`) without calling [`shutdown`]
/// still leaves no process and no shared-memory object behind.
pub fn get_process_manager() -> &'static ProcessManager {
    MANAGER.get_or_init(|| {
        register_exit_hook();
        ProcessManager::new()
    })
}

/// Makes a worker of a process started by a process pool run tasks (and a
/// process started as `program --pp-remote-worker URL` a
/// [`pp_remote::Worker`]), and returns at once in any other process. Call it first thing in `main` of
/// a program that uses process pools: workers are fresh copies of the
/// program (see [`pp_pool::init`]).
///
/// Nothing else needs it: the process-wide manager cleans up at exit by
/// itself (see [`shutdown`]).
pub fn init() {
    pp_pool::init();
    pp_remote::init();
}

/// The process that registered the exit hook: a child forked without exec
/// inherits the hook, and must not remove its parent's objects.
static HOOK_OWNER: AtomicU32 = AtomicU32::new(0);

fn register_exit_hook() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        HOOK_OWNER.store(std::process::id(), Ordering::Relaxed);
        // SAFETY: `shutdown_at_exit` is an `extern "C" fn()` that never unwinds
        // (it catches every panic) and touches only 'static data.
        let failed = unsafe { libc::atexit(shutdown_at_exit) } != 0;
        if failed {
            tracing::warn!(
                "cannot register the exit hook: call pp_manager::shutdown() before exit"
            );
        }
    });
}

/// The exit hook: shuts the process-wide manager down on a thread of its
/// own and waits for it at most [`EXIT_CLEANUP_LIMIT`].
///
/// A fresh thread because exit handlers run after the exiting thread's
/// thread-locals were destroyed (which std, channels and logging use), and
/// because the exiting thread may hold something the cleanup waits for; the
/// limit, because other threads still run and may hold the manager's locks.
/// Shared-memory names go first, child processes next, pools last.
extern "C" fn shutdown_at_exit() {
    let _ = catch_unwind(|| {
        if HOOK_OWNER.load(Ordering::Relaxed) != std::process::id() {
            return;
        }
        clean_up_bounded(EXIT_CLEANUP_LIMIT, ProcessManager::shutdown_at_exit);
    });
}

/// Runs `cleanup` on the process-wide manager (if it was ever created) on a
/// fresh thread and waits for it at most `limit`; on the calling thread if
/// no thread can be started. Never panics.
pub(crate) fn clean_up_bounded(limit: Duration, cleanup: fn(&ProcessManager)) {
    let Some(manager) = MANAGER.get() else { return };
    let done = Arc::new(AtomicBool::new(false));
    let finished = done.clone();
    let spawned = std::thread::Builder::new().name("pp-manager-exit".into()).spawn(move || {
        let _ = catch_unwind(AssertUnwindSafe(|| cleanup(manager)));
        finished.store(true, Ordering::Release);
    });
    if spawned.is_err() {
        let _ = catch_unwind(AssertUnwindSafe(|| cleanup(manager)));
        return;
    }
    let deadline = Instant::now() + limit;
    while !done.load(Ordering::Acquire) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Forwards to [`ProcessManager::run_process`].
pub fn run_process(cmd: &Command) -> Result<ProcessResult> {
    get_process_manager().run_process(cmd)
}
/// Forwards to [`ProcessManager::run_process_async`].
pub fn run_process_async(cmd: &Command) -> Result<ProcessId> {
    get_process_manager().run_process_async(cmd)
}
/// Forwards to [`ProcessManager::get_process_status`].
pub fn get_process_status(id: &str) -> Option<ProcessRecord> {
    get_process_manager().get_process_status(id)
}
/// Forwards to [`ProcessManager::terminate_process`].
pub fn terminate_process(id: &str) -> bool {
    get_process_manager().terminate_process(id)
}
/// Forwards to [`ProcessManager::list_processes`].
pub fn list_processes() -> Vec<ProcessRecord> {
    get_process_manager().list_processes()
}
/// Forwards to [`ProcessManager::cleanup_processes`].
pub fn cleanup_processes() -> usize {
    get_process_manager().cleanup_processes()
}
/// Forwards to [`ProcessManager::terminate_all_processes`].
pub fn terminate_all_processes() -> usize {
    get_process_manager().terminate_all_processes()
}

/// Forwards to [`ProcessManager::create_process_pool`].
pub fn create_process_pool(max_workers: usize) -> Result<ExecutorId> {
    get_process_manager().create_process_pool(max_workers)
}
/// Forwards to [`ProcessManager::create_remote_pool`].
pub fn create_remote_pool(url: &str) -> Result<ExecutorId> {
    get_process_manager().create_remote_pool(url)
}
/// Forwards to [`ProcessManager::create_remote_pool_with`].
pub fn create_remote_pool_with(url: &str, options: pp_remote::RemoteOptions) -> Result<ExecutorId> {
    get_process_manager().create_remote_pool_with(url, options)
}
/// Forwards to [`ProcessManager::create_thread_pool`].
pub fn create_thread_pool(max_workers: usize) -> Result<ExecutorId> {
    get_process_manager().create_thread_pool(max_workers)
}
/// Forwards to [`ProcessManager::get_default_process_pool`].
pub fn get_default_process_pool() -> Result<ExecutorId> {
    get_process_manager().get_default_process_pool()
}
/// Forwards to [`ProcessManager::get_default_thread_pool`].
pub fn get_default_thread_pool() -> Result<ExecutorId> {
    get_process_manager().get_default_thread_pool()
}
/// Forwards to [`ProcessManager::submit_task`].
pub fn submit_task<A, R>(f: fn(A) -> R, arg: A, executor_id: Option<&ExecutorId>) -> Result<TaskId>
where
    A: Serialize + DeserializeOwned + Send + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    get_process_manager().submit_task(f, arg, executor_id)
}
/// Forwards to [`ProcessManager::get_task_result`].
pub fn get_task_result<R: Clone + Send + 'static>(
    task_id: &TaskId,
    timeout: Option<Duration>,
) -> Result<R> {
    get_process_manager().get_task_result(task_id, timeout)
}
/// Forwards to [`ProcessManager::submit_typed_task`].
pub fn submit_typed_task<A, R>(
    f: fn(A) -> R,
    arg: A,
    executor_id: Option<&ExecutorId>,
) -> Result<TypedTaskId<R>>
where
    A: Serialize + DeserializeOwned + Send + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    get_process_manager().submit_typed_task(f, arg, executor_id)
}
/// Forwards to [`ProcessManager::take_task_result`].
pub fn take_task_result<R: Send + 'static>(
    task: &TypedTaskId<R>,
    timeout: Option<Duration>,
) -> Result<R> {
    get_process_manager().take_task_result(task, timeout)
}
/// Forwards to [`ProcessManager::get_task_status`].
pub fn get_task_status(task_id: &TaskId) -> Option<TaskRecord> {
    get_process_manager().get_task_status(task_id)
}
/// Forwards to [`ProcessManager::cleanup_tasks`].
pub fn cleanup_tasks() -> usize {
    get_process_manager().cleanup_tasks()
}
/// Forwards to [`ProcessManager::cancel_task`].
pub fn cancel_task(task_id: &TaskId) -> bool {
    get_process_manager().cancel_task(task_id)
}
/// Forwards to [`ProcessManager::shutdown_executor`].
pub fn shutdown_executor(id: &ExecutorId, wait: bool) -> Result<()> {
    get_process_manager().shutdown_executor(id, wait)
}
/// Forwards to [`ProcessManager::list_executors`].
pub fn list_executors() -> Vec<ExecutorInfo> {
    get_process_manager().list_executors()
}

/// Forwards to [`ProcessManager::create_queue`].
pub fn create_queue(maxsize: usize) -> Result<QueueId> {
    get_process_manager().create_queue(maxsize)
}
/// Forwards to [`ProcessManager::put_queue_item`].
pub fn put_queue_item<T: Serialize>(
    id: &QueueId,
    item: &T,
    block: bool,
    timeout: Option<Duration>,
) -> Result<()> {
    get_process_manager().put_queue_item(id, item, block, timeout)
}
/// Forwards to [`ProcessManager::get_queue_item`].
pub fn get_queue_item<T: DeserializeOwned>(
    id: &QueueId,
    block: bool,
    timeout: Option<Duration>,
) -> Result<T> {
    get_process_manager().get_queue_item(id, block, timeout)
}
/// Forwards to [`ProcessManager::get_queue_size`].
pub fn get_queue_size(id: &QueueId) -> Result<usize> {
    get_process_manager().get_queue_size(id)
}
/// Forwards to [`ProcessManager::is_queue_empty`].
pub fn is_queue_empty(id: &QueueId) -> Result<bool> {
    get_process_manager().is_queue_empty(id)
}
/// Forwards to [`ProcessManager::is_queue_full`].
pub fn is_queue_full(id: &QueueId) -> Result<bool> {
    get_process_manager().is_queue_full(id)
}
/// Forwards to [`ProcessManager::clear_queue`].
pub fn clear_queue(id: &QueueId) -> Result<usize> {
    get_process_manager().clear_queue(id)
}
/// Forwards to [`ProcessManager::delete_queue`].
pub fn delete_queue(id: &QueueId) -> Result<()> {
    get_process_manager().delete_queue(id)
}
/// Forwards to [`ProcessManager::list_queues`].
pub fn list_queues() -> Vec<QueueId> {
    get_process_manager().list_queues()
}

/// Forwards to [`ProcessManager::create_shared_value`].
pub fn create_shared_value(typecode: &str, initial: impl Into<Scalar>) -> Result<ValueId> {
    get_process_manager().create_shared_value(typecode, initial)
}
/// Forwards to [`ProcessManager::create_shared_value_typed`].
pub fn create_shared_value_typed<T: ValueType>(initial: T) -> Result<ValueId>
where
    Scalar: From<T>,
{
    get_process_manager().create_shared_value_typed(initial)
}
/// Forwards to [`ProcessManager::get_shared_value`].
pub fn get_shared_value(id: &ValueId) -> Result<Scalar> {
    get_process_manager().get_shared_value(id)
}
/// Forwards to [`ProcessManager::set_shared_value`].
pub fn set_shared_value(id: &ValueId, value: impl Into<Scalar>) -> Result<()> {
    get_process_manager().set_shared_value(id, value)
}
/// Forwards to [`ProcessManager::add_shared_value`].
pub fn add_shared_value(id: &ValueId, delta: i64) -> Result<Scalar> {
    get_process_manager().add_shared_value(id, delta)
}

/// Forwards to [`ProcessManager::create_event`].
pub fn create_event() -> Result<EventId> {
    get_process_manager().create_event()
}
/// Forwards to [`ProcessManager::set_event`].
pub fn set_event(id: &EventId) -> Result<()> {
    get_process_manager().set_event(id)
}
/// Forwards to [`ProcessManager::clear_event`].
pub fn clear_event(id: &EventId) -> Result<()> {
    get_process_manager().clear_event(id)
}
/// Forwards to [`ProcessManager::wait_for_event`].
pub fn wait_for_event(id: &EventId, timeout: Option<Duration>) -> Result<bool> {
    get_process_manager().wait_for_event(id, timeout)
}
/// Forwards to [`ProcessManager::is_event_set`].
pub fn is_event_set(id: &EventId) -> Result<bool> {
    get_process_manager().is_event_set(id)
}

/// Forwards to [`ProcessManager::create_lock`].
pub fn create_lock() -> Result<LockId> {
    get_process_manager().create_lock()
}
/// Forwards to [`ProcessManager::acquire_lock`].
pub fn acquire_lock(id: &LockId, timeout: Option<Duration>) -> Result<bool> {
    get_process_manager().acquire_lock(id, timeout)
}
/// Forwards to [`ProcessManager::release_lock`].
pub fn release_lock(id: &LockId) -> Result<()> {
    get_process_manager().release_lock(id)
}
/// Forwards to [`ProcessManager::lock_context`].
pub fn lock_context(id: &LockId, timeout: Option<Duration>) -> Result<ManagedLockGuard> {
    get_process_manager().lock_context(id, timeout)
}

/// Shuts the process-wide manager down ([`ProcessManager::shutdown`]): stops
/// its pools, terminates its processes, removes the IPC objects it created.
///
/// Calling it is optional: when the program exits (returns from `main`, or
/// calls `std::process::exit`), an exit hook registered when the manager was
/// created does the same, except that it does not wait for running
/// thread-pool tasks, and gives up after 15 s rather than hang the exit.
/// Calling it yourself lets running tasks finish and reports nothing left.
/// A program killed by a signal runs no hook: `pp_manager::ipc::sweep()`
/// later removes the objects it left, and pool workers die with it.
pub fn shutdown() {
    get_process_manager().shutdown()
}

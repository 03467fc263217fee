//! Ending a pool, both kinds: `close` and `abort` return at once,
//! `shutdown` and `shutdown_now` wait; `close`/`shutdown` run the queue,
//! `abort`/`shutdown_now` cancel it (and stop running process tasks).

use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pp_pool::{
    PoolError, ProcessPool, TaskError, TaskErrorKind, TaskHandle, TaskStatus, ThreadPool,
};

use crate::support::{eventually, is_gone};

pub(crate) const TESTS: &[pp_tests::Test] = &[
    (
        "shutdown::thread_close_runs_the_queue_without_waiting",
        thread_close_runs_the_queue_without_waiting,
    ),
    (
        "shutdown::thread_abort_cancels_the_queue_and_keeps_the_running_value",
        thread_abort_cancels_the_queue_and_keeps_the_running_value,
    ),
    ("shutdown::thread_shutdown_waits_for_the_queue", thread_shutdown_waits_for_the_queue),
    (
        "shutdown::thread_shutdown_now_waits_for_the_running_task_only",
        thread_shutdown_now_waits_for_the_running_task_only,
    ),
    (
        "shutdown::thread_shutdown_from_a_task_of_the_pool_returns",
        thread_shutdown_from_a_task_of_the_pool_returns,
    ),
    (
        "shutdown::process_close_runs_the_queue_without_waiting",
        process_close_runs_the_queue_without_waiting,
    ),
    (
        "shutdown::process_abort_cancels_everything_without_waiting",
        process_abort_cancels_everything_without_waiting,
    ),
    ("shutdown::process_shutdown_waits_for_the_queue", process_shutdown_waits_for_the_queue),
    (
        "shutdown::process_shutdown_now_stops_the_running_task_and_waits",
        process_shutdown_now_stops_the_running_task_and_waits,
    ),
];

const WAIT: Duration = Duration::from_secs(60);
/// How long a test keeps a task (and so a blocking call) waiting.
const HOLD: Duration = Duration::from_millis(200);

fn is_cancelled<R>(task: &TaskHandle<R>) -> bool {
    matches!(task.try_take_result(), Err(TaskError { kind: TaskErrorKind::Cancelled, .. }))
}

/// A thread pool of one thread, busy with a task that returns 1 once `release` is sent.
fn busy_thread_pool() -> (ThreadPool, TaskHandle<i32>, std::sync::mpsc::Sender<()>) {
    let pool = ThreadPool::new(1).unwrap();
    let (release, gate): (_, Receiver<()>) = channel();
    let gate = Mutex::new(gate);
    let blocker = pool
        .submit(move || {
            let _ = gate.lock().unwrap().recv_timeout(WAIT);
            1
        })
        .unwrap();
    assert!(eventually(WAIT, || blocker.status() == TaskStatus::Running));
    (pool, blocker, release)
}

/// Sends on `release` after [`HOLD`], from another thread.
fn release_later(release: std::sync::mpsc::Sender<()>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        std::thread::sleep(HOLD);
        let _ = release.send(());
    })
}

fn thread_close_runs_the_queue_without_waiting() {
    let (pool, blocker, release) = busy_thread_pool();
    let queued = pool.submit(|| 2).unwrap();
    pool.close();
    assert_eq!(queued.status(), TaskStatus::Pending, "close did not wait for the queue");
    assert!(matches!(pool.submit(|| 3), Err(PoolError::ShutDown)));
    release.send(()).unwrap();
    assert_eq!(blocker.result_timeout(WAIT).unwrap(), 1);
    assert_eq!(queued.result_timeout(WAIT).unwrap(), 2, "a closed pool still runs its queue");
}

fn thread_abort_cancels_the_queue_and_keeps_the_running_value() {
    let (pool, blocker, release) = busy_thread_pool();
    let queued: Vec<_> = (0..3).map(|i| pool.submit(move || i).unwrap()).collect();
    pool.abort();
    assert_eq!(blocker.status(), TaskStatus::Running, "abort did not wait");
    assert!(queued.iter().all(is_cancelled), "the queue was cancelled at once");
    assert!(matches!(pool.submit(|| 3), Err(PoolError::ShutDown)));
    release.send(()).unwrap();
    assert_eq!(blocker.result_timeout(WAIT).unwrap(), 1, "a running closure keeps its value");
}

fn thread_shutdown_waits_for_the_queue() {
    let (pool, blocker, release) = busy_thread_pool();
    let queued = pool.submit(|| 2).unwrap();
    let releaser = release_later(release);
    pool.shutdown();
    assert_eq!(blocker.try_result().unwrap(), Some(1));
    assert_eq!(queued.try_result().unwrap(), Some(2), "finished when shutdown returned");
    releaser.join().unwrap();
}

fn thread_shutdown_now_waits_for_the_running_task_only() {
    let (pool, blocker, release) = busy_thread_pool();
    let queued = pool.submit(|| 2).unwrap();
    let releaser = release_later(release);
    pool.shutdown_now();
    assert_eq!(blocker.try_result().unwrap(), Some(1));
    assert!(is_cancelled(&queued));
    releaser.join().unwrap();
}

fn thread_shutdown_from_a_task_of_the_pool_returns() {
    let pool = Arc::new(ThreadPool::new(2).unwrap());
    let other = pool.submit(|| std::thread::sleep(HOLD)).unwrap();
    let inner = pool.clone();
    let task = pool.submit(move || inner.shutdown()).unwrap();
    task.result_timeout(WAIT).expect("shutdown inside the pool neither hangs nor panics");
    assert!(other.try_result().unwrap().is_some(), "it still waited for the other thread");
}

fn process_close_runs_the_queue_without_waiting() {
    let pool = ProcessPool::new(1).unwrap();
    // Long enough that the queued task cannot have run by the check below.
    let running = pool.submit(crate::support::process_sleep, 3000).unwrap();
    let queued = pool.submit(crate::support::process_sleep, 1).unwrap();
    pool.close();
    assert!(!queued.status().is_finished(), "close did not wait for the queue");
    assert!(matches!(pool.submit(crate::support::process_sleep, 1), Err(PoolError::ShutDown)));
    assert_eq!(running.result_timeout(WAIT).unwrap(), 3000);
    assert_eq!(queued.result_timeout(WAIT).unwrap(), 1, "a closed pool still runs its queue");
    let workers = pool.worker_pids();
    drop(pool);
    assert!(workers.iter().all(|&pid| is_gone(pid)));
}

fn process_abort_cancels_everything_without_waiting() {
    let pool = ProcessPool::new(1).unwrap();
    let running = pool.submit(crate::support::process_sleep, 60_000).unwrap();
    assert!(eventually(WAIT, || running.status() == TaskStatus::Running));
    let queued = pool.submit(crate::support::process_sleep, 1).unwrap();
    let workers = pool.worker_pids();
    pool.abort();
    assert!(is_cancelled(&queued), "the queue was cancelled at once");
    assert!(matches!(pool.submit(crate::support::process_sleep, 1), Err(PoolError::ShutDown)));
    assert!(matches!(
        running.result_timeout(WAIT),
        Err(TaskError { kind: TaskErrorKind::Cancelled, .. })
    ));
    assert!(eventually(WAIT, || workers.iter().all(|&pid| is_gone(pid))), "worker stopped");
}

fn process_shutdown_waits_for_the_queue() {
    let pool = ProcessPool::new(1).unwrap();
    let running = pool.submit(crate::support::process_sleep, 200).unwrap();
    let queued = pool.submit(crate::support::process_sleep, 1).unwrap();
    let workers = pool.worker_pids();
    pool.shutdown();
    assert_eq!(running.try_result().unwrap(), Some(200));
    assert_eq!(queued.try_result().unwrap(), Some(1), "finished when shutdown returned");
    assert!(workers.iter().all(|&pid| is_gone(pid)), "workers exited and were reaped");
}

fn process_shutdown_now_stops_the_running_task_and_waits() {
    let pool = ProcessPool::new(1).unwrap();
    let running = pool.submit(crate::support::process_sleep, 60_000).unwrap();
    assert!(eventually(WAIT, || running.status() == TaskStatus::Running));
    let queued = pool.submit(crate::support::process_sleep, 1).unwrap();
    let workers = pool.worker_pids();
    pool.shutdown_now();
    assert!(is_cancelled(&running), "the running task was stopped before shutdown_now returned");
    assert!(is_cancelled(&queued));
    assert!(workers.iter().all(|&pid| is_gone(pid)), "workers stopped and reaped");
}

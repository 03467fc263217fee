//! The thread pool.

use std::time::Duration;

use pp_pool::{TaskError, TaskStatus, ThreadPool};

pub(crate) const TESTS: &[crate::Test] = &[
    ("thread::results_come_back", results_come_back),
    (
        "thread::a_panic_fails_one_task_and_the_pool_lives_on",
        a_panic_fails_one_task_and_the_pool_lives_on,
    ),
    (
        "thread::a_running_task_is_cancelled_through_its_token",
        a_running_task_is_cancelled_through_its_token,
    ),
    ("thread::shutdown_cancels_pending_tasks", shutdown_cancels_pending_tasks),
    ("thread::waiting_for_a_result_times_out", waiting_for_a_result_times_out),
    ("thread::the_default_size_follows_python", the_default_size_follows_python),
];

fn results_come_back() {
    let pool = ThreadPool::new(4).unwrap();
    let tasks: Vec<_> = (0..100u64).map(|i| pool.submit(move || i * 2).unwrap()).collect();
    for (i, task) in tasks.iter().enumerate() {
        assert_eq!(task.result(Some(Duration::from_secs(10))).unwrap(), i as u64 * 2);
        assert_eq!(task.status(), TaskStatus::Completed);
    }
    let text = pool.submit(|| String::from("not Clone-bound")).unwrap();
    assert_eq!(text.take_result(None).unwrap(), "not Clone-bound");
    assert!(matches!(text.take_result(None), Err(TaskError::ResultTaken { .. })));
}

fn a_panic_fails_one_task_and_the_pool_lives_on() {
    let pool = ThreadPool::new(2).unwrap();
    let bad = pool.submit(|| -> u32 { panic!("boom {}", 7) }).unwrap();
    let err = bad.result(None).unwrap_err();
    assert!(matches!(&err, TaskError::Panicked { message, .. } if message == "boom 7"), "{err}");
    assert_eq!(bad.status(), TaskStatus::Failed);
    let good: Vec<_> = (0..20).map(|i| pool.submit(move || i).unwrap()).collect();
    assert_eq!(good.iter().map(|t| t.result(None).unwrap()).sum::<i32>(), 190);
}

fn a_running_task_is_cancelled_through_its_token() {
    let pool = ThreadPool::new(1).unwrap();
    let task = pool
        .submit_cancellable(|token| {
            while !token.is_cancelled() {
                std::thread::sleep(Duration::from_millis(5));
            }
            "stopped early"
        })
        .unwrap();
    assert!(crate::support::eventually(Duration::from_secs(10), || task.status()
        == TaskStatus::Running));
    assert!(task.cancel());
    assert!(matches!(task.result(Some(Duration::from_secs(10))), Err(TaskError::Cancelled { .. })));
    assert_eq!(task.status(), TaskStatus::Cancelled);
    assert!(!task.cancel(), "a finished task cannot be cancelled");
    assert_eq!(pool.submit(|| 5).unwrap().result(None).unwrap(), 5, "the thread is free again");
}

fn shutdown_cancels_pending_tasks() {
    let pool = ThreadPool::new(1).unwrap();
    let blocker = pool.submit(|| std::thread::sleep(Duration::from_millis(300))).unwrap();
    assert!(crate::support::eventually(Duration::from_secs(10), || blocker.status()
        == TaskStatus::Running));
    let pending: Vec<_> = (0..5).map(|i| pool.submit(move || i).unwrap()).collect();
    assert!(pending[0].cancel(), "a pending task is dropped");
    pool.shutdown(true, true);
    assert!(blocker.result(None).is_ok(), "the running task finished");
    for task in &pending {
        assert!(matches!(
            task.result(Some(Duration::from_secs(1))),
            Err(TaskError::Cancelled { .. })
        ));
    }
    assert!(pool.submit(|| 1).is_err(), "no tasks after shutdown");
}

fn waiting_for_a_result_times_out() {
    let pool = ThreadPool::new(1).unwrap();
    let slow = pool.submit(|| std::thread::sleep(Duration::from_millis(500))).unwrap();
    let started = std::time::Instant::now();
    let err = slow.result(Some(Duration::from_millis(100))).unwrap_err();
    assert!(matches!(err, TaskError::Timeout { .. }), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert!(slow.result(None).is_ok(), "the task itself went on");
}

fn the_default_size_follows_python() {
    let cpus = std::thread::available_parallelism().unwrap().get();
    assert_eq!(pp_pool::default_thread_count(), (cpus + 4).min(32));
    let pool = pp_pool::default_thread_pool().unwrap();
    assert_eq!(pool.max_workers(), (cpus + 4).min(32));
    assert!(std::ptr::eq(pool, pp_pool::default_thread_pool().unwrap()), "created once");
    assert!(matches!(ThreadPool::new(0), Err(pp_pool::PoolError::NoWorkers)));
}

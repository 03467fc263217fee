//! The thread pool.

use std::time::Duration;

use pp_pool::{TaskError, TaskErrorKind, TaskStatus, ThreadPool};

pub(crate) const TESTS: &[pp_tests::Test] = &[
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
    ("thread::the_default_pool_has_one_thread_per_cpu", the_default_pool_has_one_thread_per_cpu),
    ("thread::task_results_have_the_four_waiting_forms", task_results_have_the_four_waiting_forms),
];

/// `x()`, `try_x()`, `x_timeout(d)`, `x_deadline(t)` for `wait`, `result` and
/// `take_result`, on a task that finishes only when the test lets it.
fn task_results_have_the_four_waiting_forms() {
    let pool = ThreadPool::new(1).unwrap();
    let (go, gate) = std::sync::mpsc::channel::<()>();
    let gate = std::sync::Mutex::new(gate);
    let task = pool
        .submit(move || {
            let _ = gate.lock().unwrap().recv();
            String::from("done")
        })
        .unwrap();
    let short = Duration::from_millis(50);
    // Not finished yet: the try forms say so, the timed ones give up in time.
    assert_eq!(task.try_result().unwrap(), None);
    assert_eq!(task.try_take_result().unwrap(), None);
    for (name, outcome) in [
        ("result_timeout", task.result_timeout(short).map(drop)),
        ("wait_timeout", task.wait_timeout(short).map(drop)),
    ] {
        assert!(
            matches!(outcome, Err(TaskError { kind: TaskErrorKind::Timeout { waited }, .. }) if waited == short),
            "{name}: {outcome:?}"
        );
    }
    let started = std::time::Instant::now();
    let err = task.result_deadline(started + short).unwrap_err();
    assert!(started.elapsed() >= short, "gave up at the deadline, not before");
    assert!(matches!(err.kind, TaskErrorKind::Timeout { .. }), "{err}");
    let err = task.take_result_deadline(std::time::Instant::now()).unwrap_err();
    assert!(
        matches!(err.kind, TaskErrorKind::Timeout { .. }),
        "a past deadline does not wait: {err}"
    );
    // Released: the blocking forms return, Duration::MAX is "no deadline".
    go.send(()).unwrap();
    assert_eq!(task.wait().unwrap(), TaskStatus::Completed);
    assert_eq!(task.wait_timeout(Duration::MAX).unwrap(), TaskStatus::Completed);
    assert_eq!(task.result_timeout(Duration::MAX).unwrap(), "done");
    assert_eq!(task.result().unwrap(), "done");
    assert_eq!(task.try_result().unwrap().as_deref(), Some("done"));
    assert_eq!(task.take_result_timeout(Duration::MAX).unwrap(), "done");
    assert!(matches!(task.take_result(), Err(TaskError { kind: TaskErrorKind::ResultTaken, .. })));
    assert!(matches!(
        task.try_take_result(),
        Err(TaskError { kind: TaskErrorKind::ResultTaken, .. })
    ));
}

fn results_come_back() {
    let pool = ThreadPool::new(4).unwrap();
    let tasks: Vec<_> = (0..100u64).map(|i| pool.submit(move || i * 2).unwrap()).collect();
    for (i, task) in tasks.iter().enumerate() {
        assert_eq!(task.result_timeout(Duration::from_secs(10)).unwrap(), i as u64 * 2);
        assert_eq!(task.status(), TaskStatus::Completed);
    }
    let text = pool.submit(|| String::from("not Clone-bound")).unwrap();
    assert_eq!(text.take_result().unwrap(), "not Clone-bound");
    assert!(matches!(text.take_result(), Err(TaskError { kind: TaskErrorKind::ResultTaken, .. })));
}

fn a_panic_fails_one_task_and_the_pool_lives_on() {
    let pool = ThreadPool::new(2).unwrap();
    let bad = pool.submit(|| -> u32 { panic!("boom {}", 7) }).unwrap();
    let err = bad.result().unwrap_err();
    assert!(
        matches!(&err.kind, TaskErrorKind::Panicked { message } if message == "boom 7"),
        "{err}"
    );
    assert_eq!(bad.status(), TaskStatus::Failed);
    let good: Vec<_> = (0..20).map(|i| pool.submit(move || i).unwrap()).collect();
    assert_eq!(good.iter().map(|t| t.result().unwrap()).sum::<i32>(), 190);
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
    assert!(matches!(
        task.result_timeout(Duration::from_secs(10)),
        Err(TaskError { kind: TaskErrorKind::Cancelled, .. })
    ));
    assert_eq!(task.status(), TaskStatus::Cancelled);
    assert!(!task.cancel(), "a finished task cannot be cancelled");
    assert_eq!(pool.submit(|| 5).unwrap().result().unwrap(), 5, "the thread is free again");
}

fn shutdown_cancels_pending_tasks() {
    let pool = ThreadPool::new(1).unwrap();
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let blocker = pool.submit(move || gate.recv().is_ok()).unwrap();
    assert!(crate::support::eventually(Duration::from_secs(10), || blocker.status()
        == TaskStatus::Running));
    let pending: Vec<_> = (0..5).map(|i| pool.submit(move || i).unwrap()).collect();
    assert!(pending[0].cancel(), "a pending task is dropped");
    // The blocker runs until shutdown_now has cancelled the queue (which it
    // does before it waits for the running task).
    let last = pending[4].clone();
    let releaser = std::thread::spawn(move || {
        let cancelled = crate::support::eventually(Duration::from_secs(60), || {
            last.status() == TaskStatus::Cancelled
        });
        let _ = release.send(());
        cancelled
    });
    pool.shutdown_now();
    assert!(releaser.join().unwrap(), "shutdown_now did not cancel the queued tasks");
    assert_eq!(blocker.result().ok(), Some(true), "the running task finished");
    for task in &pending {
        assert!(matches!(
            task.result_timeout(Duration::from_secs(1)),
            Err(TaskError { kind: TaskErrorKind::Cancelled, .. })
        ));
    }
    assert!(pool.submit(|| 1).is_err(), "no tasks after shutdown");
}

fn waiting_for_a_result_times_out() {
    let pool = ThreadPool::new(1).unwrap();
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let slow = pool.submit(move || gate.recv().is_ok()).unwrap();
    let started = std::time::Instant::now();
    let err = slow.result_timeout(Duration::from_millis(100)).unwrap_err();
    assert!(matches!(err.kind, TaskErrorKind::Timeout { .. }), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(100));
    release.send(()).unwrap();
    assert_eq!(slow.result().ok(), Some(true), "the task itself went on");
}

fn the_default_pool_has_one_thread_per_cpu() {
    let cpus = std::thread::available_parallelism().unwrap().get();
    let pool = pp_pool::default_thread_pool().unwrap();
    assert_eq!(pool.max_workers(), cpus);
    assert!(std::ptr::eq(pool, pp_pool::default_thread_pool().unwrap()), "created once");
    assert!(matches!(ThreadPool::new(0), Err(pp_pool::PoolError::NoWorkers)));
}

//! Task results awaited from async code: under tokio's current-thread and
//! multi-thread runtimes and `futures::executor::block_on`, with timeouts,
//! `select!`, dropped futures and crashing workers. Default libtest harness.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::FutureExt;
use pp_pool::{ProcessPool, TaskErrorKind, TaskStatus, ThreadPool};
use pp_tests::watchdog;

pp_pool::enable_test_support!();

/// Hang guards: far above what any of these tests needs.
const LIMIT: Duration = Duration::from_secs(120);
const WAIT: Duration = Duration::from_secs(60);
/// Set in the child that a test counting threads re-runs itself in.
const ALONE: &str = "PP_POOL_ASYNC_TEST_ALONE";

fn triple(x: u64) -> u64 {
    x * 3
}

fn slow_triple(x: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(40));
    x * 3
}

fn sleep_then_one(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    1
}

fn abort(_: ()) -> u64 {
    std::process::abort()
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
}

/// This process's thread count, from /proc/self/status.
fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Threads:")).unwrap();
    line["Threads:".len()..].trim().parse().unwrap()
}

/// Runs `test` in this process if it is the child started for it, else
/// re-runs this binary with only the test `name`, so no other test's
/// threads come and go while it counts.
fn alone(name: &str, test: impl FnOnce() + Send + 'static) {
    if std::env::var_os(ALONE).is_some() {
        return watchdog(LIMIT, test);
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--test-threads=1", "--nocapture"])
        .env(ALONE, "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    println!("{text}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{name} failed alone: {}", output.status);
    assert!(text.contains("1 passed"), "{name} did not run alone: {text}");
}

#[test]
fn many_pending_awaits_cost_no_thread() {
    alone("many_pending_awaits_cost_no_thread", || {
        let runtime = current_thread();
        let threads_pool = ThreadPool::new(2).unwrap();
        let processes = ProcessPool::new(2).unwrap();
        // Every pool thread and worker is up before counting.
        assert_eq!(threads_pool.submit(|| 1).unwrap().result_timeout(WAIT).unwrap(), 1);
        assert_eq!(processes.submit(triple, 1).unwrap().result_timeout(WAIT).unwrap(), 3);

        let gate = Arc::new(AtomicBool::new(false));
        let thread_tasks: Vec<_> = (0..200u64)
            .map(|i| {
                let gate = gate.clone();
                threads_pool
                    .submit(move || {
                        while !gate.load(Ordering::Acquire) {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        i * 2
                    })
                    .unwrap()
            })
            .collect();
        let process_tasks: Vec<_> =
            (0..50u64).map(|i| processes.submit(slow_triple, i).unwrap()).collect();
        let before = threads();

        let (thread_values, process_values, during, pending) = runtime.block_on(async {
            let thread_values =
                futures::future::join_all(thread_tasks.iter().map(|t| t.result_async()));
            let process_values =
                futures::future::join_all(process_tasks.iter().map(|t| t.result_async()));
            let count = async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let during = threads();
                let pending = thread_tasks
                    .iter()
                    .chain(&process_tasks)
                    .filter(|t| !t.status().is_finished())
                    .count();
                gate.store(true, Ordering::Release);
                (during, pending)
            };
            let (thread_values, process_values, (during, pending)) =
                tokio::join!(thread_values, process_values, count);
            (thread_values, process_values, during, pending)
        });

        println!(
            "threads before awaiting: {before}, while {pending} awaits were pending: {during}"
        );
        assert!(pending >= 200, "the awaits were pending when counted ({pending})");
        assert_eq!(during, before, "pending awaits started threads");
        for (i, value) in thread_values.into_iter().enumerate() {
            assert_eq!(value.unwrap(), i as u64 * 2);
        }
        for (i, value) in process_values.into_iter().enumerate() {
            assert_eq!(value.unwrap(), i as u64 * 3);
        }
    });
}

#[test]
fn a_process_task_is_awaited_on_a_multi_thread_runtime() {
    watchdog(LIMIT, || {
        let pool = ProcessPool::new(1).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .unwrap();
        let task = pool.submit(slow_triple, 14).unwrap();
        // Spawned: polled on a runtime thread, not the one that blocks.
        let value = runtime.block_on(async move { tokio::spawn(task.into_future()).await });
        assert_eq!(value.unwrap().unwrap(), 42);
    });
}

#[test]
fn a_process_task_is_awaited_with_a_minimal_executor() {
    watchdog(LIMIT, || {
        let pool = ProcessPool::new(1).unwrap();
        let task = pool.submit(slow_triple, 5).unwrap();
        assert_eq!(futures::executor::block_on(task.result_async()).unwrap(), 15);
        assert_eq!(
            futures::executor::block_on(async { task.clone().await }).unwrap(),
            15,
            "awaiting takes it"
        );
        let again = futures::executor::block_on(task.take_result_async()).unwrap_err();
        assert!(matches!(again.kind, TaskErrorKind::ResultTaken), "{again}");
    });
}

#[test]
fn a_runtime_timeout_expires_and_the_task_can_then_be_cancelled() {
    watchdog(LIMIT, || {
        let pool = ProcessPool::new(1).unwrap();
        let task = pool.submit(sleep_then_one, 60_000).unwrap();
        let limit = Duration::from_millis(200);
        let start = Instant::now();
        let outcome = current_thread()
            .block_on(async { tokio::time::timeout(limit, task.result_async()).await });
        assert!(outcome.is_err(), "the timer won: {outcome:?}");
        assert!(start.elapsed() >= limit);
        assert!(task.cancel());
        let err = task.result_timeout(WAIT).unwrap_err();
        assert!(matches!(err.kind, TaskErrorKind::Cancelled), "{err}");
        assert_eq!(task.status(), TaskStatus::Cancelled);
    });
}

#[test]
fn select_between_a_task_and_a_timer_works_both_ways() {
    watchdog(LIMIT, || {
        let pool = ProcessPool::new(2).unwrap();
        let quick = pool.submit(triple, 7).unwrap();
        let slow = pool.submit(sleep_then_one, 1_500).unwrap();
        current_thread().block_on(async {
            tokio::select! {
                value = quick.result_async() => assert_eq!(value.unwrap(), 21),
                () = tokio::time::sleep(WAIT) => panic!("a quick task lost to a long timer"),
            }
            tokio::select! {
                value = slow.result_async() => panic!("a long task beat a short timer: {value:?}"),
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        });
        // Losing the race did not touch the task: it runs to its end.
        assert_eq!(slow.result_timeout(WAIT).unwrap(), 1);
    });
}

#[test]
fn a_future_dropped_while_pending_loses_nothing() {
    watchdog(LIMIT, || {
        let pool = ThreadPool::new(1).unwrap();
        let gate = Arc::new(AtomicBool::new(false));
        let open = gate.clone();
        let task = pool
            .submit(move || {
                while !open.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                "value".to_owned()
            })
            .unwrap();
        // Polled once (its waker registered), then dropped, for each kind.
        assert!(task.result_async().now_or_never().is_none());
        assert!(task.take_result_async().now_or_never().is_none());
        assert!(task.clone().into_future().now_or_never().is_none());
        gate.store(true, Ordering::Release);
        assert_eq!(task.result_timeout(WAIT).unwrap(), "value");
        assert_eq!(futures::executor::block_on(task.result_async()).unwrap(), "value");
        assert_eq!(task.take_result().unwrap(), "value");

        let processes = ProcessPool::new(1).unwrap();
        let task = processes.submit(slow_triple, 2).unwrap();
        assert!(task.take_result_async().now_or_never().is_none());
        assert_eq!(task.take_result_timeout(WAIT).unwrap(), 6);
    });
}

#[test]
fn a_crashing_process_task_resolves_to_worker_died() {
    watchdog(LIMIT, || {
        let pool = ProcessPool::new(1).unwrap();
        let crashed = pool.submit(abort, ()).unwrap();
        let err = current_thread().block_on(crashed.result_async()).unwrap_err();
        assert!(matches!(err.kind, TaskErrorKind::WorkerDied { signal: Some(6), .. }), "{err}");
        assert_eq!(crashed.status(), TaskStatus::WorkerDied);
    });
}

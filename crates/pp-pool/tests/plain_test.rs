//! Process pools from ordinary `#[test]` functions, with libtest's own
//! `main`: what `pp_pool::enable_test_support!()` is for. Runs under
//! `cargo test` and `cargo nextest run` alike.

use std::time::Duration;

use pp_pool::{ProcessPool, TaskErrorKind, TaskStatus};
use pp_tests::watchdog;

pp_pool::enable_test_support!();

/// A hang guard: far above what any of these tests needs.
const LIMIT: Duration = Duration::from_secs(120);
const WAIT: Duration = Duration::from_secs(60);

fn square(x: u64) -> u64 {
    x * x
}

fn worker_pid(_: ()) -> u32 {
    std::process::id()
}

fn abort(_: ()) -> u32 {
    std::process::abort()
}

#[test]
fn a_task_runs_in_a_worker_and_its_result_comes_back() {
    watchdog(LIMIT, || {
        let pool = ProcessPool::new(1).unwrap();
        let task = pool.submit(square, 12).unwrap();
        assert_eq!(task.result_timeout(WAIT).unwrap(), 144);
        assert_eq!(task.status(), TaskStatus::Completed);
        let pid = pool.submit(worker_pid, ()).unwrap().result_timeout(WAIT).unwrap();
        assert_ne!(pid, std::process::id(), "it ran in another process");
        // The worker is this test binary, told to run only the hidden test.
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        assert!(
            args.windows(2).any(|w| w == [&b"--exact"[..], &b"__pp_pool_worker"[..]]),
            "{:?}",
            String::from_utf8_lossy(&cmdline)
        );
    });
}

#[test]
fn a_crashing_task_fails_only_itself() {
    watchdog(LIMIT, || {
        let pool = ProcessPool::new(1).unwrap();
        let crashed = pool.submit(abort, ()).unwrap();
        let after = pool.submit(square, 5).unwrap();
        let err = crashed.result_timeout(WAIT).unwrap_err();
        assert!(matches!(err.kind, TaskErrorKind::WorkerDied { signal: Some(6), .. }), "{err}");
        assert_eq!(crashed.status(), TaskStatus::WorkerDied);
        assert_eq!(after.result_timeout(WAIT).unwrap(), 25, "the next task ran in a new worker");
    });
}

#[test]
fn the_default_pool_works_from_a_test_too() {
    watchdog(LIMIT, || {
        let pool = pp_pool::default_process_pool().unwrap();
        assert_eq!(pool.submit(square, 3).unwrap().result_timeout(WAIT).unwrap(), 9);
    });
}

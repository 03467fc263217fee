//! The process pool: results, closures, big results, timeouts, options.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pp_pool::{
    PoolError, ProcessPool, ProcessPoolOptions, TaskErrorKind, TaskOptions, TaskStatus,
    WorkerOutput,
};

use crate::support::{ROLE_ENV, is_gone, open_fds_outside_cgroups, our_zombies};

pub(crate) const TESTS: &[pp_tests::Test] = &[
    ("process::functions_and_closures_run_in_workers", functions_and_closures_run_in_workers),
    ("process::a_64_mib_result_returns_intact", a_64_mib_result_returns_intact),
    (
        "process::a_task_past_its_timeout_is_stopped_and_its_worker_replaced",
        a_task_past_its_timeout_is_stopped_and_its_worker_replaced,
    ),
    ("process::initializer_and_max_tasks_per_child", initializer_and_max_tasks_per_child),
    ("process::slow_tasks_spread_over_every_worker", slow_tasks_spread_over_every_worker),
    ("process::a_foreign_binary_is_refused_as_a_worker", a_foreign_binary_is_refused_as_a_worker),
    ("process::serialization_failures_are_task_errors", serialization_failures_are_task_errors),
    ("process::worker_output_reaches_the_parent", worker_output_reaches_the_parent),
    ("process::output_is_captured_per_task", output_is_captured_per_task),
    ("process::the_default_pool_has_one_worker_per_cpu", the_default_pool_has_one_worker_per_cpu),
    (
        "process::ten_thousand_tasks_and_a_hundred_replacements_leak_nothing",
        ten_thousand_tasks_and_a_hundred_replacements_leak_nothing,
    ),
];

const WAIT: Duration = Duration::from_secs(60);

fn add_one(x: u64) -> u64 {
    x + 1
}

fn my_pid(_: ()) -> u32 {
    std::process::id()
}

fn functions_and_closures_run_in_workers() {
    let pool = ProcessPool::new(2).unwrap();
    let task = pool.submit(add_one, 41).unwrap();
    assert_eq!(task.result_timeout(WAIT).unwrap(), 42);
    assert_eq!(task.status(), TaskStatus::Completed);
    let words =
        pool.submit(|s: String| s.split_whitespace().count(), "one two three".to_owned()).unwrap();
    assert_eq!(words.result_timeout(WAIT).unwrap(), 3);
    let pid = pool.submit(my_pid, ()).unwrap().result_timeout(WAIT).unwrap();
    assert_ne!(pid, std::process::id(), "ran in another process");
    assert!(pool.worker_pids().contains(&pid));
    let many: Vec<_> = (0..200u64).map(|i| pool.submit(add_one, i).unwrap()).collect();
    for (i, task) in many.iter().enumerate() {
        assert_eq!(task.result_timeout(WAIT).unwrap(), i as u64 + 1);
    }
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i.wrapping_mul(31) >> 3) as u8).collect()
}

fn a_64_mib_result_returns_intact() {
    let pool = ProcessPool::new(1).unwrap();
    let big = pool.submit(pattern, 64 << 20).unwrap().take_result_timeout(WAIT).unwrap();
    assert_eq!(big.len(), 64 << 20);
    assert!(big == pattern(64 << 20), "the 64 MiB result was corrupted");
    assert_eq!(
        pool.submit(add_one, 1).unwrap().result_timeout(WAIT).unwrap(),
        2,
        "the worker is fine afterwards"
    );
}

fn sleep_ms(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

fn a_task_past_its_timeout_is_stopped_and_its_worker_replaced() {
    let pool = ProcessPool::new(1).unwrap();
    let before = pool.worker_pids();
    let slow = pool
        .submit_with(sleep_ms, 60_000, TaskOptions::default().timeout(Duration::from_millis(300)))
        .unwrap();
    let started = std::time::Instant::now();
    let err = slow.result_timeout(WAIT).unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(
        matches!(err.kind, TaskErrorKind::TaskTimedOut { limit } if limit == Duration::from_millis(300)),
        "{err}"
    );
    assert_eq!(slow.status(), TaskStatus::TimedOut);
    assert!(before.iter().all(|&pid| is_gone(pid)), "the timed-out worker was stopped");
    assert_eq!(
        pool.submit(sleep_ms, 1).unwrap().result_timeout(WAIT).unwrap(),
        1,
        "a new worker runs the next task"
    );
}

fn pid_after_sleep(ms: u64) -> u32 {
    std::thread::sleep(Duration::from_millis(ms));
    std::process::id()
}

fn slow_tasks_spread_over_every_worker() {
    let pool = ProcessPool::new(2).unwrap();
    // Quick tasks first, so the supervisors are sending ahead when the slow ones come.
    for i in 0..100 {
        pool.submit(add_one, i).unwrap().result_timeout(WAIT).unwrap();
    }
    let slow: Vec<_> = (0..4).map(|_| pool.submit(pid_after_sleep, 200).unwrap()).collect();
    let mut pids: Vec<u32> = slow.iter().map(|t| t.result_timeout(WAIT).unwrap()).collect();
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(pids.len(), 2, "four slow tasks ran on {pids:?} only");
}

static INITIALIZED: AtomicBool = AtomicBool::new(false);

fn initialize() {
    INITIALIZED.store(true, Ordering::SeqCst);
}

fn was_initialized(_: ()) -> (bool, u32) {
    (INITIALIZED.load(Ordering::SeqCst), std::process::id())
}

fn initializer_and_max_tasks_per_child() {
    let pool = ProcessPool::with_options(
        ProcessPoolOptions::default().max_workers(1).max_tasks_per_child(2).initializer(initialize),
    )
    .unwrap();
    let results: Vec<(bool, u32)> = (0..6)
        .map(|_| pool.submit(was_initialized, ()).unwrap().result_timeout(WAIT).unwrap())
        .collect();
    assert!(results.iter().all(|(init, _)| *init), "every worker ran the initializer");
    let mut pids: Vec<u32> = results.iter().map(|(_, pid)| *pid).collect();
    pids.dedup();
    assert_eq!(pids.len(), 3, "a new worker every 2 tasks: {pids:?}");
    assert!(!INITIALIZED.load(Ordering::SeqCst), "the initializer ran in workers, not here");
}

fn a_foreign_binary_is_refused_as_a_worker() {
    // A copy of this test binary is another executable (its own inode and
    // mtime) whose `main` calls pp_pool::init() too.
    let foreign = crate::support::temp_path("foreign-worker");
    std::fs::copy(std::env::current_exe().unwrap(), &foreign).unwrap();
    let refused = ProcessPool::with_options(
        ProcessPoolOptions::default().max_workers(1).worker_exe(&foreign),
    );
    let _ = std::fs::remove_file(&foreign);
    let err = refused.unwrap_err();
    assert!(matches!(err, PoolError::NotSameBinary { .. }), "{err}");
    assert!(err.to_string().contains(&*foreign.to_string_lossy()), "{err}");
    // A program that does not call init() never answers the handshake.
    let err = ProcessPool::with_options(
        ProcessPoolOptions::default().max_workers(1).worker_exe("/bin/true"),
    )
    .unwrap_err();
    assert!(matches!(err, PoolError::NoHandshake { .. }), "{err}");
    assert!(err.to_string().contains("pp_pool::init()"), "{err}");
}

#[derive(Debug)]
struct Unserializable;

impl serde::Serialize for Unserializable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("this value refuses to be serialized"))
    }
}

impl<'de> serde::Deserialize<'de> for Unserializable {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Ok(Unserializable)
    }
}

fn make_unserializable(_: ()) -> Unserializable {
    Unserializable
}

fn serialization_failures_are_task_errors() {
    let pool = ProcessPool::new(1).unwrap();
    let task = pool.submit(make_unserializable, ()).unwrap();
    let err = task.take_result_timeout(WAIT).unwrap_err();
    // postcard reports a custom serializer error without its message.
    assert!(matches!(&err.kind, TaskErrorKind::Serialization { what: "result", .. }), "{err}");
    let task = pool.submit(|_: Unserializable| 1, Unserializable).unwrap();
    let err = task.result_timeout(WAIT).unwrap_err();
    assert!(matches!(&err.kind, TaskErrorKind::Serialization { what: "argument", .. }), "{err}");
    assert_eq!(pool.submit(add_one, 0).unwrap().result_timeout(WAIT).unwrap(), 1);
}

fn shout(word: String) -> usize {
    println!("worker says {word}");
    eprintln!("worker complains {word}");
    word.len()
}

/// Child role: a pool whose task prints; the test reads our output.
pub(crate) fn printing_parent() {
    let pool = ProcessPool::new(1).unwrap();
    assert_eq!(pool.submit(shout, "hello".to_owned()).unwrap().result_timeout(WAIT).unwrap(), 5);
}

fn worker_output_reaches_the_parent() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env(ROLE_ENV, "printing-parent")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("worker says hello"), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("worker complains hello"), "{out:?}");
}

fn shout_a_lot(n: usize) -> usize {
    for i in 0..n {
        println!("line {i}");
    }
    n
}

fn output_is_captured_per_task() {
    let pool = ProcessPool::with_options(
        ProcessPoolOptions::default().max_workers(1).output(WorkerOutput::CapturePerTask),
    )
    .unwrap();
    let first = pool.submit(shout, "first".to_owned()).unwrap();
    let second = pool.submit(shout, "second".to_owned()).unwrap();
    assert_eq!(second.result_timeout(WAIT).unwrap(), 6);
    let captured = first.captured_output().expect("captured");
    assert_eq!(String::from_utf8_lossy(&captured.stdout), "worker says first\n");
    assert_eq!(String::from_utf8_lossy(&captured.stderr), "worker complains first\n");
    let captured = second.captured_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&captured.stdout),
        "worker says second\n",
        "each task gets only its own output"
    );
    // Far more than a pipe holds: captured whole, nothing blocks.
    let loud = pool.submit(shout_a_lot, 100_000).unwrap();
    assert_eq!(loud.result_timeout(WAIT).unwrap(), 100_000);
    assert_eq!(
        String::from_utf8_lossy(&loud.captured_output().unwrap().stdout).lines().count(),
        100_000
    );
}

fn the_default_pool_has_one_worker_per_cpu() {
    let pool = pp_pool::default_process_pool().unwrap();
    assert_eq!(pool.max_workers(), std::thread::available_parallelism().unwrap().get());
    assert_eq!(pool.submit(add_one, 9).unwrap().result_timeout(WAIT).unwrap(), 10);
    assert!(std::ptr::eq(pool, pp_pool::default_process_pool().unwrap()));
}

fn ten_thousand_tasks_and_a_hundred_replacements_leak_nothing() {
    // Warm up what lives for the whole process (the default pool, thread
    // stacks, pp-process's reactor). Empty cgroups kept for reuse hold a
    // descriptor each and come and go with other processes' ends, so they
    // are not counted.
    drop(ProcessPool::new(1).unwrap());
    let fds_before = open_fds_outside_cgroups();
    {
        let pool = ProcessPool::with_options(
            ProcessPoolOptions::default().max_workers(2).max_tasks_per_child(100),
        )
        .unwrap();
        let tasks: Vec<_> = (0..10_000u64).map(|i| pool.submit(add_one, i).unwrap()).collect();
        let sum: u64 = tasks.iter().map(|t| t.result_timeout(WAIT).unwrap()).sum();
        assert_eq!(sum, (1..=10_000).sum::<u64>());
        pool.shutdown();
    }
    let fds_after = open_fds_outside_cgroups();
    let zombies = our_zombies();
    println!(
        "    10,000 tasks, 100 replacements: descriptors {fds_before} -> {fds_after}, zombies {zombies:?}"
    );
    assert!(zombies.is_empty(), "unreaped workers: {zombies:?}");
    assert_eq!(fds_after, fds_before, "descriptor leak");
}

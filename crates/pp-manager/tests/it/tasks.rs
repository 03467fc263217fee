//! The facade forgets tasks it no longer needs: memory stays flat over a
//! million tasks, while recent results and statuses stay queryable.

use std::time::{Duration, Instant};

use pp_manager::prelude::*;
use pp_manager::{TAKEN_TASKS_KEPT, TaskId};

pub(crate) const TESTS: &[pp_tests::Test] = &[
    ("tasks::a_million_taken_results_keep_memory_flat", a_million_taken_results_keep_memory_flat),
    (
        "tasks::a_taken_result_stays_queryable_until_newer_ones_push_it_out",
        a_taken_result_stays_queryable_until_newer_ones_push_it_out,
    ),
    ("tasks::cleanup_tasks_forgets_finished_tasks_only", cleanup_tasks_forgets_finished_tasks_only),
    (
        "tasks::a_typed_task_id_takes_a_result_that_is_not_clone",
        a_typed_task_id_takes_a_result_that_is_not_clone,
    ),
    (
        "tasks::shutdown_executor_without_wait_returns_and_submitted_tasks_still_run",
        shutdown_executor_without_wait_returns_and_submitted_tasks_still_run,
    ),
];

fn sleep_then(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// Python's `Executor.shutdown(wait=False)`: returns at once; what was
/// submitted (running and queued) still runs; new tasks are refused.
fn shutdown_executor_without_wait_returns_and_submitted_tasks_still_run() {
    let threads = create_thread_pool(1).unwrap();
    let processes = create_process_pool(1).unwrap();
    for pool in [&threads, &processes] {
        let running = submit_task(sleep_then, 3000, Some(pool)).unwrap();
        let queued = submit_task(sleep_then, 1, Some(pool)).unwrap();
        assert!(crate::support::eventually(
            || get_task_status(&running).unwrap().status == "running"
        ));
        let started = Instant::now();
        shutdown_executor(pool, false).unwrap();
        println!("    shutdown_executor(wait=false) returned after {:?}", started.elapsed());
        assert_eq!(get_task_status(&running).unwrap().status, "running", "returned at once");
        assert_eq!(get_task_result::<u64>(&running, WAIT).unwrap(), 3000, "ran to its end");
        assert_eq!(get_task_result::<u64>(&queued, WAIT).unwrap(), 1, "the queued one ran too");
        assert!(submit_task(sleep_then, 1, Some(pool)).is_err(), "no new tasks");
    }
}

/// A result type without `Clone`: only the typed path can return it.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Report {
    lines: Vec<String>,
}

fn report(n: u32) -> Report {
    Report { lines: (0..n).map(|i| format!("line {i}")).collect() }
}

fn a_typed_task_id_takes_a_result_that_is_not_clone() {
    let threads = create_thread_pool(2).unwrap();
    let processes = create_process_pool(1).unwrap();
    for pool in [&threads, &processes] {
        let task: TypedTaskId<Report> = submit_typed_task(report, 3, Some(pool)).unwrap();
        // The id travels as the plain task id's text and keeps its type.
        let back: TypedTaskId<Report> =
            serde_json::from_str(&serde_json::to_string(&task).unwrap()).unwrap();
        assert_eq!(back, task);
        assert_eq!(take_task_result(&back, WAIT).unwrap().lines, ["line 0", "line 1", "line 2"]);
        // Taken: its status stays, its value is gone.
        assert_eq!(get_task_status(task.id()).unwrap().status, "completed");
        let again = take_task_result(&task, WAIT).unwrap_err();
        assert!(again.to_string().contains("already taken"), "{again}");
        // The untyped id still refuses another type without losing anything.
        let wrong = get_task_result::<u64>(task.id(), WAIT).unwrap_err();
        assert!(matches!(wrong, ManagerError::WrongResultType { .. }), "{wrong}");
    }
    shutdown_executor(&threads, true).unwrap();
    shutdown_executor(&processes, true).unwrap();
}

const WAIT: Option<Duration> = Some(Duration::from_secs(60));

fn add_one(x: u64) -> u64 {
    x + 1
}

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Submits `batches` batches of `per_batch` tasks and takes every result.
fn run_batches(pool: &ExecutorId, batches: u64, per_batch: u64) {
    for batch in 0..batches {
        let ids: Vec<TaskId> = (0..per_batch)
            .map(|i| submit_task(add_one, batch * per_batch + i, Some(pool)).unwrap())
            .collect();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(get_task_result::<u64>(id, WAIT).unwrap(), batch * per_batch + i as u64 + 1);
        }
    }
}

fn a_million_taken_results_keep_memory_flat() {
    const PER_BATCH: u64 = 1_000;
    let pool = create_thread_pool(2).unwrap();
    // Warm up: the pool's threads, the allocator's arenas, the maps' capacity.
    run_batches(&pool, 20, PER_BATCH);
    let before = rss_kib();
    let started = Instant::now();
    run_batches(&pool, 1_000, PER_BATCH);
    let after = rss_kib();
    println!(
        "    1,000,000 tasks in {:.1?}: RSS {before} KiB -> {after} KiB ({:+} KiB)",
        started.elapsed(),
        after as i64 - before as i64
    );
    shutdown_executor(&pool, true).unwrap();
    // Kept whole, a million tasks cost ~200 MiB; 32 MiB leaves room for the allocator.
    assert!(after < before + 32 * 1024, "RSS grew from {before} KiB to {after} KiB");
}

fn a_taken_result_stays_queryable_until_newer_ones_push_it_out() {
    let pm = ProcessManager::new();
    let pool = pm.create_thread_pool(1).unwrap();
    let first = pm.submit_task(add_one, 1, Some(&pool)).unwrap();
    assert_eq!(pm.get_task_result::<u64>(&first, WAIT).unwrap(), 2);
    // Just taken: its status and its result are still there, as the seed's examples expect.
    assert_eq!(pm.get_task_status(&first).unwrap().status, "completed");
    assert_eq!(pm.get_task_result::<u64>(&first, WAIT).unwrap(), 2, "taken twice");
    for i in 0..TAKEN_TASKS_KEPT as u64 - 1 {
        let id = pm.submit_task(add_one, i, Some(&pool)).unwrap();
        pm.get_task_result::<u64>(&id, WAIT).unwrap();
    }
    assert!(pm.get_task_status(&first).is_some(), "one of the {TAKEN_TASKS_KEPT} latest");
    let last = pm.submit_task(add_one, 0, Some(&pool)).unwrap();
    pm.get_task_result::<u64>(&last, WAIT).unwrap();
    assert!(pm.get_task_status(&first).is_none(), "the oldest taken task is forgotten");
    let err = pm.get_task_result::<u64>(&first, WAIT).unwrap_err();
    assert!(matches!(err, ManagerError::NotFound { kind: "task", .. }), "{err}");
    assert_eq!(pm.get_task_status(&last).unwrap().status, "completed");
}

fn sleep_ms(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

fn cleanup_tasks_forgets_finished_tasks_only() {
    let pm = ProcessManager::new();
    let pool = pm.create_thread_pool(1).unwrap();
    let untaken = pm.submit_task(add_one, 1, Some(&pool)).unwrap();
    assert!(crate::support::eventually(
        || pm.get_task_status(&untaken).unwrap().status == "completed"
    ));
    let running = pm.submit_task(sleep_ms, 3000, Some(&pool)).unwrap();
    let pending = pm.submit_task(add_one, 2, Some(&pool)).unwrap();
    assert!(crate::support::eventually(
        || pm.get_task_status(&running).unwrap().status == "running"
    ));
    assert_eq!(pm.cleanup_tasks(), 1, "only the finished task");
    assert!(pm.get_task_status(&untaken).is_none());
    assert_eq!(pm.get_task_result::<u64>(&running, WAIT).unwrap(), 3000);
    assert_eq!(pm.get_task_result::<u64>(&pending, WAIT).unwrap(), 3);
    assert_eq!(pm.cleanup_tasks(), 2);
    assert!(pm.get_task_status(&running).is_none());
}

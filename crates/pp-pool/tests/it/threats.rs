//! Hostile and extreme inputs: fake workers, env vars set by hand, huge
//! durations, pools made on short-lived threads, malformed task ids. Each
//! test checks the typed refusal and that the pool (or process) lives on.

use std::collections::HashSet;
use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pp_pool::{
    ProcessPool, ProcessPoolOptions, TaskError, TaskErrorKind, TaskId, TaskIdError, TaskOptions,
    TaskStatus,
};

use crate::support::{ROLE_ENV, eventually, is_gone};

pub(crate) const TESTS: &[pp_tests::Test] = &[
    ("threats::a_fake_worker_cannot_take_a_slot", a_fake_worker_cannot_take_a_slot),
    ("threats::duration_max_everywhere_in_the_pool", duration_max_everywhere_in_the_pool),
    (
        "threats::a_pool_made_on_a_short_lived_thread_keeps_its_workers",
        a_pool_made_on_a_short_lived_thread_keeps_its_workers,
    ),
    ("threats::task_id_parse_errors_are_typed", task_id_parse_errors_are_typed),
];

const WAIT: Duration = Duration::from_secs(60);
/// Generous hang guard for a whole test.
const HANG_GUARD: Duration = Duration::from_secs(300);

fn my_pid(_: ()) -> u32 {
    std::process::id()
}

fn add_one(x: u64) -> u64 {
    x + 1
}

fn sleep_ms(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

fn pipe_endpoints() -> HashSet<OsString> {
    let dir = pp_ipc::pipe_dir().expect("the pipe directory");
    std::fs::read_dir(dir)
        .expect("readable pipe directory")
        .flatten()
        .map(|entry| entry.file_name())
        .filter(|name| name.to_string_lossy().ends_with(".sock"))
        .collect()
}

/// A same-uid process that wants a worker's slot: it watches for a pool
/// endpoint to connect to (as the old named-listener transport offered one)
/// and answers "ready" (postcard's encoding of the first `FromWorker`
/// variant) before the real worker can. The pool must not accept it (there is
/// nothing to connect to at all), and a process started with `PP_POOL_WORKER`
/// set by hand must exit with a clear message instead of connecting or hanging.
fn a_fake_worker_cannot_take_a_slot() {
    pp_tests::watchdog(HANG_GUARD, || {
        let before = pipe_endpoints();
        let stop = Arc::new(AtomicBool::new(false));
        let taken = Arc::new(Mutex::new(Vec::<String>::new()));
        let fake = {
            let (stop, taken) = (stop.clone(), taken.clone());
            std::thread::spawn(move || {
                let mut pipes = Vec::new();
                while !stop.load(Ordering::Acquire) {
                    for name in pipe_endpoints().difference(&before) {
                        let name = name.to_string_lossy();
                        let Some(id) = name.strip_suffix(".sock") else { continue };
                        let Ok(id) = id.parse::<pp_ipc::ObjectId>() else { continue };
                        if let Ok(mut pipe) = pp_ipc::Pipe::connect(&id) {
                            let _ = pipe.send(&[0]);
                            taken.lock().unwrap().push(id.to_string());
                            pipes.push(pipe);
                        }
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
                pipes.len()
            })
        };
        let pool = ProcessPool::new(1).unwrap();
        stop.store(true, Ordering::Release);
        fake.join().unwrap();
        let taken = taken.lock().unwrap().clone();
        assert!(taken.is_empty(), "a fake worker connected to the pool's endpoint(s) {taken:?}");
        let me = std::process::id();
        let workers = pool.worker_pids();
        assert_eq!(workers.len(), 1);
        for &pid in &workers {
            let (_, ppid) = pp_tests::proc_state(pid).expect("the worker is alive");
            assert_eq!(ppid, me, "worker {pid} is not a child of the pool");
        }
        let pid = pool.submit(my_pid, ()).unwrap().result_timeout(WAIT).unwrap();
        assert!(workers.contains(&pid), "the task ran in {pid}, not in the pool's worker");

        // PP_POOL_WORKER set by hand, with the pool's pid as the "parent" even:
        // the process must not connect anywhere, must not hang, and must say why.
        let huge = "7".repeat(20_000);
        for value in ["", "0", "1", "2", "3", "77", "-1", "pp-pipe-1-1", "garbage", &huge] {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .env("PP_POOL_WORKER", value)
                .env("PP_POOL_PARENT", me.to_string())
                .env_remove(ROLE_ENV)
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "PP_POOL_WORKER={value:.20}: {out:?}");
            assert!(
                stderr.contains("PP_POOL_WORKER") && stderr.len() < 1000,
                "PP_POOL_WORKER={value:.20}: no clear, short message: {stderr:.2000}"
            );
        }
        assert_eq!(
            pool.submit(add_one, 41).unwrap().result_timeout(WAIT).unwrap(),
            42,
            "the pool still works"
        );
        assert_eq!(pool.worker_pids(), workers, "the worker kept its slot");
    });
}

/// `Duration::MAX` (and zero) as a task timeout, a wait, and a stop grace:
/// no panic on any thread, the typed outcomes, and the pool keeps working.
fn duration_max_everywhere_in_the_pool() {
    pp_tests::watchdog(HANG_GUARD, || {
        let pool = ProcessPool::with_options(
            ProcessPoolOptions::default()
                .max_workers(1)
                .grace(Duration::MAX)
                .max_tasks_per_child(3),
        )
        .unwrap();
        let forever = TaskOptions::default().timeout(Duration::MAX);
        let huge = TaskOptions::default().timeout(Duration::from_secs(u64::MAX));
        let task = pool.submit_with(add_one, 1, forever.clone()).unwrap();
        assert_eq!(task.result_timeout(Duration::MAX).unwrap(), 2);
        assert_eq!(task.wait_timeout(Duration::MAX).unwrap(), TaskStatus::Completed);
        let task = pool.submit_with(add_one, 2, huge).unwrap();
        assert_eq!(task.take_result_timeout(Duration::from_secs(u64::MAX)).unwrap(), 3);

        // Zero: the task is stopped at once (SIGTERM; the grace is "forever",
        // and the worker obeys SIGTERM) and its worker replaced.
        let zero = TaskOptions::default().timeout(Duration::ZERO);
        let slow = pool.submit_with(sleep_ms, 60_000, zero).unwrap();
        let err = slow.result_timeout(WAIT).unwrap_err();
        assert!(
            matches!(err.kind, TaskErrorKind::TaskTimedOut { limit } if limit == Duration::ZERO),
            "{err}"
        );
        assert_eq!(pool.submit(add_one, 3).unwrap().result_timeout(Duration::MAX).unwrap(), 4);

        // Waiting zero for a task that runs a while: a typed timeout, the task goes on.
        let running = pool.submit_with(sleep_ms, 300, forever.clone()).unwrap();
        let err = running.result_timeout(Duration::ZERO).unwrap_err();
        assert!(matches!(err.kind, TaskErrorKind::Timeout { .. }), "{err}");
        assert_eq!(running.result_timeout(Duration::MAX).unwrap(), 300);

        // Cancel a running task: its worker is stopped with a grace of Duration::MAX.
        let spinning = pool.submit_with(sleep_ms, 60_000, forever.clone()).unwrap();
        assert!(eventually(Duration::from_secs(30), || spinning.status() == TaskStatus::Running));
        std::thread::sleep(Duration::from_millis(50));
        assert!(spinning.cancel());
        let err = spinning.result_timeout(WAIT).unwrap_err();
        assert!(matches!(err.kind, TaskErrorKind::Cancelled), "{err}");

        // max_tasks_per_child retires workers (asked to exit, grace MAX) again and again.
        let tasks: Vec<_> =
            (0..10u64).map(|i| pool.submit_with(add_one, i, forever.clone()).unwrap()).collect();
        for (i, task) in tasks.iter().enumerate() {
            assert_eq!(task.result_timeout(Duration::MAX).unwrap(), i as u64 + 1);
        }
        let workers = pool.worker_pids();
        pool.shutdown();
        assert!(workers.iter().all(|&pid| is_gone(pid)), "workers left after shutdown");

        // A thread pool too.
        let threads = pp_pool::ThreadPool::new(1).unwrap();
        let task = threads.submit(|| 5).unwrap();
        assert_eq!(task.result_timeout(Duration::MAX).unwrap(), 5);

        // A second process pool, shut down with cancel while a task runs (grace MAX).
        let pool = ProcessPool::with_options(
            ProcessPoolOptions::default().max_workers(1).grace(Duration::MAX),
        )
        .unwrap();
        let busy = pool.submit(sleep_ms, 60_000).unwrap();
        assert!(eventually(Duration::from_secs(30), || busy.status() == TaskStatus::Running));
        let workers = pool.worker_pids();
        drop(pool);
        assert!(matches!(
            busy.result_timeout(WAIT),
            Err(TaskError { kind: TaskErrorKind::Cancelled, .. })
        ));
        assert!(workers.iter().all(|&pid| is_gone(pid)), "workers left after drop");
    });
}

/// PR_SET_PDEATHSIG fires when the *thread* that forked a worker ends: a
/// pool made on a thread that ends at once must keep its first worker.
fn a_pool_made_on_a_short_lived_thread_keeps_its_workers() {
    pp_tests::watchdog(HANG_GUARD, || {
        let (pool, first) = std::thread::spawn(|| {
            let pool = ProcessPool::new(2).unwrap();
            let first = pool.worker_pids();
            (pool, first)
        })
        .join()
        .unwrap();
        assert_eq!(first.len(), 1, "one worker is started with the pool");
        // A minimum time for a parent-death signal to land, were one sent.
        std::thread::sleep(Duration::from_millis(300));
        let state = pp_tests::proc_state(first[0]).map(|(state, _)| state);
        assert!(
            state.is_some_and(|s| s != 'Z'),
            "worker {} died with the thread that made its pool (state {state:?})",
            first[0]
        );
        let pids: Vec<u32> = (0..4)
            .map(|_| pool.submit(my_pid, ()).unwrap().result_timeout(WAIT).unwrap())
            .collect();
        assert!(pids.contains(&first[0]) || pool.worker_pids().contains(&first[0]), "{pids:?}");
        // Workers started later (by supervisors) live on too.
        let slow: Vec<_> = (0..4).map(|_| pool.submit(sleep_ms, 100).unwrap()).collect();
        for task in &slow {
            assert_eq!(task.result_timeout(WAIT).unwrap(), 100);
        }
        let workers = pool.worker_pids();
        assert!(workers.contains(&first[0]), "the first worker was replaced: {workers:?}");
    });
}

/// Malformed task ids: a typed error naming the (shortened) input; nothing panics.
fn task_id_parse_errors_are_typed() {
    let huge = "x".repeat(1 << 20);
    let bad = [
        "",
        "task",
        "task-",
        "task-1",
        "task-1-",
        "task--1",
        "task-x-1",
        "task-1-x",
        "task-1-2-3",
        "task-+1-2",
        "task-01-2",
        "TASK-1-2",
        "task-99999999999-1",
        "task-1-99999999999999999999999",
        " task-1-2",
        "task-1-2\n",
        "task-١-٢",
        huge.as_str(),
    ];
    for input in bad {
        let err = input.parse::<TaskId>().unwrap_err();
        let TaskIdError::Malformed { input: shown_input, reason } = &err else {
            panic!("an untyped error for {input:.40?}: {err}")
        };
        assert!(!reason.is_empty());
        assert!(shown_input.chars().count() <= 65, "the error keeps {} chars", shown_input.len());
        assert!(input.starts_with(shown_input.trim_end_matches('…')));
        let message = err.to_string();
        assert!(
            message.len() < 300,
            "a {}-byte input made a {}-byte message",
            input.len(),
            message.len()
        );
        let shown: String = input.chars().take(20).collect();
        assert!(
            message.contains(&shown.escape_debug().to_string()),
            "{message:?} does not name {shown:?}"
        );
    }
    assert!(huge.parse::<TaskId>().unwrap_err().to_string().contains('…'));
    // Good ids still round-trip.
    let pool = pp_pool::ThreadPool::new(1).unwrap();
    let task = pool.submit(|| 1).unwrap();
    let text = task.id().to_string();
    assert_eq!(text.parse::<TaskId>().unwrap(), *task.id());
    assert_eq!("task-0-0".parse::<TaskId>().unwrap().to_string(), "task-0-0");
    assert_eq!(task.result_timeout(WAIT).unwrap(), 1, "the pool lives on");
}

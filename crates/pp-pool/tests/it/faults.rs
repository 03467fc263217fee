//! Faults in worker processes: each fails only its own task.

use std::time::{Duration, Instant};

use pp_pool::{ProcessPool, TaskErrorKind, TaskHandle, TaskStatus};

use crate::support::{ROLE_ENV, eventually, is_gone, read_pid, temp_path};

pub(crate) const TESTS: &[pp_tests::Test] = &[
    (
        "faults::a_panic_is_reported_and_the_worker_lives_on",
        a_panic_is_reported_and_the_worker_lives_on,
    ),
    ("faults::abort_fails_one_task_with_sigabrt", abort_fails_one_task_with_sigabrt),
    ("faults::a_segfault_fails_one_task_with_sigsegv", a_segfault_fails_one_task_with_sigsegv),
    ("faults::exit_3_fails_one_task_with_code_3", exit_3_fails_one_task_with_code_3),
    ("faults::sigkill_from_outside_fails_one_task", sigkill_from_outside_fails_one_task),
    ("faults::a_running_infinite_loop_is_cancelled", a_running_infinite_loop_is_cancelled),
    (
        "faults::a_cancelled_long_task_ends_at_once_and_its_worker_is_replaced",
        a_cancelled_long_task_ends_at_once_and_its_worker_is_replaced,
    ),
    (
        "faults::a_cancelled_task_takes_its_worker_s_descendants_with_it",
        a_cancelled_task_takes_its_worker_s_descendants_with_it,
    ),
    ("faults::workers_die_with_a_sigkilled_parent", workers_die_with_a_sigkilled_parent),
];

const WAIT: Duration = Duration::from_secs(60);

fn double(x: u64) -> u64 {
    x * 2
}

/// Submits 50 tasks, then `fault`, then 50 more; checks the 100 others.
fn around<R: Send + 'static>(
    pool: &ProcessPool,
    fault: impl FnOnce() -> TaskHandle<R>,
) -> TaskHandle<R> {
    let before: Vec<_> = (0..50u64).map(|i| pool.submit(double, i).unwrap()).collect();
    let faulty = fault();
    let after: Vec<_> = (50..100u64).map(|i| pool.submit(double, i).unwrap()).collect();
    for (i, task) in before.iter().chain(&after).enumerate() {
        assert_eq!(task.result_timeout(WAIT).unwrap(), i as u64 * 2, "task {i} around the fault");
    }
    faulty
}

fn panics(_: ()) -> u64 {
    panic!("task panicked on purpose")
}

fn a_panic_is_reported_and_the_worker_lives_on() {
    let pool = ProcessPool::new(2).unwrap();
    let workers = pool.worker_pids();
    let faulty = around(&pool, || pool.submit(panics, ()).unwrap());
    let err = faulty.result_timeout(WAIT).unwrap_err();
    assert!(
        matches!(&err.kind, TaskErrorKind::Panicked { message } if message == "task panicked on purpose"),
        "{err}"
    );
    assert!(workers.iter().all(|pid| pool.worker_pids().contains(pid)), "no worker was replaced");
}

fn aborts(_: ()) -> u64 {
    std::process::abort()
}

fn abort_fails_one_task_with_sigabrt() {
    let pool = ProcessPool::new(2).unwrap();
    let err = around(&pool, || pool.submit(aborts, ()).unwrap()).result_timeout(WAIT).unwrap_err();
    assert!(matches!(err.kind, TaskErrorKind::WorkerDied { signal: Some(6), .. }), "{err}");
    assert!(err.to_string().contains("signal 6"), "{err}");
}

fn segfaults(_: ()) -> u64 {
    // SAFETY: deliberately crashing this worker: restore the default SIGSEGV
    // action (Rust's handler only reports stack overflows) and raise it.
    unsafe {
        libc::signal(libc::SIGSEGV, libc::SIG_DFL);
        libc::raise(libc::SIGSEGV);
    }
    unreachable!("SIGSEGV's default action ends the process")
}

fn a_segfault_fails_one_task_with_sigsegv() {
    let pool = ProcessPool::new(2).unwrap();
    let faulty = around(&pool, || pool.submit(segfaults, ()).unwrap());
    let err = faulty.result_timeout(WAIT).unwrap_err();
    assert!(matches!(err.kind, TaskErrorKind::WorkerDied { signal: Some(11), .. }), "{err}");
    assert_eq!(faulty.status(), TaskStatus::WorkerDied);
}

fn exits_3(_: ()) -> u64 {
    std::process::exit(3)
}

fn exit_3_fails_one_task_with_code_3() {
    let pool = ProcessPool::new(2).unwrap();
    let err = around(&pool, || pool.submit(exits_3, ()).unwrap()).result_timeout(WAIT).unwrap_err();
    assert!(matches!(err.kind, TaskErrorKind::WorkerDied { code: Some(3), signal: None }), "{err}");
    assert!(err.to_string().contains("exit code 3"), "{err}");
}

fn write_pid_and_sleep(path: String) -> u64 {
    std::fs::write(&path, std::process::id().to_string()).unwrap();
    std::thread::sleep(Duration::from_secs(120));
    0
}

fn sigkill_from_outside_fails_one_task() {
    let pool = ProcessPool::new(2).unwrap();
    let path = temp_path("sigkill");
    let faulty = around(&pool, || {
        let task = pool.submit(write_pid_and_sleep, path.display().to_string()).unwrap();
        let pid = read_pid(&path);
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(pid as i32).unwrap(),
            rustix::process::Signal::KILL,
        )
        .unwrap();
        task
    });
    let err = faulty.result_timeout(WAIT).unwrap_err();
    assert!(matches!(err.kind, TaskErrorKind::WorkerDied { signal: Some(9), .. }), "{err}");
}

fn spin_forever(path: String) -> u64 {
    std::fs::write(&path, std::process::id().to_string()).unwrap();
    let mut n = 0u64;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

fn a_running_infinite_loop_is_cancelled() {
    let pool = ProcessPool::new(1).unwrap();
    let path = temp_path("spin");
    let task = pool.submit(spin_forever, path.display().to_string()).unwrap();
    let pid = read_pid(&path);
    assert_eq!(task.status(), TaskStatus::Running);
    assert!(task.cancel(), "cancel() of a running task");
    let err = task.result_timeout(WAIT).unwrap_err();
    assert!(matches!(err.kind, TaskErrorKind::Cancelled), "{err}");
    assert!(is_gone(pid), "the worker {pid} still exists");
    assert_eq!(
        pool.submit(double, 21).unwrap().result_timeout(WAIT).unwrap(),
        42,
        "the pool runs the next task"
    );
}

/// Far longer than any wait of these tests: a task still running when a
/// wait gives up shows the cancel was not acted on.
const TEN_MINUTES: Duration = Duration::from_secs(600);

fn write_pid_and_sleep_ten_minutes(path: String) -> u64 {
    std::fs::write(&path, std::process::id().to_string()).unwrap();
    std::thread::sleep(TEN_MINUTES);
    0
}

/// The supervisor sleeps while its task runs; a cancel must wake it (no
/// timer would): the task ends `Cancelled` well before it would have, its
/// worker is stopped, and a new worker runs the next task.
fn a_cancelled_long_task_ends_at_once_and_its_worker_is_replaced() {
    let pool = ProcessPool::new(1).unwrap();
    let path = temp_path("long");
    let task = pool.submit(write_pid_and_sleep_ten_minutes, path.display().to_string()).unwrap();
    let worker = read_pid(&path);
    assert_eq!(task.status(), TaskStatus::Running);
    let cancelled = Instant::now();
    assert!(task.cancel(), "cancel() of a running task");
    // A generous hang guard, far below the task's ten minutes.
    let err = task.result_timeout(WAIT).unwrap_err();
    let took = cancelled.elapsed();
    assert!(matches!(err.kind, TaskErrorKind::Cancelled), "{err}");
    assert_eq!(task.status(), TaskStatus::Cancelled);
    println!("    a running task cancelled in {took:?} (its worker stopped and reaped)");
    assert!(is_gone(worker), "the cancelled task's worker {worker} still runs");
    let next = pool.submit(my_pid, ()).unwrap().result_timeout(WAIT).unwrap();
    assert_ne!(next, worker, "the next task ran on the stopped worker");
    assert_eq!(pool.worker_pids(), vec![next], "one new worker in the slot");
}

fn my_pid(_: ()) -> u32 {
    std::process::id()
}

/// Starts two ten-minute children, one in the worker's process group and
/// one in a group of its own, writes their pids, and waits for them.
fn start_descendants_and_wait(path: String) -> u64 {
    use std::os::unix::process::CommandExt;
    let sleeper = || {
        let mut command = std::process::Command::new("sleep");
        command.arg(TEN_MINUTES.as_secs().to_string());
        command
    };
    let mut inside = sleeper().spawn().unwrap();
    let mut outside = sleeper().process_group(0).spawn().unwrap();
    std::fs::write(&path, format!("{} {}", inside.id(), outside.id())).unwrap();
    let _ = inside.wait();
    let _ = outside.wait();
    0
}

/// A worker is stopped like any pp-process command: its whole tree goes,
/// and with a cgroup (where pp can make one) also what left its process group.
fn a_cancelled_task_takes_its_worker_s_descendants_with_it() {
    let pool = ProcessPool::new(1).unwrap();
    let path = temp_path("tree");
    let task = pool.submit(start_descendants_and_wait, path.display().to_string()).unwrap();
    let mut pids = None;
    assert!(eventually(WAIT, || {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let parsed: Vec<u32> = text.split_whitespace().filter_map(|p| p.parse().ok()).collect();
        pids = (parsed.len() == 2).then(|| (parsed[0], parsed[1]));
        pids.is_some()
    }));
    let _ = std::fs::remove_file(&path);
    let (inside, outside) = pids.unwrap();
    let in_a_cgroup = std::fs::read_to_string(format!("/proc/{outside}/cgroup"))
        .is_ok_and(|c| c.lines().any(|l| l.starts_with("0::") && l.contains("/pp-")));
    // Where pp-process contains commands in cgroups, workers get one too.
    let cgroups_here = matches!(
        pp_process::Command::new("true").run().unwrap().containment,
        pp_process::Contained::Cgroup(_)
    );
    assert_eq!(in_a_cgroup, cgroups_here, "a worker is contained like any command");
    assert!(task.cancel());
    assert!(matches!(task.result_timeout(WAIT), Err(e) if e.kind == TaskErrorKind::Cancelled));
    assert!(eventually(WAIT, || is_gone(inside)), "the worker's child {inside} outlived its stop");
    if in_a_cgroup {
        assert!(
            eventually(WAIT, || is_gone(outside)),
            "the worker's child {outside}, in its cgroup but another process group, outlived its stop"
        );
    } else {
        println!("    no cgroup here: the child that left the process group is killed by hand");
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_raw(outside as i32).unwrap(),
            rustix::process::Signal::KILL,
        );
    }
}

/// Child role: a pool busy with long tasks; prints its worker pids, then waits to be killed.
pub(crate) fn busy_parent() {
    let pool = ProcessPool::new(2).unwrap();
    let tasks: Vec<_> =
        (0..4).map(|_| pool.submit(crate::support::process_sleep, 120_000).unwrap()).collect();
    // A task is running once its supervisor took it, a moment before that
    // supervisor's worker has started and recorded its pid: wait for both.
    assert!(eventually(Duration::from_secs(30), || {
        tasks.iter().filter(|t| t.status() == TaskStatus::Running).count() == 2
            && pool.worker_pids().len() == 2
    }));
    let pids: Vec<String> = pool.worker_pids().iter().map(u32::to_string).collect();
    println!("{}", pids.join(" "));
    std::thread::sleep(Duration::from_secs(120));
}

fn workers_die_with_a_sigkilled_parent() {
    use std::io::BufRead;
    let mut parent = std::process::Command::new(std::env::current_exe().unwrap())
        .env(ROLE_ENV, "busy-parent")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(parent.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let workers: Vec<u32> = line.split_whitespace().map(|p| p.parse().unwrap()).collect();
    assert_eq!(workers.len(), 2, "busy parent said {line:?}");
    // Workers are pp-process commands, each in a cgroup of its own where pp
    // can make one; a killed program cannot remove them, so this test does.
    let cgroups: Vec<_> = workers
        .iter()
        .filter_map(|&pid| pp_tests::cgroup_dir_of(pid))
        .filter(|dir| dir.file_name().is_some_and(|n| n.to_string_lossy().starts_with("pp-")))
        .collect();
    parent.kill().unwrap();
    parent.wait().unwrap();
    assert!(
        eventually(Duration::from_secs(5), || workers.iter().all(|&pid| is_gone(pid))),
        "workers outlived their SIGKILLed pool: {workers:?}"
    );
    for dir in cgroups {
        let removed = eventually(Duration::from_secs(10), || {
            std::fs::remove_dir(&dir).is_ok() || !dir.exists()
        });
        assert!(removed, "{} stays", dir.display());
    }
}

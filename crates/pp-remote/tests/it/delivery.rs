//! The delivery promises: every task runs and answers, a killed worker's
//! task is redelivered, a server restart loses nothing, cancel, one run per
//! id, and tasks only for the same program.

use std::collections::HashSet;
use std::time::Duration;

use pp_remote::{RemotePool, RemoteTaskOptions, TaskStatus};

use crate::support::{
    GATED, Server, WorkerProcess, eventually, is_gone, lines, logged_gated, logged_sleep,
    logged_square, options, square, temp_path,
};

pub(crate) const TESTS: &[pp_tests::Test] = &[
    ("two_hundred_tasks_through_two_workers", two_hundred_tasks_through_two_workers),
    ("a_killed_workers_task_is_run_by_the_other", a_killed_workers_task_is_run_by_the_other),
    ("a_server_restart_loses_no_task", a_server_restart_loses_no_task),
    (
        "cancel_removes_a_pending_task_and_stops_a_running_one",
        cancel_removes_a_pending_task_and_stops_a_running_one,
    ),
    ("a_task_submitted_twice_with_one_id_runs_once", a_task_submitted_twice_with_one_id_runs_once),
    (
        "a_worker_of_another_executable_never_gets_the_task",
        a_worker_of_another_executable_never_gets_the_task,
    ),
    ("a_task_is_followed_by_id_from_another_handle", a_task_is_followed_by_id_from_another_handle),
    (
        "a_long_task_is_not_redelivered_while_its_worker_lives",
        a_long_task_is_not_redelivered_while_its_worker_lives,
    ),
    (
        "a_task_queued_behind_a_long_one_is_not_redelivered",
        a_task_queued_behind_a_long_one_is_not_redelivered,
    ),
    (
        "a_task_not_signed_with_the_workers_key_never_runs",
        a_task_not_signed_with_the_workers_key_never_runs,
    ),
];

// Long enough that a heartbeat (every third of it) is never late on a
// loaded 2-core machine: a late one would be a redelivery, a second run.
const ACK_WAIT: Duration = Duration::from_secs(6);
const LONG: Duration = Duration::from_secs(120);

fn two_hundred_tasks_through_two_workers() {
    let server = Server::start();
    let workers =
        [WorkerProcess::start(&server, ACK_WAIT), WorkerProcess::start(&server, ACK_WAIT)];
    let pool = RemotePool::connect(&server.url(), options(ACK_WAIT)).unwrap();
    let log = temp_path("log");
    let log_text = log.to_string_lossy().into_owned();
    // Half one by one, half in one batch.
    let mut tasks: Vec<_> =
        (0..100u64).map(|i| pool.submit(logged_square, (log_text.clone(), i)).unwrap()).collect();
    tasks.extend(
        pool.submit_many(logged_square, (100..200u64).map(|i| (log_text.clone(), i))).unwrap(),
    );
    for (i, task) in tasks[..100].iter().enumerate() {
        assert_eq!(task.result_timeout(LONG).unwrap(), (i * i) as u64);
        assert_eq!(task.status().unwrap(), TaskStatus::Completed);
    }
    let batch = pool.results_timeout(&tasks[100..], LONG);
    for (i, result) in (100..200u64).zip(batch) {
        assert_eq!(result.unwrap(), i * i);
    }
    let ran_on: Vec<u32> = lines(&log).iter().map(|l| l.parse().unwrap()).collect();
    assert_eq!(ran_on.len(), 200, "every task ran once");
    let pids: HashSet<u32> = workers.iter().map(WorkerProcess::pid).collect();
    let used: HashSet<u32> = ran_on.into_iter().collect();
    assert_eq!(used, pids, "both workers did work");
    let _ = std::fs::remove_file(log);
}

fn a_killed_workers_task_is_run_by_the_other() {
    let server = Server::start();
    let first = WorkerProcess::start(&server, ACK_WAIT);
    let pool = RemotePool::connect(&server.url(), options(ACK_WAIT)).unwrap();
    let (log, gate) = (temp_path("log"), temp_path("gate"));
    let arg = (log.to_string_lossy().into_owned(), gate.to_string_lossy().into_owned());
    // The task runs until the gate opens: it cannot end before the kill.
    let task = pool.submit(logged_gated, arg).unwrap();
    assert!(eventually(LONG, || lines(&log).len() == 1), "the task never started");
    let local_worker: u32 = lines(&log)[0].parse().unwrap();
    assert!(eventually(LONG, || task.status().unwrap() == TaskStatus::Running));
    first.kill();
    // Its pool's worker dies with it (and the task with it).
    assert!(eventually(LONG, || is_gone(local_worker)), "{local_worker} outlived its worker");
    std::fs::write(&gate, b"open").unwrap();
    let _second = WorkerProcess::start(&server, ACK_WAIT);
    assert_eq!(task.result_timeout(LONG).unwrap(), GATED);
    let runs = lines(&log).len();
    assert!(runs == 2, "the task ran {runs} times: once before the kill, once after");
    // The redelivered run stored the one result; nothing runs it again.
    std::thread::sleep(ACK_WAIT * 2);
    assert_eq!(lines(&log).len(), 2);
    let _ = std::fs::remove_file(log);
    let _ = std::fs::remove_file(gate);
}

fn a_server_restart_loses_no_task() {
    let mut server = Server::start();
    let _workers =
        [WorkerProcess::start(&server, ACK_WAIT), WorkerProcess::start(&server, ACK_WAIT)];
    let pool = RemotePool::connect(&server.url(), options(ACK_WAIT)).unwrap();
    let log = temp_path("log");
    let log_text = log.to_string_lossy().into_owned();
    let mut tasks: Vec<_> =
        (0..20u64).map(|_| pool.submit(logged_sleep, (log_text.clone(), 100)).unwrap()).collect();
    assert!(eventually(LONG, || !lines(&log).is_empty()), "no task started");
    server.stop();
    std::thread::sleep(Duration::from_millis(500));
    server.start_again();
    // Submitting works again once the client has reconnected.
    let mut more = None;
    assert!(
        eventually(LONG, || {
            more = pool.submit(logged_sleep, (log_text.clone(), 100)).ok();
            more.is_some()
        }),
        "no submit succeeded after the restart"
    );
    tasks.extend(more);
    for task in &tasks {
        assert_eq!(task.result_timeout(LONG).unwrap(), 100, "task {}", task.id());
    }
    assert!(lines(&log).len() >= 21, "every task ran");
    let _ = std::fs::remove_file(log);
}

fn cancel_removes_a_pending_task_and_stops_a_running_one() {
    let server = Server::start();
    let _worker = WorkerProcess::start(&server, ACK_WAIT);
    let pool = RemotePool::connect(&server.url(), options(ACK_WAIT)).unwrap();
    let (running_log, pending_log) = (temp_path("running"), temp_path("pending"));
    let running =
        pool.submit(logged_sleep, (running_log.to_string_lossy().into_owned(), 60_000)).unwrap();
    assert!(eventually(LONG, || lines(&running_log).len() == 1), "the first task never started");
    let local_worker: u32 = lines(&running_log)[0].parse().unwrap();
    // The worker's one local worker is busy: this one waits (on the server
    // or queued in the worker's local pool), not running.
    let pending =
        pool.submit(logged_sleep, (pending_log.to_string_lossy().into_owned(), 10)).unwrap();
    assert_eq!(pending.status().unwrap(), TaskStatus::Pending);
    assert!(pending.cancel().unwrap());
    assert!(matches!(
        pending.result_timeout(LONG),
        Err(pp_remote::RemoteError::TaskFailed { status: TaskStatus::Cancelled, .. })
    ));
    assert!(running.cancel().unwrap());
    assert!(matches!(
        running.result_timeout(LONG),
        Err(pp_remote::RemoteError::TaskFailed { status: TaskStatus::Cancelled, .. })
    ));
    assert!(eventually(LONG, || is_gone(local_worker)), "the running task's process lives on");
    // Past the ack wait, neither runs (again).
    std::thread::sleep(ACK_WAIT * 2);
    assert_eq!(lines(&running_log).len(), 1);
    assert!(lines(&pending_log).is_empty(), "the cancelled pending task ran");
    assert!(!running.cancel().unwrap(), "a finished task cannot be cancelled");
    let _ = std::fs::remove_file(running_log);
}

fn a_task_submitted_twice_with_one_id_runs_once() {
    let server = Server::start();
    let _worker = WorkerProcess::start(&server, ACK_WAIT);
    let pool = RemotePool::connect(&server.url(), options(ACK_WAIT)).unwrap();
    let log = temp_path("log");
    let arg = (log.to_string_lossy().into_owned(), 7u64);
    let with_id = || RemoteTaskOptions::default().id("the-one");
    let first = pool.submit_with(logged_square, arg.clone(), with_id()).unwrap();
    let second = pool.submit_with(logged_square, arg.clone(), with_id()).unwrap();
    assert_eq!(first.id(), second.id());
    assert_eq!(second.result_timeout(LONG).unwrap(), 49);
    // Once more after it finished: its result stands, it does not run again.
    let third = pool.submit_with(logged_square, arg, with_id()).unwrap();
    assert_eq!(third.result_timeout(LONG).unwrap(), 49);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(lines(&log).len(), 1, "the task ran more than once");
    let _ = std::fs::remove_file(log);
}

fn a_worker_of_another_executable_never_gets_the_task() {
    let server = Server::start();
    // The same code, other bytes: another program to pp-remote.
    let other = temp_path("other-exe");
    std::fs::copy(std::env::current_exe().unwrap(), &other).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&other)
        .unwrap()
        .set_len(std::fs::metadata(&other).unwrap().len() + 1)
        .unwrap();
    let stranger = WorkerProcess::start_exe(&other, &server, ACK_WAIT);
    let pool = RemotePool::connect(&server.url(), options(ACK_WAIT)).unwrap();
    let task = pool.submit(square, 9).unwrap();
    assert!(matches!(
        task.result_timeout(Duration::from_secs(3)),
        Err(pp_remote::RemoteError::Timeout { .. })
    ));
    assert_eq!(task.status().unwrap(), TaskStatus::Pending);
    drop(stranger);
    let _ours = WorkerProcess::start(&server, ACK_WAIT);
    assert_eq!(task.result_timeout(LONG).unwrap(), 81);
    let _ = std::fs::remove_file(other);
}

fn a_task_is_followed_by_id_from_another_handle() {
    let server = Server::start();
    let _worker = WorkerProcess::start(&server, ACK_WAIT);
    let id = {
        let pool = RemotePool::connect(&server.url(), options(ACK_WAIT)).unwrap();
        pool.submit(square, 12).unwrap().id().to_owned()
    };
    // A new connection (a restarted submitter) knows only the id.
    let pool = RemotePool::connect(&server.url(), options(ACK_WAIT)).unwrap();
    let task = pool.task::<u64>(&id).unwrap();
    assert_eq!(task.result_timeout(LONG).unwrap(), 144);
    let wrong = pool.task::<String>(&id).unwrap();
    assert!(matches!(
        wrong.result_timeout(LONG),
        Err(pp_remote::RemoteError::WrongResultType { .. })
    ));
}

fn a_long_task_is_not_redelivered_while_its_worker_lives() {
    let server = Server::start();
    let _workers =
        [WorkerProcess::start(&server, ACK_WAIT), WorkerProcess::start(&server, ACK_WAIT)];
    let pool = RemotePool::connect(&server.url(), options(ACK_WAIT)).unwrap();
    let log = temp_path("log");
    // Runs for 2.5 ack waits: only the worker's progress signals keep the
    // server from handing it to the idle second worker.
    let task = pool.submit(logged_sleep, (log.to_string_lossy().into_owned(), 15_000)).unwrap();
    assert_eq!(task.result_timeout(LONG).unwrap(), 15_000);
    assert_eq!(lines(&log).len(), 1, "the task was redelivered while it ran");
    let _ = std::fs::remove_file(log);
}

fn a_task_queued_behind_a_long_one_is_not_redelivered() {
    let server = Server::start();
    // One worker with one local worker: the second task waits in its local
    // pool for 2.5 ack waits, kept by the worker's progress signals only.
    let _worker = WorkerProcess::start(&server, ACK_WAIT);
    let pool = RemotePool::connect(&server.url(), options(ACK_WAIT)).unwrap();
    let (long_log, queued_log) = (temp_path("long"), temp_path("queued"));
    let long =
        pool.submit(logged_sleep, (long_log.to_string_lossy().into_owned(), 15_000)).unwrap();
    assert!(eventually(LONG, || lines(&long_log).len() == 1), "the long task never started");
    let queued =
        pool.submit(logged_square, (queued_log.to_string_lossy().into_owned(), 3)).unwrap();
    assert_eq!(queued.result_timeout(LONG).unwrap(), 9);
    assert_eq!(long.result_timeout(LONG).unwrap(), 15_000);
    // A redelivered copy would have queued behind the first and run right
    // after it.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(lines(&queued_log).len(), 1, "the queued task was redelivered and ran twice");
    assert_eq!(lines(&long_log).len(), 1, "the long task was redelivered");
    let _ = std::fs::remove_file(long_log);
    let _ = std::fs::remove_file(queued_log);
}

fn a_task_not_signed_with_the_workers_key_never_runs() {
    let server = Server::start();
    let other_key = pp_remote::Key::generate().unwrap();
    let exe = std::env::current_exe().unwrap();
    let _worker = WorkerProcess::start_with(&exe, &server, ACK_WAIT, &other_key);
    let pool = RemotePool::connect(&server.url(), options(ACK_WAIT)).unwrap();
    let log = temp_path("log");
    let task = pool.submit(logged_square, (log.to_string_lossy().into_owned(), 2)).unwrap();
    let error = task.result_timeout(LONG).unwrap_err();
    assert!(
        matches!(error, pp_remote::RemoteError::TaskFailed { status: TaskStatus::Failed, ref message, .. }
            if message.contains("not signed with the workers' key")),
        "{error:?}"
    );
    assert!(lines(&log).is_empty(), "a worker ran a task signed with another key");
}

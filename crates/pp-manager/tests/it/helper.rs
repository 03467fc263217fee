//! The helper role of this test binary: started with [`HELPER_ENV`] set (see
//! [`command`]), it is an unrelated process that uses a queue, a value, an
//! event and a lock whose ids it gets on its command line, through the free
//! functions, instead of running the tests. No helper binary ships with pp-manager.
//!
//! `helper <queue> <value> <event> <lock> <n>`: puts `n` items on
//! the queue, increments the value `n` times under the lock (a deliberately
//! non-atomic read-then-write), sets the event, prints `done`.
//!
//! `helper leave-at-exit`: creates a queue, a value, an event and a
//! lock, starts `sleep 60`, keeps busy threads (one blocked on the queue, one
//! thread-pool task), prints the ids and the sleep's pid on one line, and
//! returns from `main` without `shutdown()`: the exit hook must clean up.
//!
//! `helper exit-from-task`: creates a queue, starts `sleep 60`,
//! prints the queue's id and the sleep's pid, and exits with code 3 by
//! `std::process::exit` from a thread-pool task while `main` waits for it.
//!
//! `helper fork-child-exits`: creates a queue, forks a child that
//! calls `std::process::exit` (so runs the inherited exit hook), waits for it,
//! and prints `kept` if the queue is still there (`lost` if the child's hook
//! removed it), then shuts down.
//!
//! `helper stop-on-signal`: calls `shutdown_on_interrupt()`, starts
//! `sleep 600` and `sh -c 'sleep 600 & sleep 600'`, creates a queue, prints the
//! queue's id, then the pids of both children and of the shell's children,
//! on one line, and sleeps until a signal ends it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use pp_manager::prelude::*;

/// Set (to `1`) in the environment of this binary started as the helper.
pub(crate) const HELPER_ENV: &str = "PP_MANAGER_TEST_HELPER";

/// This test binary.
pub(crate) fn path() -> PathBuf {
    std::env::current_exe().expect("the test binary's path")
}

/// A command that starts this binary as the helper, with `args`.
pub(crate) fn command<I, S>(args: I) -> std::process::Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = std::process::Command::new(path());
    command.env(HELPER_ENV, "1").args(args);
    command
}

/// Runs the helper role if this process was started as the helper.
pub(crate) fn run_if_asked() -> Option<ExitCode> {
    std::env::var_os(HELPER_ENV)?;
    Some(match main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("helper: {e}");
            ExitCode::FAILURE
        }
    })
}

fn main() -> Result<(), ManagerError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("leave-at-exit") => return leave_at_exit(),
        Some("exit-from-task") => return exit_from_task(),
        Some("fork-child-exits") => return fork_child_exits(),
        Some("stop-on-signal") => return stop_on_signal(),
        Some("event-from-queue") => return event_from_queue(&args[1..]),
        _ => {}
    }
    let [queue, value, event, lock, n] = args.as_slice() else {
        eprintln!("usage: helper <queue> <value> <event> <lock> <n>");
        std::process::exit(2);
    };
    let (queue, value, event, lock): (QueueId, ValueId, EventId, LockId) =
        (queue.parse()?, value.parse()?, event.parse()?, lock.parse()?);
    let n: u32 = n.parse().expect("a count");
    let timeout = Some(Duration::from_secs(30));
    for i in 0..n {
        put_queue_item(&queue, &format!("item {i} from {}", std::process::id()), true, timeout)?;
        let _held = lock_context(&lock, timeout)?;
        let current = get_shared_value(&value)?.as_i64().expect("an integer value");
        set_shared_value(&value, current + 1)?;
    }
    set_event(&event)?;
    println!("done");
    Ok(())
}

/// `event-from-queue <queue>`: takes an [`EventId`] off the queue (sent there
/// as a typed id by another process) and sets that event.
fn event_from_queue(args: &[String]) -> Result<(), ManagerError> {
    let [queue] = args else {
        eprintln!("usage: event-from-queue <queue>");
        std::process::exit(2);
    };
    let queue: QueueId = queue.parse()?;
    let event: EventId = get_queue_item(&queue, true, Some(Duration::from_secs(30)))?;
    set_event(&event)?;
    println!("set {event}");
    Ok(())
}

fn leave_at_exit() -> Result<(), ManagerError> {
    let queue = create_queue(4)?;
    let value = create_shared_value("l", 7)?;
    let event = create_event()?;
    let lock = create_lock()?;
    let sleeper = run_process_async(&Command::new("sleep").arg("60"))?;
    let pid = get_process_status(sleeper.as_str()).and_then(|p| p.pid).expect("a pid");
    // A thread still using the queue at exit holds a handle to it.
    let waiting = queue.clone();
    std::thread::spawn(move || get_queue_item::<u32>(&waiting, true, None));
    // A thread-pool task still running at exit must not hold the exit up.
    let pool = create_thread_pool(1)?;
    submit_task(|s: u64| std::thread::sleep(Duration::from_secs(s)), 3600, Some(&pool))?;
    println!("{queue} {value} {event} {lock} {pid}");
    Ok(())
}

fn exit_from_task() -> Result<(), ManagerError> {
    let queue = create_queue(4)?;
    let sleeper = run_process_async(&Command::new("sleep").arg("60"))?;
    let pid = get_process_status(sleeper.as_str()).and_then(|p| p.pid).expect("a pid");
    println!("{queue} {pid}");
    let pool = create_thread_pool(1)?;
    let task = submit_task(exit_with, 3, Some(&pool))?;
    // Never returns: the task ends the process while this waits.
    get_task_result::<()>(&task, None)?;
    Ok(())
}

fn exit_with(code: i32) {
    std::process::exit(code)
}

fn fork_child_exits() -> Result<(), ManagerError> {
    let queue = create_queue(4)?;
    put_queue_item(&queue, &1u8, false, None)?;
    // SAFETY: the child only calls `exit`, which runs the exit hooks it inherited.
    let child = unsafe { libc::fork() };
    if child == 0 {
        std::process::exit(0);
    }
    assert!(child > 0, "fork failed");
    let mut status = 0;
    // SAFETY: waits for the child forked above; `status` is a valid out-pointer.
    unsafe { libc::waitpid(child, &mut status, 0) };
    let kept = std::path::Path::new("/dev/shm").join(queue.as_str()).exists()
        && get_queue_size(&queue)? == 1;
    println!("{}", if kept { "kept" } else { "lost" });
    shutdown();
    Ok(())
}

fn stop_on_signal() -> Result<(), ManagerError> {
    shutdown_on_interrupt()?;
    shutdown_on_interrupt()?; // A second call is harmless.
    // Long sleeps: none may end by itself while the test waits for them to go.
    let sleeper = run_process_async(&Command::new("sleep").arg("600"))?;
    let tree = run_process_async(&Command::new("sh").args(["-c", "sleep 600 & sleep 600"]))?;
    let queue = create_queue(4)?;
    let pid_of = |id: &ProcessId| get_process_status(id.as_str()).and_then(|p| p.pid);
    let (sleeper, shell) = (pid_of(&sleeper).expect("a pid"), pid_of(&tree).expect("a pid"));
    // The shell's children (both sleeps), once it started them.
    let children = format!("/proc/{shell}/task/{shell}/children");
    let mut grandchildren = String::new();
    for _ in 0..1000 {
        grandchildren = std::fs::read_to_string(&children).unwrap_or_default();
        if grandchildren.split_whitespace().count() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    println!("{queue} {sleeper} {shell} {}", grandchildren.trim());
    // The signal ends the program from pp's thread; this only waits for it.
    std::thread::sleep(Duration::from_secs(600));
    Ok(())
}

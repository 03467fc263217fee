//! Awaiting processes from async code: tokio (current-thread and
//! multi-thread) and `futures::executor::block_on`; kill_on_drop.

use std::time::{Duration, Instant};

use pp_process::{Command, ProcessHandle, ProcessStatus, thread_count};

use crate::support::{
    TempDir, eventually, is_gone, isolated, our_zombies, raise_fd_limit, watchdog,
};

const LIMIT: Duration = Duration::from_secs(120);

fn multi_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_time().build().unwrap()
}

#[test]
fn a_thousand_awaited_processes_on_a_current_thread_runtime_add_no_threads() {
    if !isolated(
        "asynchronous::a_thousand_awaited_processes_on_a_current_thread_runtime_add_no_threads",
    ) {
        return;
    }
    watchdog(Duration::from_secs(600), || {
        raise_fd_limit(8192);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        // Before pp's first use: the harness, the watchdog and the runtime's thread (this one).
        let threads_before = thread_count().unwrap();
        let (threads_during, outputs) = runtime.block_on(async {
            let handles: Vec<ProcessHandle> = (0..1000)
                .map(|_| Command::new("sleep").arg("1").spawn().expect("spawn sleep"))
                .collect();
            let threads_during = thread_count().unwrap();
            let outputs = futures::future::join_all(handles.iter().map(|h| h.wait_async())).await;
            (threads_during, outputs)
        });
        let completed = outputs.iter().filter(|o| o.as_ref().is_ok_and(|o| o.success())).count();
        let threads_after = thread_count().unwrap();
        let zombies = our_zombies();
        println!(
            "1000 concurrent `sleep 1` awaited on a current-thread runtime: {completed} completed; \
             threads {threads_before} before pp's first use, {threads_during} while all were \
             pending, {threads_after} after; zombies after: {}",
            zombies.len()
        );
        assert_eq!(completed, 1000);
        // pp's fixed threads only: reactor, spawner, background.
        assert!(threads_during <= threads_before + 3, "threads grew with pending waits");
        assert!(threads_after <= threads_before + 3, "threads grew with pending waits");
        assert!(zombies.is_empty(), "unreaped children: {zombies:?}");
    });
}

/// What every executor must do: await a short process and a run, and give
/// up on a long one through tokio's timer (the test then kills it).
async fn wait_short_and_time_out_long() {
    let started = Instant::now();
    let handle = Command::shell("sleep 0.2; echo done").spawn().unwrap();
    let output = handle.wait_async().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200), "woken before the process ended");
    assert_eq!(output.stdout_str(), "done\n");
    let again = Command::new("echo").arg("run").run_async().await.unwrap();
    assert_eq!(again.stdout_str(), "run\n");

    let long = Command::new("sleep").arg("60").spawn().unwrap();
    let started = Instant::now();
    let waited = tokio::time::timeout(Duration::from_millis(300), long.wait_async()).await;
    assert!(waited.is_err(), "a `sleep 60` finished within 300 ms");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(long.status(), ProcessStatus::Running, "the timeout only ended the wait");
    long.kill().unwrap();
    let killed = long.clone().await.unwrap();
    assert!(!killed.success(), "killed, yet reported a success");
    assert!(is_gone(long.pid().unwrap()));
}

#[test]
fn a_multi_thread_runtime_awaits_processes_and_times_out() {
    watchdog(LIMIT, || multi_thread_runtime().block_on(wait_short_and_time_out_long()));
}

#[test]
fn block_on_awaits_processes_and_times_out() {
    watchdog(LIMIT, || {
        // tokio's timer needs its runtime's context; the executor is block_on's.
        let runtime = multi_thread_runtime();
        let _context = runtime.enter();
        futures::executor::block_on(wait_short_and_time_out_long());
    });
}

#[test]
fn a_future_dropped_mid_wait_leaves_the_handle_usable() {
    watchdog(LIMIT, || {
        let handle = Command::shell("sleep 0.5; echo late").spawn().unwrap();
        let runtime = multi_thread_runtime();
        let gave_up = runtime.block_on(async {
            tokio::time::timeout(Duration::from_millis(50), handle.wait_async()).await
        });
        assert!(gave_up.is_err(), "finished before the timeout");
        let output = handle.wait().unwrap();
        assert_eq!(output.stdout_str(), "late\n");
        // And awaiting again after the end answers at once, with the same output.
        let again = futures::executor::block_on(async { handle.clone().await }).unwrap();
        assert_eq!(again.stdout_str(), "late\n");
    });
}

/// Starts `sh` with a background grandchild (`kill_on_drop` if asked); returns (handle, grandchild pid).
fn tree_with_grandchild(dir: &TempDir, cmd: Command) -> (ProcessHandle, u32) {
    let handle = cmd.spawn().unwrap();
    let pid_file = dir.0.join("grandchild.pid");
    let mut grandchild = None;
    assert!(
        eventually(Duration::from_secs(20), || {
            grandchild =
                std::fs::read_to_string(&pid_file).ok().and_then(|s| s.trim().parse::<u32>().ok());
            grandchild.is_some()
        }),
        "the shell never wrote the grandchild's pid"
    );
    (handle, grandchild.unwrap())
}

fn script(dir: &TempDir) -> Command {
    let pid_file = dir.0.join("grandchild.pid");
    Command::shell(format!("sleep 60 & echo $! > {}; sleep 60", pid_file.display()))
}

#[test]
fn kill_on_drop_stops_the_whole_tree_when_the_last_handle_goes() {
    watchdog(LIMIT, || {
        let dir = TempDir::new("kill-on-drop");
        let (handle, grandchild) = tree_with_grandchild(&dir, script(&dir).kill_on_drop());
        let child = handle.pid().unwrap();
        let clone = handle.clone();
        drop(handle);
        std::thread::sleep(Duration::from_millis(200));
        assert!(!is_gone(child) && !is_gone(grandchild), "stopped while a clone was left");
        let started = Instant::now();
        drop(clone);
        assert!(started.elapsed() < Duration::from_secs(1), "the drop waited for the stop");
        assert!(eventually(Duration::from_secs(30), || is_gone(child)), "child {child} runs on");
        assert!(
            eventually(Duration::from_secs(30), || is_gone(grandchild)),
            "grandchild {grandchild} runs on"
        );
    });
}

#[test]
fn without_kill_on_drop_a_dropped_handles_process_runs_on() {
    watchdog(LIMIT, || {
        let dir = TempDir::new("no-kill-on-drop");
        let (handle, grandchild) = tree_with_grandchild(&dir, script(&dir));
        let child = handle.pid().unwrap();
        drop(handle);
        std::thread::sleep(Duration::from_millis(500));
        assert!(!is_gone(child), "child {child} was stopped");
        assert!(!is_gone(grandchild), "grandchild {grandchild} was stopped");
        // Its group (the child's pid) is stopped by hand; the reactor reaps the child.
        let group = format!("-{child}");
        let _ = std::process::Command::new("kill").args(["-KILL", "--", &group]).status();
        assert!(eventually(Duration::from_secs(30), || is_gone(child) && is_gone(grandchild)));
    });
}

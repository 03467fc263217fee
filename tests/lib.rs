//! Test support shared by the crates' integration tests (a dev-dependency
//! only): watchdogs, `/proc` inspection, and the runner of the test binaries
//! that need their own `main` (`harness = false`, for process pools).
//! Workspace-level tests live in `it/`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Runs `f` on its own thread and fails the test if it takes longer than
/// `limit`, instead of hanging the whole run.
pub fn watchdog<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the worker sends before it ends"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("watchdog: test still running after {limit:?}")
        }
    }
}

/// `(state, parent pid)` of a process, from `/proc/<pid>/stat`.
pub fn proc_state(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Whether `pid` is dead: no such process, or a zombie that is not ours (an
/// orphan waiting for an init that may never reap it).
pub fn is_gone(pid: u32) -> bool {
    match proc_state(pid) {
        None => true,
        Some((state, ppid)) => state == 'Z' && ppid != std::process::id(),
    }
}

/// Our children that are zombies: processes we failed to reap.
pub fn our_zombies() -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter(|&pid| matches!(proc_state(pid), Some(('Z', ppid)) if ppid == me))
                .collect()
        })
        .unwrap_or_default()
}

/// Our open file descriptors.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count())
}

/// Polls `cond` every 10 ms until it holds; false if `limit` passes first.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

/// A named test of a `harness = false` test binary.
pub type Test = (&'static str, fn());

/// Runs `tests` in turn (those whose name contains the first non-flag
/// argument, if any) under one watchdog of `limit` (which exits the process
/// with 101), prints a libtest-like summary, and says whether all passed.
pub fn run_tests(tests: &[Test], limit: Duration) -> bool {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let selected: Vec<&Test> = tests
        .iter()
        .filter(|(name, _)| filter.as_ref().is_none_or(|f| name.contains(f.as_str())))
        .collect();
    println!("\nrunning {} tests", selected.len());
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("watchdog: tests still running after {limit:?}");
        std::process::exit(101);
    });
    let started = Instant::now();
    let mut failed = Vec::new();
    for (name, test) in &selected {
        let began = Instant::now();
        match catch_unwind(AssertUnwindSafe(test)) {
            Ok(()) => println!("test {name} ... ok ({:.2?})", began.elapsed()),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed.push(*name);
            }
        }
    }
    let passed = selected.len() - failed.len();
    if failed.is_empty() {
        println!(
            "\ntest result: ok. {passed} passed; 0 failed; finished in {:.2?}\n",
            started.elapsed()
        );
    } else {
        println!(
            "\nfailures: {failed:?}\ntest result: FAILED. {passed} passed; {} failed\n",
            failed.len()
        );
    }
    failed.is_empty()
}

//! Test support shared by the crates' integration tests (a dev-dependency
//! only): watchdogs, `/proc` inspection, and the runner of the test binaries
//! that need their own `main` (`harness = false`, for process pools).
//! Workspace-level tests live in `it/`.

pub mod nats;

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

/// A uid (and gid) with no account, for "another user" in tests run as
/// root: switching to it needs no passwd entry.
pub const OTHER_UID: u32 = 54_321;

/// Our effective uid, from `/proc/self/status`.
pub fn effective_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Uid:"))?;
            line.split_whitespace().nth(2)?.parse().ok()
        })
        .unwrap_or(u32::MAX)
}

/// Whether a cgroup v2 file system is mounted (where root can always create
/// cgroups below its own, so pp's default containment must be a cgroup).
pub fn cgroup2_mounted() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(" - ").nth(1).is_some_and(|r| r.starts_with("cgroup2 ")))
}

/// The cgroup v2 directory process `pid` is in (`None` without cgroup v2 or
/// once it is gone).
pub fn cgroup_dir_of(pid: u32) -> Option<std::path::PathBuf> {
    let membership = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let relative = membership.lines().find_map(|l| l.strip_prefix("0::"))?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mount = mountinfo
        .lines()
        .find(|l| l.split(" - ").nth(1).is_some_and(|r| r.starts_with("cgroup2 ")))?
        .split_whitespace()
        .nth(4)?;
    Some(std::path::Path::new(mount).join(relative.trim_start_matches('/')))
}

/// Our open file descriptors.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count())
}

/// Our open file descriptors except those on a cgroup file system: the
/// empty cgroups pp-process keeps for reuse hold one each (at most a few,
/// given back when a finished process's last reference drops, which may be
/// on its background thread after a wait returned), so layers above count
/// their own descriptors with this.
pub fn open_fds_outside_cgroups() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else { return 0 };
    dir.flatten()
        .filter(|e| {
            std::fs::read_link(e.path())
                .map_or(true, |target| !target.starts_with("/sys/fs/cgroup"))
        })
        .count()
}

/// Set in the copy of a test binary that [`isolated`] starts.
const ISOLATED: &str = "PP_TEST_ISOLATED";

/// Runs the test `name` alone in a fresh copy of this (libtest) test binary
/// and fails if it fails there; returns true inside that copy, where the
/// caller does the work. For tests that count process-wide things
/// (descriptors, zombies, threads), which tests running beside them in one
/// binary would disturb.
pub fn isolated(name: &str) -> bool {
    if std::env::var_os(ISOLATED).is_some() {
        return true;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = std::process::Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(ISOLATED, "1")
        .output()
        .expect("run the test binary again");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{text}");
    assert!(out.status.success() && text.contains("1 passed"), "isolated run of {name} failed");
    false
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

pub use libtest_mimic::Conclusion;

/// Runs `tests` with libtest's command line (`--list`, `--exact`, filters,
/// `--skip`, `--test-threads`, what `cargo nextest` sends), under one watchdog
/// that exits the process with 101 once `limit` has passed. Returns the
/// outcome: the caller cleans up, then returns `conclusion.exit_code()` from
/// `main`, so any failed test fails the binary.
///
/// Tests run one at a time unless `--test-threads` (or `RUST_TEST_THREADS`)
/// says otherwise: some count process-wide resources (descriptors, zombies,
/// threads) or share the process-wide manager.
pub fn run_tests(tests: &[Test], limit: Duration) -> Conclusion {
    let mut args = libtest_mimic::Arguments::from_args();
    if args.test_threads.is_none() {
        args.test_threads =
            Some(std::env::var("RUST_TEST_THREADS").ok().and_then(|n| n.parse().ok()).unwrap_or(1));
    }
    if !args.list {
        start_binary_watchdog(limit);
    }
    let trials = tests
        .iter()
        .map(|&(name, test)| {
            libtest_mimic::Trial::test(name, move || {
                test();
                Ok(())
            })
        })
        .collect();
    libtest_mimic::run(&args, trials)
}

/// Exits the process with 101 once `limit` has passed: a hung test must not
/// hang CI, and libtest has no timeout of its own.
fn start_binary_watchdog(limit: Duration) {
    std::thread::Builder::new()
        .name("pp-tests-watchdog".into())
        .spawn(move || {
            std::thread::sleep(limit);
            eprintln!("watchdog: tests still running after {limit:?}");
            std::process::exit(101);
        })
        .expect("cannot start the test watchdog thread");
}

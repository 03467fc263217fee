//! Helpers: `/proc` inspection and the child-process roles of this test binary.

use std::time::{Duration, Instant};

/// Env var naming the role a re-executed copy of this test binary plays.
pub(crate) const ROLE_ENV: &str = "PP_POOL_TEST_ROLE";

/// The role this process was started for, if any.
pub(crate) fn child_role() -> Option<fn()> {
    match std::env::var(ROLE_ENV).ok()?.as_str() {
        "busy-parent" => Some(crate::faults::busy_parent),
        "printing-parent" => Some(crate::process::printing_parent),
        other => panic!("unknown test role {other:?}"),
    }
}

/// Whether `pid` is dead: no such process, or a zombie that is not ours.
pub(crate) fn is_gone(pid: u32) -> bool {
    match proc_state(pid) {
        None => true,
        Some((state, ppid)) => state == 'Z' && ppid != std::process::id(),
    }
}

fn proc_state(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    Some((fields.next()?.chars().next()?, fields.next()?.parse().ok()?))
}

/// Our children that are zombies.
pub(crate) fn our_zombies() -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| matches!(proc_state(pid), Some(('Z', ppid)) if ppid == me))
        .collect()
}

/// Our open descriptors.
pub(crate) fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Polls `cond` every 10 ms until it holds or `limit` passes.
pub(crate) fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

/// A file path unique to this test process.
pub(crate) fn temp_path(tag: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("pp-pool-test-{}-{tag}-{n}", std::process::id()))
}

/// Waits for `path` to hold a pid written by a task; returns it.
pub(crate) fn read_pid(path: &std::path::Path) -> u32 {
    let mut pid = None;
    assert!(
        eventually(Duration::from_secs(30), || {
            pid = std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse().ok());
            pid.is_some()
        }),
        "no pid appeared in {}",
        path.display()
    );
    let _ = std::fs::remove_file(path);
    pid.unwrap()
}

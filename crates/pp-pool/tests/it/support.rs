//! Helpers: the child-process roles of this test binary, pid files (the rest is pp-tests).

pub(crate) use pp_tests::{eventually, is_gone, open_fds_outside_cgroups, our_zombies};

use std::time::Duration;

/// Env var naming the role a re-executed copy of this test binary plays.
pub(crate) const ROLE_ENV: &str = "PP_POOL_TEST_ROLE";

/// A task that sleeps `ms` milliseconds, shared by test modules.
pub(crate) fn process_sleep(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
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

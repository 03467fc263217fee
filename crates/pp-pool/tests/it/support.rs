//! Helpers: the child-process roles of this test binary, pid files (the rest is pp-tests).

pub(crate) use pp_tests::{eventually, is_gone, open_fds, our_zombies};

use std::time::Duration;

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

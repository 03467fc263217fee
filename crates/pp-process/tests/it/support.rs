//! Test helpers: temporary directories, descriptor limits, killing by pid,
//! re-runs on the std spawn path (the rest, isolated re-runs included, is
//! pp-tests).

pub(crate) use pp_tests::{eventually, is_gone, isolated, open_fds, our_zombies, watchdog};

use std::path::PathBuf;

/// SIGKILL to one process (an escapee a test reaches by pid).
pub(crate) fn kill_pid(pid: u32) {
    let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
}

/// A fresh empty directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("pp-test-{}-{tag}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Raises this process's soft descriptor limit to `want` (within the hard
/// limit), for tests that keep a thousand processes' pipes open at once.
pub(crate) fn raise_fd_limit(want: u64) {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    let hard = limit.maximum.unwrap_or(u64::MAX);
    if limit.current.is_some_and(|soft| soft < want) {
        limit.current = Some(want.min(hard));
        setrlimit(Resource::Nofile, limit).unwrap();
    }
}

/// Runs the tests whose names start with `filter` again in a copy of this
/// binary with `PP_PROCESS_NO_CLONE3` set (pp's std spawn path, taken where
/// clone3 is missing or filtered), and fails if any fails there. Does
/// nothing inside that copy.
pub(crate) fn passes_on_std_spawn(filter: &str, args: &[&str]) {
    if std::env::var_os("PP_PROCESS_NO_CLONE3").is_some() {
        return; // already the fallback run
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .arg(filter)
        .args(args)
        .env("PP_PROCESS_NO_CLONE3", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    assert!(out.status.success() && text.contains("test result: ok"), "fallback run failed");
}

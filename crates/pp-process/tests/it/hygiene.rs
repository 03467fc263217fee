//! Nothing leaks: no zombies, no descriptors; threads stay constant at scale.

use std::time::Duration;

use pp_process::{Command, ProcessStatus};

use crate::support::{isolated, open_fds, our_zombies, raise_fd_limit, watchdog};

#[test]
fn a_thousand_runs_leave_no_zombie_and_no_descriptor() {
    if !isolated("hygiene::a_thousand_runs_leave_no_zombie_and_no_descriptor") {
        return;
    }
    watchdog(Duration::from_secs(600), || {
        // Warm up (the test harness may open descriptors on first use): count after it.
        Command::new("true").run().unwrap();
        let fds_before = open_fds();
        for i in 0..1000 {
            let out = Command::new("echo").arg(i.to_string()).run().unwrap();
            assert_eq!(out.stdout_str().trim(), i.to_string());
        }
        let fds_after = open_fds();
        let zombies = our_zombies();
        println!("1000 runs: descriptors {fds_before} -> {fds_after}, zombies {zombies:?}");
        assert!(zombies.is_empty(), "unreaped children: {zombies:?}");
        assert_eq!(fds_after, fds_before, "descriptor growth");
    });
}

#[test]
fn a_thousand_concurrent_processes_need_no_extra_threads() {
    if !isolated("hygiene::a_thousand_concurrent_processes_need_no_extra_threads") {
        return;
    }
    watchdog(Duration::from_secs(600), || {
        raise_fd_limit(8192);
        // The first spawn starts pp-process's fixed threads (reactor,
        // spawner): count once they are up.
        // The background thread starts once a finished process leaves a
        // spare cgroup (not always; never without cgroups): give it a moment
        // to start and name itself, and leave it out of both counts.
        let _ = crate::support::eventually(Duration::from_secs(1), || {
            Command::new("true").spawn().unwrap().wait().unwrap();
            thread_names().iter().any(|name| name == BACKGROUND)
        });
        let threads_before = fixed_thread_count();
        let names_before = thread_names();
        let handles: Vec<_> = (0..1000)
            .map(|_| Command::new("sleep").arg("1").spawn().expect("spawn sleep"))
            .collect();
        let running = handles.iter().filter(|h| h.status() == ProcessStatus::Running).count();
        let threads_during = fixed_thread_count();
        let names_during = thread_names();
        for handle in &handles {
            assert!(handle.wait().unwrap().success());
        }
        let zombies = our_zombies();
        println!(
            "1000 concurrent `sleep 1`: {running} running at once after spawning, \
             threads {threads_before} before (test harness, watchdog, pp-process's fixed threads), \
             {threads_during} during; zombies after: {}",
            zombies.len()
        );
        assert_eq!(
            threads_during, threads_before,
            "pp-process started threads per process: {names_during:?} (before: {names_before:?})"
        );
        assert!(zombies.is_empty());
    });
}

/// This process's threads, without pp-process's background thread (read
/// once): it starts once, when a finished process first leaves a spare
/// cgroup, which may be just before or just after the first count.
fn fixed_thread_count() -> usize {
    thread_names().iter().filter(|name| *name != BACKGROUND).count()
}

/// pp-process's background thread as /proc shows it (a thread's name is
/// cut to 15 bytes there).
const BACKGROUND: &str = "pp-process-back";

/// The names of this process's threads.
fn thread_names() -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Vec::new() };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
        .map(|comm| comm.trim().to_owned())
        .collect()
}

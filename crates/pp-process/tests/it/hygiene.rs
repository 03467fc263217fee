//! Nothing leaks: no zombies, no descriptors; threads stay constant at scale.

use std::time::Duration;

use pp_process::{Command, ProcessStatus, thread_count};

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
        // The first spawn starts pp-process's fixed threads (reactor, spawner,
        // and the background thread once the first cgroup is removed, just
        // after the wait returns): count once they are up.
        Command::new("true").spawn().unwrap().wait().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let threads_before = thread_count().unwrap();
        let handles: Vec<_> = (0..1000)
            .map(|_| Command::new("sleep").arg("1").spawn().expect("spawn sleep"))
            .collect();
        let running = handles.iter().filter(|h| h.status() == ProcessStatus::Running).count();
        let threads_during = thread_count().unwrap();
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
        assert_eq!(threads_during, threads_before, "pp-process started threads per process");
        assert!(zombies.is_empty());
    });
}

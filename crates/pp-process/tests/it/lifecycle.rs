//! Timeouts, terminate and kill reach the whole process tree.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pp_process::{Command, Error, ProcessStatus, TerminateOutcome};

use crate::support::{TempDir, eventually, is_gone, watchdog};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn timeout_stops_child_and_grandchild() {
    watchdog(LIMIT, || {
        let started = Instant::now();
        let err = Command::shell("sleep 60 & echo $!; sleep 60")
            .timeout(Duration::from_secs(1))
            .run()
            .unwrap_err();
        assert!(started.elapsed() >= Duration::from_secs(1));
        let Error::Timeout { process_id, limit, output } = err else {
            panic!("not a timeout: {err}")
        };
        assert_eq!(limit, Duration::from_secs(1));
        assert_eq!(output.process_id, process_id);
        assert_eq!(output.status, ProcessStatus::TimedOut);
        let grandchild: u32 = output.stdout_str().trim().parse().expect("grandchild pid on stdout");
        assert!(is_gone(output.pid), "child {} still exists", output.pid);
        assert!(is_gone(grandchild), "grandchild {grandchild} still exists");
        assert_eq!(output.signal, Some(15), "SIGTERM within the grace period");
    });
}

/// Starts `sh` with a background grandchild; returns (handle, grandchild pid).
fn tree_with_grandchild(dir: &TempDir, script_tail: &str) -> (pp_process::ProcessHandle, u32) {
    let pid_file = dir.0.join("grandchild.pid");
    let script = format!("sleep 60 & echo $! > {}; {script_tail}", pid_file.display());
    let handle = Command::shell(script).spawn().unwrap();
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

#[test]
fn terminate_stops_child_and_grandchild() {
    watchdog(LIMIT, || {
        let dir = TempDir::new("terminate");
        let (handle, grandchild) = tree_with_grandchild(&dir, "sleep 60");
        assert_eq!(handle.status(), ProcessStatus::Running);
        assert_eq!(handle.terminate().unwrap(), TerminateOutcome::Terminated);
        assert_eq!(handle.status(), ProcessStatus::Terminated);
        assert!(is_gone(handle.pid().unwrap()));
        assert!(is_gone(grandchild), "grandchild {grandchild} still exists");
        // A second terminate finds nothing to stop and says how it ended.
        assert_eq!(handle.terminate().unwrap(), TerminateOutcome::Terminated);
    });
}

#[test]
fn a_tree_that_ignores_sigterm_is_killed_after_the_grace_period() {
    watchdog(LIMIT, || {
        let dir = TempDir::new("ignore-term");
        let pid_file = dir.0.join("grandchild.pid");
        // Children inherit the ignored SIGTERM.
        let script = format!("trap '' TERM; sleep 60 & echo $! > {}; sleep 60", pid_file.display());
        let handle = Command::shell(script).grace(Duration::from_millis(300)).spawn().unwrap();
        assert!(eventually(Duration::from_secs(20), || pid_file.exists()
            && !std::fs::read_to_string(&pid_file).unwrap().trim().is_empty()));
        let grandchild: u32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
        let started = Instant::now();
        assert_eq!(handle.terminate().unwrap(), TerminateOutcome::Killed);
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "SIGKILL came before the grace period"
        );
        let output = handle.wait().unwrap();
        assert_eq!(output.status, ProcessStatus::Killed);
        assert_eq!(output.signal, Some(9));
        assert!(is_gone(grandchild));
    });
}

#[test]
fn kill_is_immediate_and_reported() {
    watchdog(LIMIT, || {
        let handle = Command::new("sleep").arg("60").spawn().unwrap();
        assert_eq!(handle.kill().unwrap(), TerminateOutcome::Killed);
        let output = handle.wait().unwrap();
        assert_eq!((output.status, output.signal), (ProcessStatus::Killed, Some(9)));
    });
}

#[test]
fn terminate_after_exit_reports_exited_by_itself() {
    watchdog(LIMIT, || {
        let handle = Command::new("true").spawn().unwrap();
        handle.wait().unwrap();
        assert_eq!(handle.terminate().unwrap(), TerminateOutcome::ExitedByItself);
        assert_eq!(handle.status(), ProcessStatus::Completed);
    });
}

#[test]
fn wait_with_deadline_returns_none_while_running() {
    watchdog(LIMIT, || {
        let handle = Command::new("sleep").arg("60").spawn().unwrap();
        let started = Instant::now();
        assert!(handle.wait_timeout(Duration::from_millis(200)).unwrap().is_none());
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(handle.output().is_none());
        handle.kill().unwrap();
        assert!(handle.wait_timeout(Duration::from_secs(30)).unwrap().is_some());
    });
}

#[test]
fn async_timeout_is_reported_by_wait() {
    watchdog(LIMIT, || {
        let handle =
            Command::new("sleep").arg("60").timeout(Duration::from_millis(100)).spawn().unwrap();
        let err = handle.wait().unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err}");
        assert_eq!(handle.status(), ProcessStatus::TimedOut);
        assert!(err.to_string().contains(handle.id().as_str()), "{err}");
    });
}

#[test]
fn exit_codes_and_signals_are_reported() {
    watchdog(LIMIT, || {
        let out = Command::shell("exit 3").run().unwrap();
        assert_eq!((out.code, out.signal), (Some(3), None));
        assert!(!out.success());
        let out = Command::shell("kill -9 $$").run().unwrap();
        assert_eq!((out.code, out.signal), (None, Some(9)));
        assert_eq!(out.status, ProcessStatus::Completed, "a signal pp did not send");
        let out = Command::new("true").run().unwrap();
        assert!(out.success());
        assert_eq!(out.command, ["true"]);
        assert!(out.pid > 0);
    });
}

#[test]
fn the_exit_callback_runs_once_with_the_output() {
    watchdog(LIMIT, || {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let cmd = Command::new("echo").arg("done").on_exit(move |out| {
            assert_eq!(out.stdout_str(), "done\n");
            seen.fetch_add(1, Ordering::SeqCst);
        });
        cmd.run().unwrap();
        cmd.run().unwrap();
        assert!(eventually(Duration::from_secs(10), || calls.load(Ordering::SeqCst) == 2));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    });
}

#[test]
fn try_wait_does_not_wait() {
    watchdog(LIMIT, || {
        let handle = Command::new("sleep").arg("60").spawn().unwrap();
        assert!(handle.try_wait().unwrap().is_none(), "still running");
        handle.kill().unwrap();
        let out = handle.try_wait().unwrap().expect("finished after kill returned");
        assert_eq!(out.status, ProcessStatus::Killed);
        // A timed-out process's try_wait is the same Timeout error as wait's.
        let slow =
            Command::new("sleep").arg("60").timeout(Duration::from_millis(50)).spawn().unwrap();
        assert!(matches!(slow.wait(), Err(Error::Timeout { .. })));
        assert!(matches!(slow.try_wait(), Err(Error::Timeout { .. })));
    });
}

//! Extreme inputs and awkward trees: `Duration::MAX` everywhere, a command
//! that exits while its background child holds the pipes, a descendant that
//! escapes the group, an exit callback that waits for another process, a
//! working directory that cannot be entered.

use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use pp_process::{Command, Error, ProcessStatus, ProcessTable, TerminateOutcome};

use crate::support::{TempDir, eventually, is_gone, kill_pid, watchdog};

const LIMIT: Duration = Duration::from_secs(60);

/// The library still works: a fresh spawn is watched to the end.
fn still_works() {
    let out = Command::new("echo").arg("alive").spawn().unwrap().wait().unwrap();
    assert_eq!(out.stdout_str().trim(), "alive");
}

#[test]
fn duration_max_is_no_limit_for_timeouts_graces_and_waits() {
    watchdog(LIMIT, || {
        let forever = Duration::MAX;
        let out = Command::new("true").timeout(forever).grace(forever).run().unwrap();
        assert_eq!(out.status, ProcessStatus::Completed);

        let handle = Command::shell("sleep 0.2").timeout(forever).spawn().unwrap();
        let out = handle.wait_timeout(forever).unwrap().expect("finished");
        assert_eq!(out.status, ProcessStatus::Completed);

        // An unbounded grace: SIGTERM, then wait for the group to go by itself.
        let handle = Command::new("sleep").arg("60").timeout(forever).spawn().unwrap();
        assert_eq!(handle.terminate_with_grace(forever).unwrap(), TerminateOutcome::Terminated);

        let table = ProcessTable::new();
        let handle = table.spawn(&Command::new("sleep").arg("60").grace(forever)).unwrap();
        let outcome = table.terminate(handle.id().as_str(), Some(forever)).unwrap();
        assert_eq!(outcome, TerminateOutcome::Terminated);
        assert_eq!(table.terminate_all(forever), 0);

        // A timeout of zero fires at once and still stops the process.
        let err = Command::new("sleep").arg("60").timeout(Duration::ZERO).run().unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err}");
        still_works();
    });
}

#[test]
fn a_background_child_holding_stdout_is_stopped_and_run_returns() {
    watchdog(LIMIT, || {
        let started = Instant::now();
        let out = Command::shell("sleep 30 & echo $!").run().unwrap();
        assert_eq!(out.status, ProcessStatus::Completed, "the command itself completed");
        assert_eq!(out.code, Some(0));
        let background: u32 = out.stdout_str().trim().parse().expect("pid on stdout");
        assert!(
            eventually(Duration::from_secs(20), || is_gone(background)),
            "the background child {background} was left running"
        );
        assert!(started.elapsed() < Duration::from_secs(30), "run waited for the child");
        still_works();
    });
}

#[test]
fn descendants_are_left_running_on_request() {
    watchdog(LIMIT, || {
        let out = Command::shell("sleep 30 & echo $!")
            .leftovers(pp_process::Leftovers::Leave)
            .spawn()
            .unwrap()
            .wait()
            .unwrap();
        assert_eq!(out.status, ProcessStatus::Completed);
        let background: u32 = out.stdout_str().trim().parse().expect("pid on stdout");
        std::thread::sleep(Duration::from_millis(300));
        assert!(!is_gone(background), "the child was stopped although asked to leave it");
        kill_pid(background);
        assert!(eventually(Duration::from_secs(20), || is_gone(background)));
    });
}

#[test]
fn a_descendant_that_escapes_the_group_does_not_hold_up_a_timeout() {
    watchdog(LIMIT, || {
        let started = Instant::now();
        // `setsid` leaves the process group but keeps the captured stdout open.
        let err = Command::shell("setsid sleep 20 & echo $!; sleep 60")
            .timeout(Duration::from_secs(1))
            .run()
            .unwrap_err();
        let elapsed = started.elapsed();
        let Error::Timeout { output, .. } = err else { panic!("not a timeout: {err}") };
        let escapee: u32 = output.stdout_str().trim().parse().expect("pid on stdout");
        kill_pid(escapee);
        assert!(elapsed >= Duration::from_secs(1));
        assert!(elapsed < Duration::from_secs(15), "returned only after {elapsed:?}");
        still_works();
    });
}

#[test]
fn an_exit_callback_may_wait_for_another_process() {
    watchdog(LIMIT, || {
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = Command::new("true")
            .on_exit(move |_| {
                // Needs the reactor while the callback runs.
                let inner = Command::new("echo").arg("inner").spawn().unwrap().wait().unwrap();
                let _ = tx.send(inner.stdout_str().trim().to_owned());
            })
            .spawn()
            .unwrap();
        handle.wait().unwrap();
        let got = rx.recv_timeout(Duration::from_secs(30)).expect("the callback finished");
        assert_eq!(got, "inner");
        still_works();
    });
}

const AS_OTHER_USER: &str = "PP_TEST_AS_OTHER_USER";

#[test]
fn a_working_directory_that_cannot_be_entered_is_bad_cwd() {
    let name = "extremes::a_working_directory_that_cannot_be_entered_is_bad_cwd";
    if pp_tests::effective_uid() == 0 && std::env::var_os(AS_OTHER_USER).is_none() {
        // Root enters any directory: check it as an unprivileged uid instead.
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([name, "--exact", "--nocapture", "--test-threads=1"])
            .env(AS_OTHER_USER, "1")
            .uid(pp_tests::OTHER_UID)
            .gid(pp_tests::OTHER_UID)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("1 passed"), "as another user: {text}");
        return;
    }
    watchdog(LIMIT, || {
        let dir = TempDir::new("no-entry");
        let locked = dir.0.join("locked");
        std::fs::create_dir(&locked).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        let err = Command::new("true").cwd(&locked).run().unwrap_err();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(
            matches!(&err, Error::BadCwd { path, reason } if *path == locked && reason.contains("entered")),
            "{err}"
        );
    });
}

#[test]
fn huge_inputs_make_short_messages() {
    let huge = "x".repeat(1 << 20);
    let messages = [
        pp_process::ProcessId::new(huge.clone()).unwrap_err().to_string(),
        ProcessTable::new().terminate(&huge, None).unwrap_err().to_string(),
        Command::new(&huge).run().unwrap_err().to_string(),
        Command::new("echo").arg(format!("{huge}\0")).run().unwrap_err().to_string(),
    ];
    for message in messages {
        assert!(message.len() < 400, "a 1 MiB input made a {}-byte message", message.len());
        assert!(message.contains("bytes)"), "says how long it was: {message}");
    }
}

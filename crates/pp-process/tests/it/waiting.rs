//! The four waiting forms of `ProcessHandle` — `wait`, `try_wait`,
//! `wait_timeout`, `wait_deadline` — on a running, a finished and a
//! timed-out process, with extreme durations and deadlines.

use std::time::{Duration, Instant};

use pp_process::{Command, Error, ProcessStatus};

use crate::support::watchdog;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn the_four_forms_on_a_running_process() {
    watchdog(LIMIT, || {
        let handle = Command::new("sleep").arg("60").spawn().unwrap();
        assert!(handle.try_wait().unwrap().is_none(), "try_wait does not wait");
        let started = Instant::now();
        assert!(handle.wait_timeout(Duration::from_millis(100)).unwrap().is_none());
        assert!(started.elapsed() >= Duration::from_millis(100), "waited the whole timeout");
        let deadline = Instant::now() + Duration::from_millis(100);
        assert!(handle.wait_deadline(deadline).unwrap().is_none());
        assert!(Instant::now() >= deadline, "waited until the deadline");
        // Zero and past deadlines are a poll, never an error.
        assert!(handle.wait_timeout(Duration::ZERO).unwrap().is_none());
        assert!(handle.wait_deadline(started).unwrap().is_none());
        handle.kill().unwrap();
        assert_eq!(handle.wait().unwrap().status, ProcessStatus::Killed);
    });
}

#[test]
fn the_four_forms_on_a_finished_process_return_its_output() {
    watchdog(LIMIT, || {
        let handle = Command::new("echo").arg("hi").spawn().unwrap();
        let out = handle.wait().unwrap();
        assert_eq!(out.stdout_str(), "hi\n");
        for finished in [
            handle.try_wait().unwrap(),
            handle.wait_timeout(Duration::ZERO).unwrap(),
            handle.wait_timeout(Duration::MAX).unwrap(),
            handle.wait_deadline(Instant::now()).unwrap(),
        ] {
            assert_eq!(finished.expect("finished").stdout_str(), "hi\n");
        }
    });
}

#[test]
fn huge_timeouts_and_far_deadlines_wait_for_the_end() {
    watchdog(LIMIT, || {
        let handle = Command::new("sleep").arg("0.2").spawn().unwrap();
        // Duration::MAX overflows any Instant: it means "until it ends".
        let out = handle.wait_timeout(Duration::MAX).unwrap().expect("finished");
        assert_eq!(out.status, ProcessStatus::Completed);
        let handle = Command::new("sleep").arg("0.2").spawn().unwrap();
        let far = Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
        assert!(handle.wait_deadline(far).unwrap().is_some());
    });
}

#[test]
fn a_timed_out_process_is_the_same_error_in_every_form() {
    watchdog(LIMIT, || {
        let handle =
            Command::new("sleep").arg("60").timeout(Duration::from_millis(50)).spawn().unwrap();
        assert!(matches!(handle.wait(), Err(Error::Timeout { .. })));
        assert!(matches!(handle.try_wait(), Err(Error::Timeout { .. })));
        assert!(matches!(handle.wait_timeout(Duration::from_secs(1)), Err(Error::Timeout { .. })));
        assert!(matches!(handle.wait_deadline(Instant::now()), Err(Error::Timeout { .. })));
    });
}

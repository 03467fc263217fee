//! A `harness = false` style binary on `pp_tests::run_tests`, for the tests of
//! the runner itself (`it/runner.rs`): one test always passes; with
//! `PP_TESTS_PROBE=fail` a second one fails, with `PP_TESTS_PROBE=hang` a
//! second one hangs past the watchdog.

use std::process::ExitCode;
use std::time::Duration;

/// Env var choosing the probe's second test.
const PROBE_ENV: &str = "PP_TESTS_PROBE";

fn passes() {}

fn fails_on_purpose() {
    panic!("this test fails on purpose");
}

fn hangs_on_purpose() {
    std::thread::sleep(Duration::from_secs(3600));
}

fn main() -> ExitCode {
    let mut tests: Vec<pp_tests::Test> = vec![("probe::passes", passes)];
    match std::env::var(PROBE_ENV).as_deref() {
        Ok("fail") => tests.push(("probe::fails_on_purpose", fails_on_purpose)),
        Ok("hang") => tests.push(("probe::hangs_on_purpose", hangs_on_purpose)),
        _ => {}
    }
    let watchdog = std::env::var("PP_TESTS_PROBE_LIMIT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(600), Duration::from_secs);
    pp_tests::run_tests(&tests, watchdog).exit_code()
}

//! Integration tests of the facade: one test per section of the seed's
//! document doing what its example does, the cross-process ids, the error
//! contract, task retention, cleanup at exit and on a signal, and hostile input.
//!
//! Process pools re-execute this binary, so it has its own `main` calling
//! `pp_manager::init()` first (`harness = false`); `pp_tests::run_tests` runs
//! the tests with libtest's command line (one at a time by default: they share
//! the process-wide manager) under a watchdog, and the binary fails if any
//! test failed. `cargo test -p pp-manager --test it <filter>`, or `cargo nextest run`.

mod asynchronous;
mod cross_process;
mod errors;
mod exit;
mod helper;
mod interrupt;
mod remote;
mod seed;
mod support;
mod tasks;
mod threats;

use std::process::ExitCode;
use std::time::Duration;

use pp_tests::Test;

fn main() -> ExitCode {
    pp_manager::init();
    if let Some(code) = helper::run_if_asked() {
        return code;
    }
    let tests: Vec<Test> = seed::TESTS
        .iter()
        .chain(cross_process::TESTS)
        .chain(errors::TESTS)
        .chain(tasks::TESTS)
        .chain(exit::TESTS)
        .chain(interrupt::TESTS)
        .chain(threats::TESTS)
        .chain(asynchronous::TESTS)
        .chain(remote::TESTS)
        .copied()
        .collect();
    let conclusion = pp_tests::run_tests(&tests, Duration::from_secs(600));
    // Shut the process-wide manager down after the tests, whatever their outcome.
    pp_manager::shutdown();
    conclusion.exit_code()
}

//! Integration tests of pp-remote against a real nats-server on loopback,
//! with worker *processes* (this binary, re-executed in the worker role).
//!
//! The binary has its own `main` (`harness = false`): it calls
//! `pp_pool::init()` first (worker processes run their tasks in a local
//! process pool, whose workers are copies of this binary too), then plays
//! a role if asked, else runs the tests one at a time under a watchdog.
//! `nats-server` must be on PATH (`.ci/run` installs it).

mod delivery;
mod errors;
mod support;

use std::process::ExitCode;
use std::time::Duration;

use pp_tests::Test;

fn main() -> ExitCode {
    pp_pool::init();
    if let Ok(role) = std::env::var(support::ROLE_ENV) {
        match role.as_str() {
            "worker" => support::worker_role(),
            other => panic!("unknown test role {other:?}"),
        }
        return ExitCode::SUCCESS;
    }
    let tests: Vec<Test> = delivery::TESTS.iter().chain(errors::TESTS).copied().collect();
    pp_tests::run_tests(&tests, Duration::from_secs(900)).exit_code()
}

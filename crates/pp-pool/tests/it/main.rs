//! Integration tests of pp-pool with real worker processes.
//!
//! Process-pool workers re-execute this binary, so it has its own `main`
//! (`harness = false` in Cargo.toml) that calls `pp_pool::init()` first: the
//! documented way to use process pools from `cargo test`. The runner below
//! runs every test in turn under a watchdog; `cargo test -p pp-pool --test it
//! <filter>` runs those whose name contains the filter.

mod faults;
mod process;
mod shutdown;
mod support;
mod thread;
mod threats;

use std::process::ExitCode;
use std::time::Duration;

use pp_tests::Test;

/// The role this process was started for ([`support::ROLE_ENV`]), if any.
fn child_role() -> Option<fn()> {
    match std::env::var(support::ROLE_ENV).ok()?.as_str() {
        "busy-parent" => Some(faults::busy_parent),
        "printing-parent" => Some(process::printing_parent),
        other => panic!("unknown test role {other:?}"),
    }
}

fn main() -> ExitCode {
    pp_pool::init();
    if let Some(role) = child_role() {
        role();
        return ExitCode::SUCCESS;
    }
    let tests: Vec<Test> = thread::TESTS
        .iter()
        .chain(process::TESTS)
        .chain(shutdown::TESTS)
        .chain(faults::TESTS)
        .chain(threats::TESTS)
        .copied()
        .collect();
    pp_tests::run_tests(&tests, Duration::from_secs(900)).exit_code()
}

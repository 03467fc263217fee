//! Integration tests of the facade: one test per section of the seed's
//! document doing what its example does, the cross-process ids, and the
//! error contract.
//!
//! Process pools re-execute this binary, so it has its own `main` calling
//! `pp_manager::init()` first (`harness = false`); the runner below runs each
//! test in turn under a watchdog. `cargo test -p pp-manager --test it <filter>`.

mod cross_process;
mod errors;
mod seed;

use std::time::Duration;

use pp_tests::Test;

/// Polls `cond` every 10 ms for up to 30 s.
fn eventually(cond: impl FnMut() -> bool) -> bool {
    pp_tests::eventually(Duration::from_secs(30), cond)
}

fn main() {
    pp_manager::init();
    let tests: Vec<Test> =
        seed::TESTS.iter().chain(cross_process::TESTS).chain(errors::TESTS).copied().collect();
    // Shut the process-wide manager down after the tests, whatever their outcome.
    let outcome =
        std::panic::catch_unwind(|| pp_tests::run_tests(&tests, Duration::from_secs(600)));
    pp_manager::shutdown();
    if outcome.is_err() {
        std::process::exit(101);
    }
}

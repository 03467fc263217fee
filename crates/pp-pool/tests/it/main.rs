//! Integration tests of pp-pool with real worker processes.
//!
//! Process-pool workers re-execute this binary, so it has its own `main`
//! (`harness = false` in Cargo.toml) that calls `pp_pool::init()` first: the
//! documented way to use process pools from `cargo test`. The runner below
//! runs every test in turn under a watchdog; `cargo test -p pp-pool --test it
//! <filter>` runs those whose name contains the filter.

mod faults;
mod process;
mod support;
mod thread;

/// A task that sleeps, shared by test modules.
fn process_sleep(ms: u64) -> u64 {
    std::thread::sleep(std::time::Duration::from_millis(ms));
    ms
}

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

type Test = (&'static str, fn());

fn main() {
    pp_pool::init();
    if let Some(role) = support::child_role() {
        role();
        return;
    }
    let tests: Vec<Test> =
        thread::TESTS.iter().chain(process::TESTS).chain(faults::TESTS).copied().collect();
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let selected: Vec<&Test> = tests
        .iter()
        .filter(|(name, _)| filter.as_ref().is_none_or(|f| name.contains(f.as_str())))
        .collect();
    println!("\nrunning {} tests", selected.len());
    // One watchdog for the whole run: a hung test fails the run instead of hanging CI.
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(900));
        eprintln!("watchdog: pp-pool tests still running after 900 s");
        std::process::exit(101);
    });
    let started = Instant::now();
    let mut failed = Vec::new();
    for (name, test) in &selected {
        let began = Instant::now();
        match catch_unwind(AssertUnwindSafe(test)) {
            Ok(()) => println!("test {name} ... ok ({:.2?})", began.elapsed()),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed.push(*name);
            }
        }
    }
    let passed = selected.len() - failed.len();
    if failed.is_empty() {
        println!(
            "\ntest result: ok. {passed} passed; 0 failed; finished in {:.2?}\n",
            started.elapsed()
        );
    } else {
        println!(
            "\nfailures: {failed:?}\ntest result: FAILED. {passed} passed; {} failed\n",
            failed.len()
        );
        std::process::exit(101);
    }
}

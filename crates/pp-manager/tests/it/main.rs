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

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

type Test = (&'static str, fn());

/// Polls `cond` every 10 ms for up to 30 s.
fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

/// A dead orphan left as a zombie by an init that does not reap.
fn is_zombie_not_ours(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return true };
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..].split_whitespace().collect();
    fields[0] == "Z" && fields[1] != std::process::id().to_string()
}

fn main() {
    pp_manager::init();
    let tests: Vec<Test> =
        seed::TESTS.iter().chain(cross_process::TESTS).chain(errors::TESTS).copied().collect();
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let selected: Vec<&Test> = tests
        .iter()
        .filter(|(name, _)| filter.as_ref().is_none_or(|f| name.contains(f.as_str())))
        .collect();
    println!("\nrunning {} tests", selected.len());
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(600));
        eprintln!("watchdog: pp-manager tests still running after 600 s");
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
    pp_manager::shutdown();
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

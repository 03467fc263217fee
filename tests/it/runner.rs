//! The runner of the `harness = false` test binaries reports failures in its
//! exit status, understands libtest's command line, and stops a hung binary.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn probe(mode: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pp-tests-runner-probe"));
    cmd.args(args).env_remove("PP_TESTS_PROBE").env_remove("RUST_TEST_THREADS");
    if let Some(mode) = mode {
        cmd.env("PP_TESTS_PROBE", mode);
    }
    let out = cmd.output().expect("cannot run the runner probe");
    println!(
        "probe {mode:?} {args:?}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn a_failing_test_makes_the_binary_exit_non_zero() {
    let out = probe(Some("fail"), &[]);
    assert_eq!(out.status.code(), Some(101), "a failed test must fail the binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("probe::fails_on_purpose ... FAILED"), "{stdout}");
    assert!(stdout.contains("1 passed; 1 failed"), "{stdout}");
}

#[test]
fn passing_tests_make_the_binary_exit_zero() {
    let out = probe(None, &[]);
    assert!(out.status.success(), "{}", out.status);
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed; 0 failed"));
}

#[test]
fn libtest_arguments_list_and_filter() {
    let out = probe(Some("fail"), &["--list", "--format", "terse"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "probe::passes: test\nprobe::fails_on_purpose: test\n"
    );
    // The failing test filtered out: what `--exact` (cargo nextest) runs alone.
    let out = probe(Some("fail"), &["--exact", "probe::passes"]);
    assert!(out.status.success(), "{}", out.status);
    let out = probe(Some("fail"), &["--skip", "fails"]);
    assert!(out.status.success(), "{}", out.status);
    let out = probe(Some("fail"), &["fails_on"]);
    assert_eq!(out.status.code(), Some(101));
}

#[test]
fn a_hung_binary_is_stopped_by_its_watchdog() {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_pp-tests-runner-probe"))
        .env("PP_TESTS_PROBE", "hang")
        .env("PP_TESTS_PROBE_LIMIT_SECS", "2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(101), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("watchdog"));
    assert!(started.elapsed() >= Duration::from_secs(2), "stopped before its limit");
}

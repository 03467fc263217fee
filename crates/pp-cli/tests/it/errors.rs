//! Bad input: a clear message naming the bad value, a non-zero exit, no panic.

use crate::support::{Ran, TempDir, pp, run};

fn fails_naming(args: &[&str], code: i32, named: &str) -> Ran {
    let ran = run(&mut pp(args), "");
    assert_eq!(ran.no_panic().code, Some(code), "{args:?}: {ran:?}");
    assert!(ran.stderr.contains(named), "{args:?}: stderr does not name {named:?}: {}", ran.stderr);
    ran
}

#[test]
fn an_unknown_option() {
    fails_naming(&["parallel", "--bogus", "echo", ":::", "a"], 2, "--bogus");
    fails_naming(&["frobnicate"], 2, "frobnicate");
}

#[test]
fn a_missing_program() {
    let dir = TempDir::new("missing-program");
    let log = dir.join("log").display().to_string();
    let args = ["parallel", "--joblog", &log, "--no-shell", "pp-no-such-program", ":::", "a", "b"];
    let ran = fails_naming(&args, 2, "pp-no-such-program");
    assert_eq!(ran.stdout, "");
    let logged = std::fs::read_to_string(&log).expect("the job log");
    let exitvals: Vec<&str> = logged.lines().skip(1).filter_map(|l| l.split('\t').nth(6)).collect();
    assert_eq!(exitvals, ["127", "127"], "the shell's code for a missing program: {logged}");
    // Through the shell, as in GNU parallel: the shell's 127 is a failed job.
    let ran = run(&mut pp(&["parallel", "pp-no-such-program", ":::", "a"]), "");
    assert_eq!(ran.no_panic().code, Some(1));
}

#[test]
fn an_unreadable_input_file() {
    fails_naming(
        &["parallel", "echo", "::::", "/nonexistent/pp-inputs"],
        255,
        "/nonexistent/pp-inputs",
    );
    fails_naming(&["parallel", "echo", ":::"], 255, ":::");
}

#[test]
fn a_malformed_halt() {
    for bad in ["sometime,fail=1", "now,fail=0", "now,fail=x%", "now"] {
        fails_naming(&["parallel", "--halt", bad, "echo", ":::", "a"], 2, &format!("{bad:?}"));
    }
}

#[test]
fn a_malformed_job_log_and_bad_durations() {
    let dir = TempDir::new("bad-log");
    let log = dir.join("log");
    std::fs::write(&log, "not a job log\n").expect("write");
    let log = log.display().to_string();
    fails_naming(
        &["parallel", "--resume", "--joblog", &log, "echo", ":::", "a"],
        255,
        "not a job log",
    );
    fails_naming(&["parallel", "--resume", "echo", ":::", "a"], 2, "--joblog");
    fails_naming(&["parallel", "--timeout", "soon", "echo", ":::", "a"], 2, "\"soon\"");
}

#[test]
fn no_shell_execs_the_words() {
    let ran = run(
        &mut pp(&["parallel", "-k", "--no-shell", "printf", "[%s]\\n", ":::", "a b", "$HOME;x"]),
        "",
    );
    assert_eq!((ran.code, ran.stdout.as_str()), (Some(0), "[a b]\n[$HOME;x]\n"));
    // Inputs of several sources are appended as words of their own.
    let ran = run(
        &mut pp(&["parallel", "--no-shell", "printf", "[%s]\\n", ":::", "a", ":::", "b c"]),
        "",
    );
    assert_eq!((ran.code, ran.stdout.as_str()), (Some(0), "[a]\n[b c]\n"));
}

#[test]
fn a_reader_that_goes_away_is_not_a_panic() {
    // stdout is a pipe whose reader closes it at once: every print fails.
    let inputs: Vec<String> = (0..20_000).map(|n| n.to_string()).collect();
    let mut args = vec!["parallel", "--dry-run", "echo", ":::"];
    args.extend(inputs.iter().map(String::as_str));
    let mut command = pp(&args);
    command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    drop(child.stdout.take()); // the reader is gone
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

//! `pp run`: exit codes, streams, timeouts that stop the whole tree.

use crate::support::{TempDir, assert_all_gone, pids_in, pp, run};

#[test]
fn the_child_s_exit_code_and_streams_pass_through() {
    let ran = run(&mut pp(&["run", "--", "sh", "-c", "cat; echo err >&2; exit 3"]), "from stdin\n");
    assert_eq!(ran.code, Some(3));
    assert_eq!(ran.stdout, "from stdin\n");
    assert_eq!(ran.stderr, "err\n");
    assert_eq!(run(&mut pp(&["run", "true"]), "").code, Some(0));
}

#[test]
fn a_signal_death_is_128_plus_the_signal() {
    let ran = run(&mut pp(&["run", "--", "sh", "-c", "kill -9 $$"]), "");
    assert_eq!(ran.code, Some(128 + 9));
}

#[test]
fn cwd_and_env_reach_the_child() {
    let dir = TempDir::new("run-cwd");
    let dir_text = dir.path().to_str().expect("utf-8 temp dir");
    let ran = run(
        &mut pp(&[
            "run",
            "--cwd",
            dir_text,
            "--env",
            "PP_X=a b",
            "--",
            "sh",
            "-c",
            "pwd; echo \"$PP_X\"",
        ]),
        "",
    );
    assert_eq!(ran.stdout, format!("{dir_text}\na b\n"));
}

#[test]
fn a_timeout_exits_124_and_leaves_no_process_behind() {
    // Time enough for the shell to write both pids on a loaded machine.
    let dir = TempDir::new("run-timeout");
    let pids = dir.join("pids");
    let script = format!("sleep 60 & echo $! >> {p}; echo $$ >> {p}; sleep 60", p = pids.display());
    let ran = run(
        &mut pp(&["run", "--timeout", "3s", "--grace", "200ms", "--", "sh", "-c", &script]),
        "",
    );
    assert_eq!(ran.code, Some(124), "{ran:?}");
    assert!(ran.stderr.contains("timed out after 3s"), "{}", ran.stderr);
    let pids = pids_in(&pids);
    assert_eq!(pids.len(), 2, "the shell and its background sleep wrote their pids");
    assert_all_gone(&pids);
}

#[test]
fn bad_input_is_named_and_never_panics() {
    let ran = run(&mut pp(&["run", "pp-no-such-program-here"]), "");
    assert_eq!(ran.no_panic().code, Some(127));
    assert!(ran.stderr.contains("pp-no-such-program-here"), "{}", ran.stderr);
    // pp run's own usage errors exit 125, never a code the command could
    // have returned (as `timeout` does); --help still exits 0.
    let ran = run(&mut pp(&["run", "--timeout", "1x", "--", "true"]), "");
    assert_eq!(ran.no_panic().code, Some(125));
    assert!(ran.stderr.contains("\"1x\""), "{}", ran.stderr);
    let ran = run(&mut pp(&["run", "--env", "NOEQUALS", "--", "true"]), "");
    assert_eq!(ran.no_panic().code, Some(125));
    assert!(ran.stderr.contains("NOEQUALS"), "{}", ran.stderr);
    let ran = run(&mut pp(&["run"]), "");
    assert_eq!(ran.no_panic().code, Some(125));
    let ran = run(&mut pp(&["run", "--no-such-option", "--", "true"]), "");
    assert_eq!(ran.no_panic().code, Some(125));
    let ran = run(&mut pp(&["run", "--help"]), "");
    assert_eq!(ran.no_panic().code, Some(0));
    assert!(ran.stdout.contains("125"), "{}", ran.stdout);
}

#[test]
fn on_a_terminal_the_command_may_read_it() {
    // `script` gives pp a terminal, with pp in its foreground. Without the
    // hand-over the command, in a process group of its own, is stopped by
    // SIGTTIN and the hang guard fails the test.
    let pp_path = env!("CARGO_BIN_EXE_pp");
    let inner = format!("{pp_path} run -- sh -c 'read x; echo got $x; exit 4'");
    let child = std::process::Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux) starts");
    let ran = crate::support::finish(child, "hello\n", std::time::Duration::from_secs(60));
    assert!(ran.stdout.contains("got hello"), "{ran:?}");
    assert_eq!(ran.code, Some(4));
}

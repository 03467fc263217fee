//! `--joblog`, `--resume`, `--resume-failed`, and stops (Ctrl-C, `--timeout`)
//! that leave no process behind.

use crate::support::{HANG_GUARD, TempDir, assert_all_gone, finish, gnu, pids_in, pp, run};
use std::process::Stdio;

/// A job log's rows: (seq, exitval, signal, command), after checking every
/// field's format.
fn rows(log: &std::path::Path) -> Vec<(u64, i32, i32, String)> {
    let text = std::fs::read_to_string(log).expect("the job log exists");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand")
    );
    lines
        .map(|line| {
            let f: Vec<&str> = line.splitn(9, '\t').collect();
            assert_eq!(f.len(), 9, "{line:?}");
            assert_eq!(f[1], ":");
            for time in [f[2], f[3].trim()] {
                let (_, decimals) = time.split_once('.').expect("seconds with decimals");
                assert_eq!(decimals.len(), 3, "{line:?}");
                time.parse::<f64>().expect("a number of seconds");
            }
            (
                f[0].parse().expect("Seq"),
                f[6].parse().expect("Exitval"),
                f[7].parse().expect("Signal"),
                f[8].to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_job_log_lists_every_job_as_gnu_parallel_s_does() {
    let dir = TempDir::new("joblog");
    let (ours, theirs) = (dir.join("pp.log"), dir.join("gnu.log"));
    let args = |log: &std::path::Path| {
        vec![
            "--joblog".to_owned(),
            log.display().to_string(),
            "echo {}; exit {}".to_owned(),
            ":::".into(),
            "0".into(),
            "3".into(),
            "a b".into(),
        ]
    };
    let argv = args(&ours);
    let ran = run(
        &mut pp(&[&["parallel"][..], &argv.iter().map(String::as_str).collect::<Vec<_>>()].concat()),
        "",
    );
    let argv2 = args(&theirs);
    let gnu_ran = run(&mut gnu(&argv2.iter().map(String::as_str).collect::<Vec<_>>()), "");
    assert_eq!(ran.code, gnu_ran.code);
    let mut ours = rows(&ours);
    let mut theirs = rows(&theirs);
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 3);
}

#[test]
fn a_timeout_stops_the_whole_tree_and_is_logged_as_gnu_does() {
    let dir = TempDir::new("timeout-tree");
    let (pids, log) = (dir.join("pids"), dir.join("log"));
    let script = format!("echo $$ >> {p}; sleep 60 & echo $! >> {p}; sleep 60", p = pids.display());
    let ran = run(
        &mut pp(&[
            "parallel",
            "--timeout",
            "3s",
            "--grace",
            "200ms",
            "--joblog",
            &log.display().to_string(),
            &script,
            ":::",
            "1",
            "2",
        ]),
        "",
    );
    assert_eq!(ran.no_panic().code, Some(2));
    assert!(ran.stderr.contains("timed out"), "{}", ran.stderr);
    let pids = pids_in(&pids);
    assert_eq!(pids.len(), 4, "two shells and their background sleeps");
    assert_all_gone(&pids);
    for (_, exitval, signal, _) in rows(&log) {
        assert_eq!((exitval, signal), (-1, 15));
    }
}

/// The script of the interrupted batch: two quick jobs, then four that
/// write their shell's and their background sleep's pids and sleep, unless
/// `PP_TEST_QUICK` is set (the resumed run).
fn slow_script(pids: &std::path::Path) -> String {
    format!(
        "echo ran {{}}; if [ {{}} = quick ] || [ -n \"$PP_TEST_QUICK\" ]; then exit 0; fi; echo $$ >> {p}; sleep 60 & echo $! >> {p}; wait",
        p = pids.display()
    )
}

#[test]
fn sigint_stops_every_tree_logs_the_finished_jobs_and_resume_runs_the_rest() {
    let dir = TempDir::new("sigint");
    let (pids, log) = (dir.join("pids"), dir.join("log"));
    let log_arg = log.display().to_string();
    let script = slow_script(&pids);
    let inputs = [":::", "quick", "quick", "a", "b", "c", "d"];
    let child = pp(&[&["parallel", "-j4", "--joblog", &log_arg, &script][..], &inputs].concat())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pp starts");
    let four_running = pp_tests::eventually(HANG_GUARD, || pids_in(&pids).len() == 8);
    let running = pids_in(&pids);
    let sent = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let ran = finish(child, "", HANG_GUARD);
    assert!(four_running, "four jobs did not start: {running:?}");
    assert!(sent.is_ok_and(|s| s.success()));
    assert_eq!(ran.no_panic().code, Some(130), "{ran:?}");
    assert_all_gone(&running);
    let mut logged: Vec<u64> = rows(&log).iter().map(|r| r.0).collect();
    logged.sort();
    assert_eq!(logged, [1, 2], "only the finished jobs are logged");

    // --resume runs only the jobs the log lacks.
    let resumed = run(
        pp(&[&["parallel", "-j4", "--resume", "--joblog", &log_arg, &script][..], &inputs]
            .concat())
        .env("PP_TEST_QUICK", "1"),
        "",
    );
    assert_eq!(resumed.no_panic().code, Some(0), "{resumed:?}");
    assert_eq!(resumed.sorted_lines(), ["ran a", "ran b", "ran c", "ran d"]);
    let mut logged: Vec<u64> = rows(&log).iter().map(|r| r.0).collect();
    logged.sort();
    assert_eq!(logged, [1, 2, 3, 4, 5, 6]);
}

#[test]
fn resume_failed_runs_the_failed_jobs_again() {
    let dir = TempDir::new("resume-failed");
    let log = dir.join("log").display().to_string();
    let script = "echo ran {}; [ -n \"$PP_TEST_PASS\" ] || [ {} != b ]";
    let first = run(&mut pp(&["parallel", "--joblog", &log, script, ":::", "a", "b", "c"]), "");
    assert_eq!(first.code, Some(1));
    let again =
        run(&mut pp(&["parallel", "--resume", "--joblog", &log, script, ":::", "a", "b", "c"]), "");
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (Some(0), ""),
        "--resume skips every logged job"
    );
    let failed = run(
        pp(&["parallel", "--resume-failed", "--joblog", &log, script, ":::", "a", "b", "c"])
            .env("PP_TEST_PASS", "1"),
        "",
    );
    assert_eq!((failed.code, failed.stdout.as_str()), (Some(0), "ran b\n"));
}

#[test]
fn a_job_log_with_a_multi_line_command_resumes() {
    let dir = TempDir::new("multi-line-log");
    let log = dir.join("log").display().to_string();
    let args = ["parallel", "--joblog", &log, "echo", ":::", "two\nlines", "c"];
    assert_eq!(run(&mut pp(&args), "").code, Some(0));
    let resumed = run(&mut pp(&[&args[..1], &["--resume"], &args[1..]].concat()), "");
    assert_eq!((resumed.no_panic().code, resumed.stdout.as_str()), (Some(0), ""), "{resumed:?}");
}

#[test]
fn a_job_log_of_another_command_line_is_refused() {
    let dir = TempDir::new("other-log");
    let log = dir.join("log").display().to_string();
    assert_eq!(
        run(&mut pp(&["parallel", "--joblog", &log, "echo", ":::", "a", "b"]), "").code,
        Some(0)
    );
    let before = std::fs::read_to_string(&log).expect("log");
    for other in [
        &["parallel", "--resume", "--joblog", &log, "echo", "x", ":::", "a", "b"][..],
        &["parallel", "--resume", "--joblog", &log, "echo", ":::", "a"],
    ] {
        let ran = run(&mut pp(other), "");
        assert_eq!(ran.no_panic().code, Some(255), "{ran:?}");
        assert!(ran.stderr.contains("another command line"), "{}", ran.stderr);
        assert_eq!(ran.stdout, "", "nothing ran");
    }
    assert_eq!(std::fs::read_to_string(&log).expect("log"), before, "the log is untouched");
}

#[test]
fn halt_now_stops_the_running_jobs_trees() {
    let dir = TempDir::new("halt-now");
    let pids = dir.join("pids");
    // Two jobs sleep far longer than the hang guard; the third fails once they run.
    let script = format!(
        "if [ {{}} = fail ]; then while [ $(wc -l < {p}) -lt 4 ]; do sleep 0.05; done; exit 3; fi; \
         echo $$ >> {p}; sleep 300 & echo $! >> {p}; wait",
        p = pids.display()
    );
    std::fs::write(&pids, "").expect("pids file");
    let ran = run(
        &mut pp(&[
            "parallel",
            "-j3",
            "--grace",
            "200ms",
            "--halt",
            "now,fail=1",
            &script,
            ":::",
            "a",
            "b",
            "fail",
        ]),
        "",
    );
    assert_eq!(ran.no_panic().code, Some(3), "the failing job's code: {ran:?}");
    let pids = pids_in(&pids);
    assert_eq!(pids.len(), 4, "two shells and their sleeps");
    assert_all_gone(&pids);
}

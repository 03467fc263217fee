//! The same input through `pp parallel` and GNU parallel gives the same
//! outputs (as a set, unless `-k`) and the same exit code.

use crate::support::{Ran, TempDir, gnu, pp, run};

/// Runs `args` through both with `stdin`; returns (pp's, GNU's).
fn both(args: &[&str], stdin: &str) -> (Ran, Ran) {
    let ours = run(&mut pp(&[&["parallel"][..], args].concat()), stdin);
    let theirs = run(&mut gnu(args), stdin);
    (ours.no_panic().clone(), theirs)
}

/// Same exit code, same set of stdout lines.
fn same_set(args: &[&str], stdin: &str) {
    let (ours, theirs) = both(args, stdin);
    assert_eq!(ours.code, theirs.code, "exit codes of {args:?}: pp {ours:?}, GNU {theirs:?}");
    assert_eq!(ours.sorted_lines(), theirs.sorted_lines(), "outputs of {args:?}");
}

/// Same exit code, same stdout byte for byte.
fn same_exactly(args: &[&str], stdin: &str) {
    let (ours, theirs) = both(args, stdin);
    assert_eq!(ours.code, theirs.code, "exit codes of {args:?}: pp {ours:?}, GNU {theirs:?}");
    assert_eq!(ours.stdout, theirs.stdout, "outputs of {args:?}");
}

#[test]
fn replacement_strings() {
    same_set(
        &[
            "echo",
            "{}",
            "{.}",
            "{/}",
            "{//}",
            "{/.}",
            "{#}",
            ":::",
            "dir.x/a.b.c",
            "noext",
            "/abs/f.txt",
            "rel/x.tar.gz",
            "dir.y/plain",
            ".hidden",
            "a/.b",
        ],
        "",
    );
    same_set(&["echo", "{2}-{1}", "{1.}", "{2/}", ":::", "a.x", "b", ":::", "p/1", "p/2"], "");
}

#[test]
fn sources_cross_product_files_and_stdin() {
    let dir = TempDir::new("gnu-sources");
    let file = dir.join("inputs");
    std::fs::write(&file, "f1\nf2 with space\n").expect("write inputs");
    let file = file.to_str().expect("utf-8 path");
    same_exactly(&["-k", "echo", ":::", "a", "b", ":::", "1", "2", "::::", file], "");
    same_set(&["echo", "x"], "s1\ns2\ns3\n");
    same_set(&["-a", file, "echo"], "");
}

#[test]
fn inputs_are_never_interpreted_by_the_shell() {
    let nasty =
        ["a b", "it's", "$HOME", "a;echo pwned", "`id`", "\"q\"", "*", "x  y", "tab\there", ""];
    let args: Vec<&str> = [&["echo", "[{}]", ":::"][..], &nasty].concat();
    same_set(&args, "");
    let args: Vec<&str> = [&["printf", "%s|", ":::"][..], &nasty].concat();
    same_set(&args, "");
    same_exactly(&[&["--dry-run", "-k", "echo", ":::"][..], &nasty].concat(), "");
}

#[test]
fn shell_syntax_in_the_command_works() {
    same_set(&["echo {} | tr a-z A-Z; echo done-{}", ":::", "ab", "cd"], "");
}

#[test]
fn exit_codes_count_failed_jobs() {
    same_set(&["exit {}", ":::", "0", "1", "2", "0", "3"], "");
    let many: Vec<String> = (0..105).map(|_| "1".to_owned()).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    same_set(&[&["-j", "8", "exit {}", ":::"][..], &many].concat(), "");
}

#[test]
fn halt_now_soon_fail_and_success() {
    let script = "echo {}; exit {}";
    same_exactly(&["-j1", "--halt", "now,fail=1", script, ":::", "0", "3", "0"], "");
    same_exactly(&["-j1", "--halt", "soon,fail=2", script, ":::", "0", "3", "4", "0"], "");
    same_exactly(&["-j1", "--halt", "now,success=1", script, ":::", "3", "0", "4"], "");
    same_exactly(&["-j1", "--halt", "soon,fail=50%", script, ":::", "0", "1", "2", "0"], "");
}

#[test]
fn retries_run_a_failing_job_again() {
    let dir = TempDir::new("gnu-retries");
    let count = |tool: &str| dir.join(&format!("tries-{tool}"));
    let script = |tool: &str| format!("echo x >> {}; echo out-{{}}; exit 1", count(tool).display());
    let ours = run(&mut pp(&["parallel", "--retries", "3", &script("pp"), ":::", "a"]), "");
    let theirs = run(&mut gnu(&["--retries", "3", &script("gnu"), ":::", "a"]), "");
    assert_eq!(ours.code, theirs.code);
    assert_eq!(ours.stdout, theirs.stdout, "only the last try's output is printed");
    let lines =
        |tool: &str| std::fs::read_to_string(count(tool)).unwrap_or_default().lines().count();
    assert_eq!(lines("pp"), lines("gnu"));
    assert_eq!(lines("pp"), 3);
}

#[test]
fn keep_order_and_tag() {
    // Later inputs end first: -k must still print in input order.
    same_exactly(&["-k", "-j4", "sleep 0.{}; echo {}", ":::", "3", "2", "1", "0"], "");
    same_set(&["--tag", "echo hi; echo there", ":::", "a", "b c"], "");
    same_set(&["--tag", "echo", ":::", "a", "b", ":::", "1", "2"], "");
    same_exactly(&["-k", "--tag", "printf 'no newline'", ":::", "a"], "");
}

#[test]
fn line_buffer_keeps_lines_whole() {
    same_set(
        &[
            "--line-buffer",
            "-j4",
            "for i in 1 2 3; do echo {}-$i; sleep 0.0$i; done",
            ":::",
            "a",
            "b",
            "c",
            "d",
        ],
        "",
    );
    // Many concurrent writers of long lines: each line comes out whole.
    let line = "{}".repeat(60);
    let script = format!("for i in $(seq 3000); do echo {line}-$i; done");
    let ran =
        run(&mut pp(&["parallel", "--line-buffer", "-j4", &script, ":::", "a", "b", "c", "d"]), "");
    assert_eq!(ran.code, Some(0));
    for line in ran.stdout.lines() {
        let (letters, _) = line.split_once('-').expect("a whole line");
        let first = letters.chars().next().unwrap_or(' ');
        assert!(
            letters.len() == 60 && letters.chars().all(|c| c == first),
            "line {line:?} mixes jobs"
        );
    }
    assert_eq!(ran.stdout.lines().count(), 12000);
}

#[test]
fn timeouts_fail_the_job() {
    same_set(&["--timeout", "1", "sleep {}; echo {}", ":::", "0.1", "30", "0.2"], "");
}

#[test]
fn dry_run_prints_the_commands() {
    same_exactly(&["--dry-run", "-k", "gzip -9 {} > {.}.gz", ":::", "a b.txt", "c.txt"], "");
}

//! Pipes: large outputs, output caps, stdin input, files, environment, cwd.

use std::time::Duration;

use pp_process::{Command, Output};

use crate::support::{TempDir, watchdog};

const LIMIT: Duration = Duration::from_secs(120);
const MIB_64: usize = 64 << 20;

/// `yes <word> | head -c <n>` output: `<word>\n` repeated, cut at `n` bytes.
fn yes_pattern(word: &str, n: usize) -> Vec<u8> {
    format!("{word}\n").into_bytes().into_iter().cycle().take(n).collect()
}

#[test]
fn sixty_four_mib_on_each_stream_at_once_is_captured_whole() {
    watchdog(LIMIT, || {
        let script = format!("yes out | head -c {MIB_64} & yes err | head -c {MIB_64} >&2; wait");
        let out = Command::shell(script).run().unwrap();
        assert!(out.success(), "{out:?}");
        assert_eq!(out.stdout.len(), MIB_64);
        assert_eq!(out.stderr.len(), MIB_64);
        assert!(out.stdout == yes_pattern("out", MIB_64), "stdout corrupted");
        assert!(out.stderr == yes_pattern("err", MIB_64), "stderr corrupted");
        assert_eq!((out.stdout_dropped, out.stderr_dropped), (0, 0));
    });
}

#[test]
fn output_cap_bounds_memory_and_the_process_still_finishes() {
    watchdog(LIMIT, || {
        let cap = 1 << 20;
        let script = format!("yes out | head -c {MIB_64} & yes err | head -c {MIB_64} >&2; wait");
        let out = Command::shell(script).max_output_bytes(cap).run().unwrap();
        assert!(out.success());
        assert_eq!(out.stdout.len(), cap);
        assert_eq!(out.stderr.len(), cap);
        assert_eq!(out.stdout_dropped, (MIB_64 - cap) as u64);
        assert_eq!(out.stderr_dropped, (MIB_64 - cap) as u64);
        // Capacity, not just length, stays near the cap: the rest was never stored.
        assert!(out.stdout.capacity() <= 2 * cap + (64 << 10), "{}", out.stdout.capacity());
        assert!(out.stdout == yes_pattern("out", cap));
    });
}

#[test]
fn sixteen_mib_of_stdin_round_trips_through_cat() {
    watchdog(LIMIT, || {
        let input: Vec<u8> =
            (0..16u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
        let out = Command::new("cat").input(input.clone()).run().unwrap();
        assert!(out.success());
        assert_eq!(out.stdout.len(), input.len());
        assert!(out.stdout == input, "stdin did not arrive intact");
    });
}

#[test]
fn a_child_that_ignores_its_input_does_not_block_us() {
    watchdog(LIMIT, || {
        let out = Command::new("true").input(vec![7u8; 8 << 20]).run().unwrap();
        assert!(out.success());
    });
}

#[test]
fn output_can_go_to_a_file_or_nowhere() {
    watchdog(LIMIT, || {
        let dir = TempDir::new("files");
        let path = dir.0.join("out.txt");
        let out = Command::shell("echo to-file; echo to-null >&2")
            .stdout(Output::File(path.clone()))
            .stderr(Output::Null)
            .run()
            .unwrap();
        assert!(out.stdout.is_empty() && out.stderr.is_empty());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "to-file\n");
    });
}

#[test]
fn environment_can_be_set_removed_and_cleared() {
    watchdog(LIMIT, || {
        let out = Command::new("env").env("PP_A", "1").env_remove("HOME").run().unwrap();
        let text = out.stdout_str();
        assert!(text.lines().any(|l| l == "PP_A=1"));
        assert!(!text.lines().any(|l| l.starts_with("HOME=")));
        let out = Command::new("/usr/bin/env").env_clear().env("ONLY", "me").run().unwrap();
        assert_eq!(out.stdout_str(), "ONLY=me\n");
    });
}

#[test]
fn a_relative_cwd_is_resolved() {
    watchdog(LIMIT, || {
        let dir = TempDir::new("cwd");
        std::fs::create_dir(dir.0.join("sub")).unwrap();
        let relative = pathdiff(&dir.0.join("sub/../sub"));
        let out = Command::new("pwd").cwd(&relative).run().unwrap();
        assert_eq!(out.stdout_str().trim(), dir.0.join("sub").to_str().unwrap());
    });
}

/// `path` relative to the current directory (via enough `..`).
fn pathdiff(path: &std::path::Path) -> std::path::PathBuf {
    let here = std::env::current_dir().unwrap();
    let ups = here.components().count() - 1;
    let mut rel = std::path::PathBuf::new();
    for _ in 0..ups {
        rel.push("..");
    }
    rel.join(path.strip_prefix("/").unwrap())
}

#[test]
fn a_std_command_converts_with_its_program_arguments_environment_and_directory() {
    let mut std_cmd = std::process::Command::new("sh");
    std_cmd.args(["-c", "echo \"$PP_FROM_STD $HOME\"; pwd"]).env("PP_FROM_STD", "yes");
    std_cmd.env_remove("HOME").current_dir("/tmp");
    let out = Command::from(std_cmd).run().unwrap();
    assert_eq!(out.stdout_str(), "yes \n/tmp\n");
}

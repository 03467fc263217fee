//! A program that returns from `main` without `shutdown()` leaves nothing
//! behind: the process-wide manager's exit hook cleans up.

use std::path::Path;
use std::time::Instant;

pub(crate) const TESTS: &[pp_tests::Test] = &[
    (
        "exit::a_program_returning_from_main_without_shutdown_leaves_nothing",
        a_program_returning_from_main_without_shutdown_leaves_nothing,
    ),
    (
        "exit::process_exit_from_a_pool_thread_leaves_nothing",
        process_exit_from_a_pool_thread_leaves_nothing,
    ),
    (
        "exit::a_forked_child_exiting_does_not_remove_its_parents_objects",
        a_forked_child_exiting_does_not_remove_its_parents_objects,
    ),
];

fn a_program_returning_from_main_without_shutdown_leaves_nothing() {
    let (code, objects, pid) = run_helper("leave-at-exit");
    assert_eq!(code, Some(0));
    assert_eq!(objects.len(), 4, "a queue, a value, an event, a lock");
    assert_nothing_left(&objects, pid);
}

fn process_exit_from_a_pool_thread_leaves_nothing() {
    let (code, objects, pid) = run_helper("exit-from-task");
    assert_eq!(code, Some(3), "the task's exit code");
    assert_eq!(objects.len(), 1, "a queue");
    assert_nothing_left(&objects, pid);
}

fn a_forked_child_exiting_does_not_remove_its_parents_objects() {
    let out = crate::helper::command(["fork-child-exits"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "kept", "the child's exit hook ran");
}

/// Runs the helper in `mode`; its exit code, the object ids and the sleep's
/// pid it printed.
fn run_helper(mode: &str) -> (Option<i32>, Vec<String>, u32) {
    let started = Instant::now();
    let out = crate::helper::command([mode]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("    helper {mode} exited {} after {:.2?}: {stdout}", out.status, started.elapsed());
    let mut fields: Vec<String> = stdout.split_whitespace().map(str::to_owned).collect();
    let pid: u32 = fields.pop().and_then(|p| p.parse().ok()).unwrap_or_else(|| {
        panic!("helper said {stdout:?}, {}", String::from_utf8_lossy(&out.stderr))
    });
    assert!(fields.iter().all(|id| id.starts_with("pp-")), "{stdout}");
    (out.status.code(), fields, pid)
}

/// No object of `objects` is left in /dev/shm and process `pid` is gone.
fn assert_nothing_left(objects: &[String], pid: u32) {
    // Collect what was left, remove it (so a failure leaks nothing), then judge.
    let left_objects: Vec<&String> =
        objects.iter().filter(|id| Path::new("/dev/shm").join(id).exists()).collect();
    for id in &left_objects {
        let _ = std::fs::remove_file(Path::new("/dev/shm").join(id));
    }
    let sleep_left = !crate::support::eventually(|| pp_tests::is_gone(pid));
    if sleep_left {
        let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    }
    assert!(
        left_objects.is_empty(),
        "shared-memory objects outlived the program: {left_objects:?}"
    );
    assert!(!sleep_left, "`sleep 60` (pid {pid}) outlived the program");
}

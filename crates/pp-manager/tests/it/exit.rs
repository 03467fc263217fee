//! A program that returns from `main` without `shutdown()` leaves nothing
//! behind: the process-wide manager's exit hook cleans up.

use std::path::Path;
use std::time::Instant;

pub(crate) const TESTS: &[crate::Test] = &[(
    "exit::a_program_returning_from_main_without_shutdown_leaves_nothing",
    a_program_returning_from_main_without_shutdown_leaves_nothing,
)];

fn a_program_returning_from_main_without_shutdown_leaves_nothing() {
    let started = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pp-manager-helper"))
        .arg("leave-at-exit")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("    helper exited {} after {:.2?}: {stdout}", out.status, started.elapsed());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let fields: Vec<&str> = stdout.split_whitespace().collect();
    let [objects @ .., pid] = fields.as_slice() else { panic!("helper said {stdout:?}") };
    assert_eq!(objects.len(), 4, "{stdout}");
    let pid: u32 = pid.parse().unwrap();
    assert!(objects.iter().all(|id| id.starts_with("pp-")), "{stdout}");

    // Collect what was left, remove it (so a failure leaks nothing), then judge.
    let left_objects: Vec<&str> =
        objects.iter().copied().filter(|id| Path::new("/dev/shm").join(id).exists()).collect();
    for id in &left_objects {
        let _ = std::fs::remove_file(Path::new("/dev/shm").join(id));
    }
    let sleep_left = !crate::eventually(|| pp_tests::is_gone(pid));
    if sleep_left {
        let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    }
    assert!(
        left_objects.is_empty(),
        "shared-memory objects outlived the program: {left_objects:?}"
    );
    assert!(!sleep_left, "`sleep 60` (pid {pid}) outlived the program");
}

//! `shutdown_on_interrupt()`: a program ended by SIGINT or SIGTERM first
//! stops every process tree it started and removes its shared memory, then
//! dies by that signal.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub(crate) const TESTS: &[crate::Test] = &[
    (
        "interrupt::sigint_stops_every_child_tree_then_the_program_dies_by_it",
        sigint_stops_every_child_tree_then_the_program_dies_by_it,
    ),
    (
        "interrupt::sigterm_stops_every_child_tree_then_the_program_dies_by_it",
        sigterm_stops_every_child_tree_then_the_program_dies_by_it,
    ),
];

fn sigint_stops_every_child_tree_then_the_program_dies_by_it() {
    signal_stops_every_child_tree("INT", libc::SIGINT);
}

fn sigterm_stops_every_child_tree_then_the_program_dies_by_it() {
    signal_stops_every_child_tree("TERM", libc::SIGTERM);
}

/// Generous hang guards, never expectations.
const LINE_LIMIT: Duration = Duration::from_secs(30);
const EXIT_LIMIT: Duration = Duration::from_secs(30);

fn signal_stops_every_child_tree(name: &str, number: i32) {
    let mut helper = std::process::Command::new(env!("CARGO_BIN_EXE_pp-manager-helper"))
        .arg("stop-on-signal")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let line = first_line(&mut helper);
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (queue, pids) = match fields.split_first() {
        Some((queue, pids)) if queue.starts_with("pp-") && pids.len() >= 3 => {
            (queue.to_string(), pids.iter().filter_map(|p| p.parse().ok()).collect::<Vec<u32>>())
        }
        _ => {
            end(&mut helper, &[], None);
            panic!("the helper printed {line:?}, not a queue id and at least three pids");
        }
    };
    println!("    helper {} printed {line}", helper.id());
    let queue_path = Path::new("/dev/shm").join(&queue);
    if !queue_path.exists() || pids.iter().any(|&p| pp_tests::is_gone(p)) {
        end(&mut helper, &pids, Some(&queue_path));
        panic!("the queue or a process is gone before any signal: {line}");
    }

    let started = Instant::now();
    let sent = std::process::Command::new("kill")
        .args([&format!("-{name}"), &helper.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{name} failed");
    let status = wait_at_most(&mut helper, EXIT_LIMIT);
    println!("    helper ended {status:?} {:.2?} after SIG{name}", started.elapsed());

    // Judge only after removing whatever was left, so a failure leaks nothing.
    // All at once: polled one after another, they could outlive the polls and
    // end by themselves.
    crate::eventually(|| pids.iter().all(|&p| pp_tests::is_gone(p)));
    let left: Vec<u32> = pids.iter().copied().filter(|&p| !pp_tests::is_gone(p)).collect();
    let queue_left = queue_path.exists();
    end(&mut helper, &left, queue_left.then_some(queue_path.as_path()));

    let status =
        status.unwrap_or_else(|| panic!("the helper outlived SIG{name} by {EXIT_LIMIT:?}"));
    assert!(
        status.signal() == Some(number) || status.code() == Some(128 + number),
        "the helper should end by SIG{name} (or exit {}), ended {status:?}",
        128 + number
    );
    assert!(left.is_empty(), "processes outlived the helper: {left:?} of {pids:?}");
    assert!(!queue_left, "the queue {queue} outlived the helper");
}

/// The helper's first line of output, or a failure (the helper killed) if
/// none comes within `LINE_LIMIT`.
fn first_line(helper: &mut Child) -> String {
    let stdout = helper.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    // Reads on until the helper ends, so the helper never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next().and_then(Result::ok).unwrap_or_default());
        lines.for_each(drop);
    });
    match rx.recv_timeout(LINE_LIMIT) {
        Ok(line) => line,
        Err(_) => {
            end(helper, &[], None);
            panic!("the helper printed nothing within {LINE_LIMIT:?}");
        }
    }
}

/// Waits for `child` at most `limit`; its status, or `None` if it still runs.
fn wait_at_most(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => return None,
        }
    }
}

/// Kills and reaps the helper (if it still runs) and `pids`, removes `queue`.
fn end(helper: &mut Child, pids: &[u32], queue: Option<&Path>) {
    let _ = helper.kill();
    let _ = helper.wait();
    for pid in pids {
        let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    }
    if let Some(queue) = queue {
        let _ = std::fs::remove_file(queue);
    }
}

//! `shutdown_on_interrupt()`: a program ended by SIGINT or SIGTERM first
//! stops every process tree it started and removes its shared memory, then
//! dies by that signal; a signal it was started with ignored stays ignored.

use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub(crate) const TESTS: &[pp_tests::Test] = &[
    (
        "interrupt::sigint_stops_every_child_tree_then_the_program_dies_by_it",
        sigint_stops_every_child_tree_then_the_program_dies_by_it,
    ),
    (
        "interrupt::sigterm_stops_every_child_tree_then_the_program_dies_by_it",
        sigterm_stops_every_child_tree_then_the_program_dies_by_it,
    ),
    ("interrupt::a_signal_ignored_at_start_stays_ignored", a_signal_ignored_at_start_stays_ignored),
];

fn sigint_stops_every_child_tree_then_the_program_dies_by_it() {
    signal_stops_every_child_tree(None, "INT", libc::SIGINT);
}

fn sigterm_stops_every_child_tree_then_the_program_dies_by_it() {
    signal_stops_every_child_tree(None, "TERM", libc::SIGTERM);
}

/// As under `nohup`: SIGHUP ignored when the helper starts changes nothing;
/// SIGTERM then works as ever.
fn a_signal_ignored_at_start_stays_ignored() {
    signal_stops_every_child_tree(Some("HUP"), "TERM", libc::SIGTERM);
}

/// How long a process that ignores a signal is watched for not dying of it.
const IGNORED_FOR: Duration = Duration::from_millis(500);

/// Generous hang guards, never expectations.
const LINE_LIMIT: Duration = Duration::from_secs(30);
const EXIT_LIMIT: Duration = Duration::from_secs(30);

/// Starts the helper (with signal `ignored` ignored from the start, if
/// any), checks that `ignored` changes nothing, then that signal `name`
/// (`number`) stops every process it started, removes its queue and ends it.
fn signal_stops_every_child_tree(ignored: Option<&str>, name: &str, number: i32) {
    let helper_path = crate::helper::path();
    let mut command = match ignored {
        // `trap ''` sets SIG_IGN, which survives the exec.
        Some(ignored) => {
            let mut sh = std::process::Command::new("sh");
            sh.args(["-c", &format!("trap '' {ignored}; exec \"$0\" stop-on-signal")]);
            sh.arg(&helper_path).env(crate::helper::HELPER_ENV, "1");
            sh
        }
        None => crate::helper::command(["stop-on-signal"]),
    };
    // The signals start at their defaults in the helper whatever this test
    // was started with (a job started with `&` by a script ignores SIGINT,
    // which the helper would keep ignoring, rightly).
    // SAFETY: between fork and exec the closure only calls `signal`, which
    // is async-signal-safe, with valid signal numbers and `SIG_DFL`.
    unsafe {
        command.pre_exec(|| {
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(signal, libc::SIG_DFL);
            }
            Ok(())
        });
    }
    let mut helper = command.stdout(Stdio::piped()).spawn().unwrap();
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

    if let Some(ignored) = ignored {
        send(ignored, helper.id());
        std::thread::sleep(IGNORED_FOR);
        let running = matches!(helper.try_wait(), Ok(None));
        if !running || pids.iter().any(|&p| pp_tests::is_gone(p)) {
            end(&mut helper, &pids, Some(&queue_path));
            panic!("SIG{ignored}, ignored at start, ended the helper or a child: {line}");
        }
    }

    let started = Instant::now();
    send(name, helper.id());
    let status = wait_at_most(&mut helper, EXIT_LIMIT);
    println!("    helper ended {status:?} {:.2?} after SIG{name}", started.elapsed());

    // Judge only after removing whatever was left, so a failure leaks nothing.
    // All at once: polled one after another, they could outlive the polls and
    // end by themselves.
    crate::support::eventually(|| pids.iter().all(|&p| pp_tests::is_gone(p)));
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

/// Sends signal `name` (`INT`, …) to `pid`.
fn send(name: &str, pid: u32) {
    let sent = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{name} {pid} failed");
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

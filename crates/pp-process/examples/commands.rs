//! The main job, for now: a batch of real commands run side by side through
//! pp-process, one past its timeout (its whole process tree is stopped), one
//! failing, one missing; prints a table of results.
//!
//! Run it with `cargo run -p pp-process --example commands`.

use std::time::Duration;

use pp_process::{Command, Error, ProcessOutput, ProcessTable};

fn main() {
    let table = ProcessTable::new();
    let jobs = [
        ("kernel", Command::new("uname").arg("-sr")),
        ("checksum", Command::shell("seq 1 200000 | sha256sum | cut -c1-16")),
        ("count-etc", Command::shell("ls /etc | wc -l")),
        ("short-sleep", Command::shell("sleep 0.2; echo slept")),
        // Starts a grandchild and runs past its timeout: both are stopped.
        ("too-slow", Command::shell("sleep 30 & sleep 30").timeout(Duration::from_millis(500))),
        ("exits-3", Command::shell("echo failing >&2; exit 3")),
        ("missing", Command::new("pp-no-such-program")),
    ];
    // Start everything first: the jobs run concurrently, watched by one reactor thread.
    let started: Vec<_> =
        jobs.into_iter().map(|(id, cmd)| (id, table.spawn(&cmd.id(id)))).collect();

    println!("{:<12} {:<10} {:>7} {:>9}  output", "id", "status", "exit", "duration");
    for (id, spawned) in started {
        let row = match spawned.and_then(|handle| handle.wait()) {
            Ok(out) => {
                let text = if out.stdout.is_empty() { out.stderr_str() } else { out.stdout_str() };
                let first_line = text.lines().next().unwrap_or_default().to_owned();
                (out.status.to_string(), exit(&out), out.duration, first_line)
            }
            Err(Error::Timeout { output, limit, .. }) => (
                output.status.to_string(),
                exit(&output),
                output.duration,
                format!("stopped with its process group after {limit:?}"),
            ),
            Err(e) => ("failed".into(), "-".into(), Duration::ZERO, e.to_string()),
        };
        let (status, code, duration, text) = row;
        println!("{id:<12} {status:<10} {code:>7} {:>7.1}ms  {text}", duration.as_secs_f64() * 1e3);
    }
    let tracked = table.len();
    println!("\n{tracked} processes tracked, {} finished entries cleaned up", table.cleanup());
}

/// How the process ended: its exit code, or the signal that ended it.
fn exit(out: &ProcessOutput) -> String {
    match (out.code, out.signal) {
        (Some(code), _) => code.to_string(),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => "-".into(),
    }
}

//! iceoryx2 as a peer of the queue rows: its publish-subscribe ping-pong
//! (busy-polling receive, its fastest) and one-way throughput of 8-byte
//! values, measured by its own program (`benches/iceoryx2-peer`, built by
//! `cargo xtask bench` outside pp's workspace and named in
//! `PP_BENCH_ICEORYX2`). Absent or failing, its rows say "skipped".

use std::process::Command;

use pp_benches::Peer;

use crate::measure::{Figure, Plan};

/// The iceoryx2 peer program, if `cargo xtask bench` could build it.
fn program() -> Option<String> {
    std::env::var("PP_BENCH_ICEORYX2").ok().filter(|p| std::path::Path::new(p).is_file())
}

/// A fresh service name per measurement (iceoryx2 services outlive a killed peer).
fn service_name(what: &str) -> String {
    format!("pp-bench/{what}/{}", std::process::id())
}

/// The round trip of one 8-byte value: (iceoryx2's figure) or `None`.
pub(crate) fn ping_pong(plan: Plan, n: u64) -> Option<Figure> {
    let exe = program()?;
    let name = service_name("ping-pong");
    let _echo = Peer::start(&exe, &["echo", &name]);
    measure_with(&exe, &["ping", &name, &n.to_string(), &plan.reps.to_string()], "round-trip-ns")
}

/// One-way throughput, per 8-byte value.
pub(crate) fn one_way(plan: Plan, n: u64) -> Option<Figure> {
    let exe = program()?;
    let name = service_name("one-way");
    let _sink = Peer::start(&exe, &["sink", &name]);
    measure_with(&exe, &["send", &name, &n.to_string(), &plan.reps.to_string()], "per-item-ns")
}

/// Runs the measuring side and reads its `<what> <median> <min> <max>` line (ns).
fn measure_with(exe: &str, args: &[&str], what: &str) -> Option<Figure> {
    let out = Command::new(exe).args(args).output().ok()?;
    if !out.status.success() {
        eprintln!("iceoryx2 peer failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find_map(|l| l.strip_prefix(what))?;
    let ns: Vec<f64> = line.split_whitespace().filter_map(|v| v.parse().ok()).collect();
    match ns[..] {
        [median, min, max] => Some(Figure { median: median / 1e9, min: min / 1e9, max: max / 1e9 }),
        _ => None,
    }
}

//! Memory rows: pp's figure beside its peers', each measured in a fresh
//! process (a `pp-bench-peer` memory role, or a fresh Python interpreter)
//! so that nothing measured earlier in this run counts, repeated and taken
//! as a median like the time rows. The work itself is in `memory_peer.rs`
//! of the benches library and in `python/peers.py`.

use std::process::Command as StdCommand;

use pp_benches::memory_peer::ITEM_BYTES;

use crate::measure::{Figure, Plan, python_memory};
use crate::peers::peer_exe;
use crate::report::{Report, fmt_bytes};

/// How many processes run at once in the spawn rows.
const PROCESSES: u64 = 1000;

/// How many 1 KiB items the queue rows hold: 1 MiB.
const ITEMS: u64 = 1024;

/// Adds the memory rows.
pub(crate) fn memory(plan: Plan, report: &mut Report) {
    // Each repetition is a whole fresh process (1,000 `sleep 1` take a second).
    let plan = Plan { reps: plan.reps.min(5), ..plan };
    let pp_idle = peer_memory(plan, "memory-idle", 0);
    let python_idle = python_memory(plan, "memory:idle", 0);
    let pp = peer_memory(plan, "memory-spawn-pp", PROCESSES).expect("pp's spawn figure");
    let std = peer_memory(plan, "memory-spawn-std", PROCESSES);
    let python = python_memory(plan, "memory:spawn-popen", PROCESSES);
    report.add_memory(
        &format!(
            "memory: parent's peak RSS (VmHWM, children excluded), {PROCESSES} concurrent \
             `sleep 1` spawned with defaults, then waited"
        ),
        "Command::spawn (output captured)",
        pp,
        vec![("std::process::Command::spawn", std), ("python subprocess.Popen", python)],
    );
    let above = |peak: Option<Figure>, idle: Option<Figure>| match (peak, idle) {
        (Some(peak), Some(idle)) => fmt_bytes(peak.median - idle.median),
        _ => "-".into(),
    };
    report.notes.push(format!(
        "memory baselines: a pp-bench-peer that does nothing peaks at {} (VmHWM), python3 \
         running peers.py at {}, and the spawn rows' parent figures include these: above \
         them, {PROCESSES} concurrent `sleep 1` cost pp {}, std {}, Python {} (medians). pp's \
         defaults capture each child's output (two pipes per child, read by its reactor \
         thread) and contain it; std and Python inherit the output.",
        pp_idle.map_or("-".into(), |f| fmt_bytes(f.median)),
        python_idle.map_or("-".into(), |f| fmt_bytes(f.median)),
        above(Some(pp), pp_idle),
        above(std, pp_idle),
        above(python, python_idle),
    ));
    report.add_memory(
        "memory: idle 2-worker process pool after a task on each, VmRSS of parent + workers summed",
        "ProcessPool",
        peer_memory(plan, "memory-pool-pp", 2).expect("pp's pool figure"),
        vec![
            ("python ProcessPoolExecutor(2)", python_memory(plan, "memory:process-pool", 2)),
            ("procspawn Pool(2)", peer_memory(plan, "memory-pool-procspawn", 2)),
        ],
    );
    report.add_memory(
        &format!(
            "memory: a queue holding {ITEMS} × {} KiB (1 MiB), VmRSS growth of the putting \
             process, nobody reading",
            ITEM_BYTES / 1024
        ),
        "Queue (sized for the items)",
        peer_memory(plan, "memory-queue-pp", ITEMS).expect("pp's queue figure"),
        vec![
            (
                "crossbeam-channel bounded, in-process",
                peer_memory(plan, "memory-queue-crossbeam", ITEMS),
            ),
            ("python multiprocessing.Queue", python_memory(plan, "memory:mp-queue", ITEMS)),
        ],
    );
    report.notes.push(
        "memory: each figure is the median of fresh processes, one per repetition. A pool's \
         VmRSS sum counts pages the parent and its workers share once per process. The queue \
         rows count what the putting process holds: pp's shared-memory ring, crossbeam's \
         heap, and Python's items waiting in its feeder's buffer (what fits in the pipe, \
         about 64 KiB, is in the kernel and not counted). ipc-channel is not among them: \
         its sender holds nothing, and a send blocks once the kernel's socket buffer is full."
            .into(),
    );
}

/// Runs `pp-bench-peer <role> <n>` once per repetition, each a fresh
/// process, and takes the median of the bytes it prints; `None` (and a line
/// saying why) if a run fails.
fn peer_memory(plan: Plan, role: &str, n: u64) -> Option<Figure> {
    let mut bytes = Vec::new();
    for _ in 0..plan.reps {
        let out = match StdCommand::new(peer_exe()).args([role, &n.to_string()]).output() {
            Ok(out) if out.status.success() => out,
            Ok(out) => {
                eprintln!(
                    "memory peer {role} failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                return None;
            }
            Err(e) => {
                eprintln!("cannot run the memory peer {role}: {e}");
                return None;
            }
        };
        let printed = String::from_utf8_lossy(&out.stdout);
        match printed.lines().last().and_then(|l| l.trim().parse::<f64>().ok()) {
            Some(b) => bytes.push(b),
            None => {
                eprintln!("memory peer {role} printed no figure: {printed:?}");
                return None;
            }
        }
    }
    Figure::from_samples(bytes)
}

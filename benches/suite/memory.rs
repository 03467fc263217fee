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

/// Adds the memory rows; `containment` says what pp's default containment is here.
pub(crate) fn memory(plan: Plan, report: &mut Report, containment: &str) {
    // Each repetition is a whole fresh process (1,000 `sleep 1` take a second).
    let plan = Plan { reps: plan.reps.min(5), ..plan };
    let pp_idle = peer_memory(plan, "memory-idle", 0);
    let python_idle = python_memory(plan, "memory:idle", 0);
    let pp = peer_memory(plan, "memory-spawn-pp", PROCESSES).expect("pp's spawn figure");
    let discarding = peer_memory(plan, "memory-spawn-pp-discarding", PROCESSES);
    let std = peer_memory(plan, "memory-spawn-std", PROCESSES);
    let python = python_memory(plan, "memory:spawn-popen", PROCESSES);
    report.add_memory(
        &format!("memory: parent's peak RSS (VmHWM), {PROCESSES} concurrent `sleep 1`"),
        "Command::spawn (output captured)",
        pp,
        vec![
            ("Command::spawn, output discarded", discarding),
            ("std::process::Command::spawn", std),
            ("python subprocess.Popen", python),
        ],
    );
    let above = |peak: Option<Figure>, idle: Option<Figure>| match (peak, idle) {
        (Some(peak), Some(idle)) => fmt_bytes(peak.median - idle.median),
        _ => "-".into(),
    };
    report.notes.push(format!(
        "memory, {PROCESSES} concurrent `sleep 1`: each parent (a fresh process) starts them \
         all, with its defaults, then waits for each; the figure is its own peak RSS \
         (VmHWM), children excluded. pp's defaults capture each child's output (two pipes \
         per child, read by its reactor thread) and contain it (here: {}); std and Python \
         inherit the output. A pp-bench-peer that does nothing peaks at {}, python3 running \
         peers.py at {}; above these baselines the {PROCESSES} children cost pp {} ({} with \
         output discarded), std {}, Python {} (medians).",
        containment,
        pp_idle.map_or("-".into(), |f| fmt_bytes(f.median)),
        python_idle.map_or("-".into(), |f| fmt_bytes(f.median)),
        above(Some(pp), pp_idle),
        above(discarding, pp_idle),
        above(std, pp_idle),
        above(python, python_idle),
    ));
    report.add_memory(
        "memory: idle 2-worker pool, VmRSS of parent + workers",
        "ProcessPool",
        peer_memory(plan, "memory-pool-pp", 2).expect("pp's pool figure"),
        vec![
            ("python ProcessPoolExecutor(2)", python_memory(plan, "memory:process-pool", 2)),
            ("procspawn Pool(2)", peer_memory(plan, "memory-pool-procspawn", 2)),
        ],
    );
    report.add_memory(
        &format!(
            "memory: VmRSS growth, queue holding {ITEMS} × {} KiB, no reader",
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
        "memory: each figure is the median of fresh processes, one per repetition. Pool: \
         VmRSS of the parent and all its descendants summed, idle, once each of the 2 workers \
         has run a task (pages they share count once per process). Queue: VmRSS after minus \
         before creating the queue and putting 1 MiB of 1 KiB items into it, each made fresh \
         and dropped by the putter once put, nobody reading; pp's queue is sized to hold \
         exactly those items (its shared-memory ring counts in the putter's RSS), crossbeam's \
         channel holds them on the heap, and Python's multiprocessing.Queue in its feeder's \
         buffer (what fits in its pipe, about 64 KiB, is in the kernel and not counted). \
         ipc-channel is not among them: its sender holds nothing, and a send blocks once the \
         kernel's socket buffer is full."
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

//! The command-line rows (issue 14): 2,000 jobs of `/bin/true`, two at a
//! time, through `pp parallel`, `xargs -P2 -n1` and GNU `parallel -j2`;
//! time per job and the driver's peak RSS. Peers missing from the machine
//! (GNU parallel) leave their rows empty with a line saying so.

use std::io::Write;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use pp_benches::proc_status::status_bytes;

use crate::measure::{Figure, Plan};
use crate::report::{Report, fmt_time};

/// Jobs per batch in a full run.
const JOBS: u64 = 2000;

/// The `pp` binary built beside this one (`cargo xtask bench` builds both).
fn pp_exe() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?.with_file_name("pp");
    exe.exists().then_some(exe)
}

/// One batch: `argv` reads `jobs` lines (`1`…) on stdin and runs a job per
/// line. Returns its wall time and its peak RSS (VmHWM, polled every
/// millisecond while it runs: the last reading before it exits), or `None`
/// when the driver cannot start or fails.
fn batch(argv: &[&str], jobs: u64) -> Option<(Duration, u64)> {
    let input: String = (1..=jobs).map(|i| format!("{i}\n")).collect();
    let started = Instant::now();
    let mut child = StdCommand::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| eprintln!("skipping {}: {e}", argv[0]))
        .ok()?;
    let pid = child.id();
    let mut stdin = child.stdin.take()?;
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut peak = 0;
    let status = loop {
        peak = peak.max(status_bytes(pid, "VmHWM").unwrap_or(0));
        if let Some(status) = child.try_wait().ok()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let elapsed = started.elapsed();
    let _ = writer.join();
    if !status.success() {
        eprintln!("{argv:?} failed: {status}");
        return None;
    }
    Some((elapsed, peak))
}

/// Time per job and peak RSS of `argv` over the plan's repetitions (after a warm-up).
fn measure_driver(plan: Plan, argv: &[&str], jobs: u64) -> Option<(Figure, Figure)> {
    batch(argv, jobs)?;
    let mut times = Vec::new();
    let mut peaks = Vec::new();
    for _ in 0..plan.reps {
        let (elapsed, peak) = batch(argv, jobs)?;
        times.push(elapsed.as_secs_f64() / jobs as f64);
        peaks.push(peak as f64);
    }
    Some((Figure::from_samples(times)?, Figure::from_samples(peaks)?))
}

/// Adds the command-line rows.
pub(crate) fn cli(plan: Plan, report: &mut Report) {
    let Some(pp) = pp_exe() else {
        eprintln!("skipping the command-line rows: no pp binary beside pp-bench");
        return;
    };
    let pp = pp.to_string_lossy().into_owned();
    let jobs = plan.n(JOBS);
    let plan = Plan { reps: plan.reps.min(3), ..plan };
    let Some((pp_direct, pp_direct_rss)) =
        measure_driver(plan, &[&pp, "parallel", "-j2", "--no-shell", "/bin/true"], jobs)
    else {
        eprintln!("skipping the command-line rows: pp parallel failed");
        return;
    };
    let pp_shell = measure_driver(plan, &[&pp, "parallel", "-j2", "/bin/true"], jobs);
    let xargs = measure_driver(plan, &["xargs", "-P2", "-n1", "/bin/true"], jobs);
    let gnu = measure_driver(plan, &["parallel", "--will-cite", "-j2", "/bin/true"], jobs);
    let operation = format!("{jobs} jobs of /bin/true, 2 at a time, per job");
    report.add(
        &operation,
        "pp parallel -j2 --no-shell",
        pp_direct,
        vec![("xargs -P2 -n1", xargs.map(|f| f.0)), ("GNU parallel -j2", gnu.map(|f| f.0))],
    );
    if let Some((shell, _)) = pp_shell {
        report.add(
            &format!("{operation}, each through /bin/sh -c"),
            "pp parallel -j2",
            shell,
            vec![("GNU parallel -j2", gnu.map(|f| f.0))],
        );
    }
    report.add_memory(
        &format!("memory: driver's peak RSS (VmHWM), {jobs} jobs of /bin/true, 2 at a time"),
        "pp parallel -j2 --no-shell",
        pp_direct_rss,
        vec![("xargs -P2 -n1", xargs.map(|f| f.1)), ("GNU parallel -j2", gnu.map(|f| f.1))],
    );
    let ratio = |peer: Option<(Figure, Figure)>| {
        peer.map_or("-".to_owned(), |(t, _)| format!("{:.2}", pp_direct.median / t.median))
    };
    report.notes.push(format!(
        "command line: pp parallel -j2 --no-shell takes {} per /bin/true job; that is {}× \
         xargs -P2 -n1's time (goal ≤ 1.1×) and {}× GNU parallel's (goal ≤ 0.1×: 10× faster). \
         Peak RSS is each driver's own VmHWM (children excluded), polled every millisecond.",
        fmt_time(pp_direct.median),
        ratio(xargs),
        ratio(gnu),
    ));
}

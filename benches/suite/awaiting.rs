//! Awaiting processes from async code: pp's futures beside tokio::process,
//! both on one tokio current-thread runtime, and whether pp meets issue 12's
//! goal (at most 1.05× tokio::process's time).

use std::process::Stdio;

use futures::future::join_all;
use pp_process::{Command, Containment};
use tokio::runtime::Runtime;

use crate::measure::{Figure, Plan, measure};
use crate::report::{Report, fmt_time};

/// pp's time may be at most this many times tokio::process's.
const GOAL: f64 = 1.05;

/// Adds the rows; `containment` says what pp's default containment is here.
pub(crate) fn awaiting(plan: Plan, report: &mut Report, containment: &str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let once = run_true(plan, &rt, &Command::new("/bin/true"));
    // Without the cgroup (tokio gives none): what the awaiting itself costs.
    let group = Command::new("/bin/true").containment(Containment::ProcessGroup);
    let once_group = run_true(plan, &rt, &group);
    report.add(
        "await run /bin/true, capture output (tokio current-thread), process-group containment",
        "Command::run_async",
        once_group.0,
        vec![("tokio::process::Command::output", Some(once_group.1))],
    );
    report.add(
        &format!(
            "await run /bin/true, capture output (tokio current-thread), default containment: {containment}"
        ),
        "Command::run_async",
        once.0,
        vec![("tokio::process::Command::output", Some(once.1))],
    );
    let count = plan.n(1000).max(100);
    let many = run_concurrent(plan, &rt, count);
    report.add(
        &format!("await {count} concurrent /bin/true (per batch, tokio current-thread)"),
        "Command::run_async",
        many.0,
        vec![("tokio::process::Command::status", Some(many.1))],
    );
    report.notes.push(format!(
        "awaiting (tokio current-thread runtime, medians of this run; goal: pp takes at most \
         {GOAL:.2}× tokio::process's time): pp takes {}, {} and {}",
        verdict(&format!("one /bin/true run with its default containment ({containment})"), once),
        verdict("one /bin/true run in a process group (no cgroup, as tokio)", once_group),
        verdict(&format!("{count} concurrent /bin/true"), many),
    ));
}

/// "pp takes X× tokio's time for <what> (pp vs tokio): goal met / not met".
fn verdict(what: &str, (pp, tokio): (Figure, Figure)) -> String {
    let times = pp.median / tokio.median;
    let met = if times <= GOAL { "met" } else { "not met" };
    format!(
        "{times:.2}× tokio::process's time for {what} ({} vs {}: goal {met})",
        fmt_time(pp.median),
        fmt_time(tokio.median)
    )
}

/// One awaited `/bin/true` at a time, output captured: (pp, tokio).
fn run_true(plan: Plan, rt: &Runtime, cmd: &Command) -> (Figure, Figure) {
    let n = plan.n(300);
    let pp = measure(plan, n, |n| {
        rt.block_on(async {
            for _ in 0..n {
                assert!(cmd.run_async().await.unwrap().success());
            }
        })
    });
    let tokio = measure(plan, n, |n| {
        rt.block_on(async {
            for _ in 0..n {
                let out = tokio::process::Command::new("/bin/true").output().await.unwrap();
                assert!(out.status.success());
            }
        })
    });
    (pp, tokio)
}

/// `count` `/bin/true` started and awaited together with `join_all`, output
/// discarded and stdin null (pp's defaults): (pp, tokio), each per batch.
fn run_concurrent(plan: Plan, rt: &Runtime, count: u64) -> (Figure, Figure) {
    // Each child holds a few descriptors (pidfd, /dev/null) until it is reaped.
    pp_benches::raise_fd_limit();
    let plan = Plan { reps: plan.reps.min(5), ..plan };
    let quiet = Command::new("/bin/true").discard_output();
    let pp = measure(plan, 1, |_| {
        let outputs = rt.block_on(async { join_all((0..count).map(|_| quiet.run_async())).await });
        assert!(outputs.into_iter().all(|out| out.unwrap().success()));
    });
    let tokio = measure(plan, 1, |_| {
        // tokio starts each child as `status()` is called: inside the runtime.
        let statuses = rt.block_on(async {
            join_all((0..count).map(|_| {
                tokio::process::Command::new("/bin/true")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
            }))
            .await
        });
        assert!(statuses.into_iter().all(|status| status.unwrap().success()));
    });
    (pp, tokio)
}

//! `pp-bench`: every operation of the seed's API on pp and on its peers, in
//! one run on one machine. Run it through `cargo xtask bench [--quick]`.
//!
//! Each figure is the median time per operation over repetitions (after a
//! warm-up), with its min–max, or for the memory rows the median bytes of
//! fresh processes; each row puts a pp figure beside one peer's, measured in
//! this run, and their ratio (peer ÷ pp: above 1, pp is faster or smaller).
//! Writes `target/bench/report.md` and `target/bench/ratios.svg`.
//!
//! This file holds what is measured, in order (`awaiting.rs` the rows that
//! await processes on a tokio runtime, `awaiting_ipc.rs` those that await
//! queues and events, `cli.rs` the `pp parallel` rows beside xargs and GNU
//! parallel, `memory.rs` the memory rows, last); `measure.rs` how
//! (repetitions, medians, the Python peers), `peers.rs` the peer process,
//! `report.rs` the rows (time or bytes) and `report.md`, `plot.rs` the SVG,
//! `machine.rs` the machine's description.

mod awaiting;
mod awaiting_ipc;
mod cli;
mod iceoryx2;
mod machine;
mod measure;
mod memory;
mod peers;
mod plot;
mod remote;
mod report;

use std::path::PathBuf;
use std::process::Command as StdCommand;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ipc_channel::ipc::{IpcReceiver, IpcSender};
use pp_benches::Payload;
use pp_benches::floor::{BareMutex, SharedWords};
use pp_ipc::{Event, Lock, Queue, SharedValue};
use pp_pool::{ProcessPool, ThreadPool};
use pp_process::{Command, Contained, Containment, ProcessTable};

use awaiting::awaiting;
use awaiting_ipc::awaiting_ipc;
use cli::cli;
use machine::machine;
use measure::{Figure, Plan, keep, measure, python};
use memory::memory;
use peers::{peer_exe, start_peer};
use remote::remote;
use report::{Report, fmt_time, print_header, write_report};

fn add_one(x: u64) -> u64 {
    x + 1
}

fn add_one_procspawn(x: u64) -> u64 {
    x + 1
}

/// Times `n` runs of `cmd`, each checked to succeed.
fn run_batch(plan: Plan, n: u64, cmd: &Command) -> Figure {
    measure(plan, n, |n| (0..n).for_each(|_| assert!(cmd.run().unwrap().success())))
}

/// Which containment a run of `cmd` got, for a row's label.
fn containment_label(cmd: &Command) -> &'static str {
    match cmd.run().unwrap().containment {
        Contained::Cgroup(_) => "cgroup",
        Contained::ProcessGroup => "process group (no cgroup here)",
        _ => "none",
    }
}

fn processes(plan: Plan, report: &mut Report) {
    let n = plan.n(300);
    // The default: a cgroup of its own where one can be made (entered by
    // pp's clone3 spawn), and PR_SET_PDEATHSIG.
    let cmd = Command::new("/bin/true");
    // The same without the cgroup: what containment itself costs.
    let group = Command::new("/bin/true").containment(Containment::ProcessGroup);
    // Neither cgroup nor PR_SET_PDEATHSIG: what pp did before containment.
    let bare = group.clone().outlive_parent();
    let default_label = containment_label(&cmd);
    assert_eq!(bare.run().unwrap().containment, Contained::ProcessGroup);
    let pp = run_batch(plan, n, &cmd);
    let pp_group = run_batch(plan, n, &group);
    let pp_bare = run_batch(plan, n, &bare);
    let std = measure(plan, n, |n| {
        (0..n)
            .for_each(|_| assert!(StdCommand::new("/bin/true").output().unwrap().status.success()))
    });
    report.add(
        &format!("run /bin/true, capture output, default containment: {default_label}"),
        "Command::run",
        pp,
        vec![
            ("std::process::Command::output", Some(std)),
            ("python subprocess.run", python(plan, "subprocess:run-true", n)),
        ],
    );
    report.add(
        "run /bin/true, capture output, process group + outlive_parent",
        "Command::run",
        pp_bare,
        vec![("std::process::Command::output", Some(std))],
    );
    report.add(
        &format!("containment cost: run /bin/true, {default_label} vs process group"),
        "Command::run",
        pp,
        vec![("Command::run, ProcessGroup", Some(pp_group))],
    );
    report.add(
        "die_with_parent cost: run /bin/true, PR_SET_PDEATHSIG vs none",
        "Command::run",
        pp_group,
        vec![("Command::run, ProcessGroup + outlive_parent", Some(pp_bare))],
    );
    let percent = |a: Figure, b: Figure| (a.median / b.median - 1.0) * 100.0;
    report.notes.push(format!(
        "containment: the default ({default_label}) adds {:+.1} % to a /bin/true run \
         (Command::run {} beside {} with .containment(ProcessGroup), medians of this run; \
         goal ≤ +20 %); die_with_parent adds {:+.1} % ({} beside {} with .outlive_parent() \
         too)",
        percent(pp, pp_group),
        fmt_time(pp.median),
        fmt_time(pp_group.median),
        percent(pp_group, pp_bare),
        fmt_time(pp_group.median),
        fmt_time(pp_bare.median),
    ));

    // Scale: 1,000 concurrent short processes, started then reaped.
    let count = plan.n(1000).max(100);
    let table = ProcessTable::new();
    let quiet = Command::new("/bin/true").discard_output();
    let threads_before = pp_process::thread_count().unwrap_or(0);
    let mut threads_during = 0;
    let pp = measure(Plan { reps: plan.reps.min(5), ..plan }, 1, |_| {
        let handles: Vec<_> = (0..count).map(|_| table.spawn(&quiet).unwrap()).collect();
        threads_during = threads_during.max(pp_process::thread_count().unwrap_or(0));
        for h in handles {
            h.wait().unwrap();
        }
        table.cleanup();
    });
    report.notes.push(format!(
        "scale: while pp ran {count} concurrent processes, the whole benchmark process had \
         {threads_during} threads ({threads_before} before the first spawn; the difference is pp-process's reactor)"
    ));
    report.add(
        &format!("run and reap {count} concurrent /bin/true (per batch)"),
        "ProcessTable::spawn",
        pp,
        vec![(
            "python subprocess.Popen",
            python(Plan { reps: plan.reps.min(5), ..plan }, "subprocess:scale-popen", count).map(
                |f| Figure {
                    median: f.median * count as f64,
                    min: f.min * count as f64,
                    max: f.max * count as f64,
                },
            ),
        )],
    );
}

fn pools(plan: Plan, report: &mut Report) {
    let n = plan.n(20_000);
    let pool = ProcessPool::new(2).unwrap();
    let pp = measure(plan, n, |n| {
        let tasks: Vec<_> = (0..n).map(|i| pool.submit(add_one, i).unwrap()).collect();
        tasks.into_iter().for_each(|t| keep(t.result().unwrap()));
    });
    let procspawn_pool = procspawn::Pool::new(2).unwrap();
    let procspawn_n = (n / 10).max(50);
    let procspawn = measure(plan, procspawn_n, |n| {
        let handles: Vec<_> = (0..n).map(|i| procspawn_pool.spawn(i, add_one_procspawn)).collect();
        handles.into_iter().for_each(|h| keep(h.join().unwrap()));
    });
    report.add(
        "process pool, 2 workers: tiny tasks (per task)",
        "ProcessPool",
        pp,
        vec![
            ("python ProcessPoolExecutor(2)", python(plan, "process-pool:throughput", n)),
            ("procspawn Pool(2)", Some(procspawn)),
        ],
    );
    let rt = plan.n(2000);
    let pp = measure(plan, rt, |n| {
        (0..n).for_each(|i| keep(pool.submit(add_one, i).unwrap().result().unwrap()))
    });
    let procspawn = measure(plan, (rt / 4).max(20), |n| {
        (0..n).for_each(|i| keep(procspawn_pool.spawn(i, add_one_procspawn).join().unwrap()))
    });
    let (peer, (tx, rx)) = pp_benches::ipc_peer::<(IpcSender<Payload>, IpcReceiver<Payload>)>(
        peer_exe().to_str().unwrap(),
        "ipc-echo",
    );
    let bare = measure(plan, rt, |n| {
        (0..n).for_each(|_| {
            tx.send(Payload::from(vec![1u8; 8])).unwrap();
            rx.recv().unwrap();
        })
    });
    drop(peer);
    report.add(
        "process pool: one task round trip",
        "ProcessPool",
        pp,
        vec![
            ("python ProcessPoolExecutor(2)", python(plan, "process-pool:round-trip", rt)),
            ("procspawn Pool(2)", Some(procspawn)),
            ("bare ipc-channel round trip", Some(bare)),
        ],
    );
    drop(pool);
    procspawn_pool.shutdown();

    let threads = ThreadPool::new(2).unwrap();
    let rayon = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let pp = measure(plan, n, |n| {
        let tasks: Vec<_> = (0..n).map(|i| threads.submit(move || add_one(i)).unwrap()).collect();
        tasks.into_iter().for_each(|t| keep(t.result().unwrap()));
    });
    let slots: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
    let ray = measure(plan, n, |n| {
        rayon.scope(|s| {
            for (i, slot) in slots.iter().take(n as usize).enumerate() {
                s.spawn(move |_| slot.store(add_one(i as u64), Ordering::Relaxed));
            }
        })
    });
    report.add(
        "thread pool, 2 threads: tiny tasks (per task)",
        "ThreadPool",
        pp,
        vec![
            ("rayon scope spawn", Some(ray)),
            ("python ThreadPoolExecutor(2)", python(plan, "thread-pool:throughput", n)),
        ],
    );
    let pp = measure(plan, rt, |n| {
        (0..n).for_each(|i| keep(threads.submit(move || add_one(i)).unwrap().result().unwrap()))
    });
    let ray = measure(plan, rt, |n| (0..n).for_each(|i| keep(rayon.install(|| add_one(i)))));
    report.add(
        "thread pool: one task round trip",
        "ThreadPool",
        pp,
        vec![
            ("rayon install", Some(ray)),
            ("python ThreadPoolExecutor(2)", python(plan, "thread-pool:round-trip", rt)),
        ],
    );
}

fn queues(plan: Plan, report: &mut Report) {
    for (size, n_full) in [(8usize, 200_000u64), (1024, 50_000)] {
        let n = plan.n(n_full);
        let item = Payload::from(vec![7u8; size]);
        let (peer, queue, acks) = pp_benches::queue_sink(peer_exe().to_str().unwrap());
        let pp = measure(plan, n, |n| pp_benches::send_to_sink(&queue, &acks, &item, n));
        drop(peer);
        let (peer, (tx, ack_rx)) = pp_benches::ipc_peer::<(IpcSender<Payload>, IpcReceiver<u8>)>(
            peer_exe().to_str().unwrap(),
            "ipc-sink",
        );
        let ipc = measure(plan, n, |n| {
            (0..n).for_each(|_| tx.send(item.clone()).unwrap());
            tx.send(Payload::new()).unwrap();
            ack_rx.recv().unwrap();
        });
        drop(peer);
        let (peer, queue, acks) = pp_benches::queue_sink_many(peer_exe().to_str().unwrap());
        let batched =
            measure(plan, n, |n| pp_benches::send_to_sink_many(&queue, &acks, &item, n, BATCH));
        drop(peer);
        let channel = crossbeam_one_way(plan, n, &item);
        let py_n = (n / 10).max(100);
        let label = if size == 8 { "8 B" } else { "1 KiB" };
        report.add(
            &format!("queue one-way, {label} items in batches of {BATCH} (per item)"),
            "Queue::put_many/get_many",
            batched,
            vec![
                ("Queue::put/get item by item", Some(pp)),
                ("crossbeam-channel across threads", Some(channel)),
            ],
        );
        report.notes.push(throughput_verdict(label, batched, if size == 8 { 10e6 } else { 2e6 }));
        let iceoryx2 = if size == 8 { iceoryx2::one_way(plan, n) } else { None };
        if size == 8 {
            report.add(
                "queue one-way, 8 B items in batches (per item), beside iceoryx2",
                "Queue::put_many/get_many",
                batched,
                vec![("iceoryx2 publish-subscribe, u64, busy-poll", iceoryx2)],
            );
        }
        report.add(
            &format!("queue one-way, {label} items (per item)"),
            "Queue",
            pp,
            vec![
                ("crossbeam-channel across threads", Some(channel)),
                ("ipc-channel", Some(ipc)),
                (
                    "python multiprocessing.Queue",
                    python(plan, &format!("mp-queue:one-way-{size}"), py_n),
                ),
                (
                    "python Manager().Queue()",
                    python(plan, &format!("manager-queue:one-way-{size}"), py_n / 4),
                ),
            ],
        );
    }

    let n = plan.n(5_000);
    let there = Queue::<Payload>::create(16).unwrap();
    let back = Queue::<Payload>::create(16).unwrap();
    let item = Payload::from(vec![7u8; 8]);
    let peer = start_peer(&["queue-echo", there.id().as_str(), back.id().as_str()]);
    let pp = measure(plan, n, |n| {
        (0..n).for_each(|_| {
            there.put(&item).unwrap();
            back.get().unwrap();
        })
    });
    drop(peer);
    let (peer, (tx, rx)) = pp_benches::ipc_peer::<(IpcSender<Payload>, IpcReceiver<Payload>)>(
        peer_exe().to_str().unwrap(),
        "ipc-echo",
    );
    let ipc = measure(plan, n, |n| {
        (0..n).for_each(|_| {
            tx.send(item.clone()).unwrap();
            rx.recv().unwrap();
        })
    });
    drop(peer);
    let floor = futex_floor(plan, n);
    let spin = spin_floor(plan, n);
    let channel = crossbeam_ping_pong(plan, n, &item);
    let iceoryx2 = iceoryx2::ping_pong(plan, n);
    let versus_iceoryx2 = match iceoryx2 {
        Some(ice) => format!(
            "{:.2}× iceoryx2's busy-polling round trip ({}; goal at most 1.0×: {})",
            pp.median / ice.median,
            fmt_time(ice.median),
            if pp.median <= ice.median { "met" } else { "not met" }
        ),
        None => "iceoryx2 not measured (its peer did not build or run)".to_owned(),
    };
    report.notes.push(format!(
        "queue ping-pong: {:.2}× a bare spinning shared-memory round trip ({} vs {}; goal at \
         most 2×: {}); {versus_iceoryx2}",
        pp.median / spin.median,
        fmt_time(pp.median),
        fmt_time(spin.median),
        if pp.median <= 2.0 * spin.median { "met" } else { "not met" },
    ));
    report.add(
        "queue ping-pong round trip, 8 B",
        "Queue",
        pp,
        vec![
            ("bare spinning shared-memory round trip", Some(spin)),
            ("iceoryx2 publish-subscribe, u64, busy-poll", iceoryx2),
            ("crossbeam-channel round trip across threads", Some(channel)),
            ("ipc-channel", Some(ipc)),
            ("python multiprocessing.Queue", python(plan, "mp-queue:ping-pong", n / 2)),
            ("python Manager().Queue()", python(plan, "manager-queue:ping-pong", n / 4)),
            ("bare futex floor", Some(floor)),
        ],
    );
}

/// Items per `put_many` in the batched rows.
const BATCH: usize = 256;

/// "one-way <label> in batches: N M items/s (goal ≥ G: met / not met)".
fn throughput_verdict(label: &str, per_item: Figure, goal_per_second: f64) -> String {
    let rate = 1.0 / per_item.median;
    format!(
        "queue one-way, {label} items in batches of {BATCH}: {:.1} M items/s (goal at least \
         {:.0} M items/s: {})",
        rate / 1e6,
        goal_per_second / 1e6,
        if rate >= goal_per_second { "met" } else { "not met" }
    )
}

/// `n` copies of `item` from this thread to another through a bounded
/// crossbeam channel: the in-process floor of a queue.
fn crossbeam_one_way(plan: Plan, n: u64, item: &Payload) -> Figure {
    let (tx, rx) = crossbeam_channel::bounded::<Payload>(1024);
    let (ack_tx, ack_rx) = crossbeam_channel::bounded::<()>(1);
    let sink = std::thread::spawn(move || {
        while let Ok(item) = rx.recv() {
            if item.is_empty() && ack_tx.send(()).is_err() {
                break;
            }
        }
    });
    let figure = measure(plan, n, |n| {
        (0..n).for_each(|_| tx.send(item.clone()).unwrap());
        tx.send(Payload::new()).unwrap();
        ack_rx.recv().unwrap();
    });
    drop(tx);
    let _ = sink.join();
    figure
}

/// A round trip through two crossbeam channels and an echoing thread.
fn crossbeam_ping_pong(plan: Plan, n: u64, item: &Payload) -> Figure {
    let (there_tx, there_rx) = crossbeam_channel::bounded::<Payload>(16);
    let (back_tx, back_rx) = crossbeam_channel::bounded::<Payload>(16);
    let echo = std::thread::spawn(move || {
        while let Ok(item) = there_rx.recv() {
            if back_tx.send(item).is_err() {
                break;
            }
        }
    });
    let figure = measure(plan, n, |n| {
        (0..n).for_each(|_| {
            there_tx.send(item.clone()).unwrap();
            back_rx.recv().unwrap();
        })
    });
    drop(there_tx);
    let _ = echo.join();
    figure
}

/// A round trip through two words of shared memory between two spinning
/// processes: the floor when both sides run.
fn spin_floor(plan: Plan, n: u64) -> Figure {
    let words = SharedWords::create();
    let peer = start_peer(&["spin-echo", words.name()]);
    let mut k = 0u32;
    let floor = measure(plan, n, |n| {
        for _ in 0..n {
            k = k.wrapping_add(1);
            words.store(0, k);
            words.spin_for(1, k);
        }
    });
    drop(peer);
    floor
}

fn futex_floor(plan: Plan, n: u64) -> Figure {
    let words = SharedWords::create();
    let peer = start_peer(&["futex-echo", words.name()]);
    let mut k = 0u32;
    let floor = measure(plan, n, |n| {
        for _ in 0..n {
            k = k.wrapping_add(1);
            words.post(0, k);
            words.wait_for(1, k);
        }
    });
    drop(peer);
    floor
}

fn values_locks_events(plan: Plan, report: &mut Report) {
    let n = plan.n(1_000_000);
    let value = SharedValue::<i64>::create(0).unwrap();
    let pp =
        measure(plan, n, |n| (0..n).for_each(|_| value.set(std::hint::black_box(value.get()) + 1)));
    let words = SharedWords::create();
    let raw = measure(plan, n, |n| {
        (0..n).for_each(|_| {
            let v = std::hint::black_box(words.word(0).load(Ordering::Acquire));
            words.word(0).store(v + 1, Ordering::Release);
        })
    });
    report.add(
        "shared value get+set",
        "SharedValue<i64>",
        pp,
        vec![
            ("raw atomic in shared memory", Some(raw)),
            ("python multiprocessing.Value", python(plan, "mp-value:get-set", n / 10)),
            ("python Manager().Value", python(plan, "manager-value:get-set", (n / 1000).max(100))),
        ],
    );

    let lock = Lock::create().unwrap();
    let pp = measure(plan, n, |n| (0..n).for_each(|_| keep(lock.acquire().unwrap())));
    let mut bare = BareMutex::new();
    let raw = measure(plan, n, |n| (0..n).for_each(|_| bare.lock_unlock()));
    report.add(
        "lock acquire+release, uncontended",
        "Lock",
        pp,
        vec![
            ("bare robust pthread mutex", Some(raw)),
            ("python multiprocessing.Lock", python(plan, "mp-lock:acquire-release", n / 10)),
            (
                "python Manager().Lock()",
                python(plan, "manager-lock:acquire-release", (n / 1000).max(100)),
            ),
        ],
    );

    let n = plan.n(5_000);
    let ping = Event::create().unwrap();
    let pong = Event::create().unwrap();
    let peer = start_peer(&["event-echo", ping.id().as_str(), pong.id().as_str()]);
    let pp = measure(plan, n, |n| {
        (0..n).for_each(|_| {
            ping.set();
            pong.wait().unwrap();
            pong.clear();
        })
    });
    drop(peer);
    let floor = futex_floor(plan, n);
    report.add(
        "event ping-pong round trip",
        "Event",
        pp,
        vec![
            ("bare futex floor", Some(floor)),
            ("python multiprocessing.Event", python(plan, "mp-event:ping-pong", n / 2)),
            ("python Manager().Event()", python(plan, "manager-event:ping-pong", n / 4)),
        ],
    );
}

fn main() {
    pp_pool::init();
    // The remote rows' worker process is this program too.
    pp_remote::init();
    procspawn::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let out_dir = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(|| "target/bench".into());
    let plan = if quick { Plan { reps: 3, scale: 0.05 } } else { Plan { reps: 7, scale: 1.0 } };
    let command = if quick { "cargo xtask bench --quick" } else { "cargo xtask bench" };
    let machine = machine();
    for (k, v) in &machine {
        println!("{k}: {v}");
    }
    print_header();
    let started = Instant::now();
    let mut report = Report::default();
    // `--only <section>` runs one section (to look at one change).
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)).cloned();
    const SECTIONS: [&str; 9] = [
        "processes",
        "awaiting",
        "pools",
        "remote",
        "queues",
        "values",
        "awaiting-ipc",
        "cli",
        "memory",
    ];
    if let Some(only) = only.as_deref().filter(|only| !SECTIONS.contains(only)) {
        eprintln!("--only {only:?}: no such section; the sections are {}", SECTIONS.join(", "));
        std::process::exit(2);
    }
    let run = |section: &str| only.as_deref().is_none_or(|only| only == section);
    if run("processes") {
        processes(plan, &mut report);
    }
    if run("awaiting") {
        awaiting(plan, &mut report, containment_label(&Command::new("/bin/true")));
    }
    if run("pools") {
        pools(plan, &mut report);
    }
    if run("remote") {
        remote(plan, &mut report);
    }
    if run("queues") {
        queues(plan, &mut report);
    }
    if run("values") {
        values_locks_events(plan, &mut report);
    }
    if run("awaiting-ipc") {
        awaiting_ipc(plan, &mut report);
    }
    if run("cli") {
        cli(plan, &mut report);
    }
    if run("memory") {
        memory(plan, &mut report, containment_label(&Command::new("/bin/true")));
    }
    for note in &report.notes {
        println!("\n{note}");
    }
    match write_report(&out_dir, &report, &machine, command) {
        Ok(()) => println!(
            "\nreport: {}/report.md, plot: {}/ratios.svg ({:.0?})",
            out_dir.display(),
            out_dir.display(),
            started.elapsed()
        ),
        Err(e) => eprintln!("cannot write the report to {}: {e}", out_dir.display()),
    }
}

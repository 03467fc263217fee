//! pp-pool against its peers, measured in the same run:
//! - process pool, 2 workers: 20,000 tiny tasks (`x + 1`) and a single-task
//!   round trip, against Python's `ProcessPoolExecutor(2)` and a bare
//!   ipc-channel round trip;
//! - thread pool, 2 threads: the same, against rayon and Python's
//!   `ThreadPoolExecutor(2)`.
//!
//! Targets (issue 4): process pool >= 10x Python's throughput, round trip
//! within 2x of bare ipc-channel; thread pool >= 0.7x rayon's throughput.
//!
//! Process-pool workers re-execute this binary, so it has its own `main`
//! calling `pp_pool::init()` first.

#![allow(missing_docs)] // reason: criterion's macros generate undocumented items

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use ipc_channel::ipc::{IpcReceiver, IpcSender};
use pp_benches::{have_python, python_peer};
use pp_pool::{ProcessPool, ThreadPool};

const PEER: &str = env!("CARGO_BIN_EXE_pp-bench-peer");
const TASKS: u64 = 20_000;
const WAIT: Duration = Duration::from_secs(600);

fn add_one(x: u64) -> u64 {
    x + 1
}

/// Runs `batches` batches of TASKS through `run_batch`; the time per batch.
fn batches(iters: u64, mut run_batch: impl FnMut()) -> Duration {
    let started = Instant::now();
    for _ in 0..iters {
        run_batch();
    }
    started.elapsed()
}

fn process_pool(c: &mut Criterion) {
    let pool = ProcessPool::new(2).unwrap();
    let mut group = c.benchmark_group("process pool, 2 workers: 20,000 tasks");
    group.sample_size(10).throughput(Throughput::Elements(TASKS));
    group.bench_function("pp_pool::ProcessPool", |b| {
        b.iter_custom(|iters| {
            batches(iters, || {
                let tasks: Vec<_> = (0..TASKS).map(|i| pool.submit(add_one, i).unwrap()).collect();
                for task in tasks {
                    task.result_timeout(WAIT).unwrap();
                }
            })
        })
    });
    if have_python() {
        group.bench_function("python ProcessPoolExecutor(2)", |b| {
            b.iter_custom(|iters| {
                (0..iters).map(|_| python_peer("process-pool:throughput", TASKS).unwrap()).sum()
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("process pool round trip: one task");
    group.bench_function("pp_pool::ProcessPool", |b| {
        b.iter(|| pool.submit(add_one, 1).unwrap().result_timeout(WAIT).unwrap())
    });
    if have_python() {
        group.sample_size(10).bench_function("python ProcessPoolExecutor(2)", |b| {
            b.iter_custom(|iters| python_peer("process-pool:round-trip", iters).unwrap())
        });
    }
    let (_peer, (tx, rx)) = pp_benches::ipc_peer::<(
        IpcSender<pp_benches::Payload>,
        IpcReceiver<pp_benches::Payload>,
    )>(PEER, "ipc-echo");
    group.bench_function("bare ipc-channel round trip", |b| {
        b.iter(|| {
            tx.send(pp_benches::Payload::from(vec![1u8; 8])).unwrap();
            rx.recv().unwrap()
        })
    });
    group.finish();
}

fn thread_pool(c: &mut Criterion) {
    let pool = ThreadPool::new(2).unwrap();
    let rayon = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let mut group = c.benchmark_group("thread pool, 2 threads: 20,000 tasks");
    group.sample_size(20).throughput(Throughput::Elements(TASKS));
    group.bench_function("pp_pool::ThreadPool", |b| {
        b.iter_custom(|iters| {
            batches(iters, || {
                let tasks: Vec<_> =
                    (0..TASKS).map(|i| pool.submit(move || add_one(i)).unwrap()).collect();
                for task in tasks {
                    task.result_timeout(WAIT).unwrap();
                }
            })
        })
    });
    let results: Vec<AtomicU64> = (0..TASKS).map(|_| AtomicU64::new(0)).collect();
    group.bench_function("rayon scope spawn", |b| {
        b.iter_custom(|iters| {
            batches(iters, || {
                rayon.scope(|s| {
                    for (i, slot) in results.iter().enumerate() {
                        s.spawn(move |_| slot.store(add_one(i as u64), Ordering::Relaxed));
                    }
                })
            })
        })
    });
    if have_python() {
        group.bench_function("python ThreadPoolExecutor(2)", |b| {
            b.iter_custom(|iters| {
                (0..iters).map(|_| python_peer("thread-pool:throughput", TASKS).unwrap()).sum()
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("thread pool round trip: one task");
    group.bench_function("pp_pool::ThreadPool", |b| {
        b.iter(|| pool.submit(|| add_one(1)).unwrap().result_timeout(WAIT).unwrap())
    });
    group.bench_function("rayon install", |b| b.iter(|| rayon.install(|| add_one(1))));
    if have_python() {
        group.sample_size(10).bench_function("python ThreadPoolExecutor(2)", |b| {
            b.iter_custom(|iters| python_peer("thread-pool:round-trip", iters).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, process_pool, thread_pool);

fn main() {
    pp_pool::init();
    benches();
    Criterion::default().configure_from_args().final_summary();
}

//! pp-ipc across two processes, each figure beside its anchor in the same run:
//! - queue one-way throughput, 8 B and 1 KiB items: pp `Queue` vs ipc-channel;
//! - ping-pong round trip: pp `Queue`, pp `Event`, ipc-channel, and the bare
//!   futex floor;
//! - uncontended lock acquire+release: pp `Lock` vs a bare robust pthread mutex.
//!
//! Targets (issue 3): queue one-way >= 2,000,000 8-byte items/s; lock within
//! 2x the bare mutex; event wake within 1.5x the futex floor.

#![allow(missing_docs)] // reason: criterion's macros generate undocumented items

use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ipc_channel::ipc::{IpcReceiver, IpcSender};
use pp_benches::floor::{BareMutex, SharedWords};
use pp_benches::{Payload, Peer};
use pp_ipc::{Event, Lock, Queue};

const PEER: &str = env!("CARGO_BIN_EXE_pp-bench-peer");

fn queue_one_way(c: &mut Criterion) {
    let mut group = c.benchmark_group("queue one-way");
    group.throughput(Throughput::Elements(1));
    for (label, size) in [("8 B", 8usize), ("1 KiB", 1024)] {
        let item = Payload::from(vec![7u8; size]);

        let (peer, queue, acks) = pp_benches::queue_sink(PEER);
        group.bench_function(BenchmarkId::new("pp_ipc::Queue", label), |b| {
            b.iter_custom(|iters| {
                let started = Instant::now();
                pp_benches::send_to_sink(&queue, &acks, &item, iters);
                started.elapsed()
            })
        });
        drop(peer);

        let (peer, (tx, ack_rx)) =
            pp_benches::ipc_peer::<(IpcSender<Payload>, IpcReceiver<u8>)>(PEER, "ipc-sink");
        group.bench_function(BenchmarkId::new("ipc-channel", label), |b| {
            b.iter_custom(|iters| {
                let started = Instant::now();
                for _ in 0..iters {
                    tx.send(item.clone()).unwrap();
                }
                tx.send(Payload::new()).unwrap();
                ack_rx.recv().unwrap();
                started.elapsed()
            })
        });
        drop(peer);
    }
    group.finish();
}

fn ping_pong(c: &mut Criterion) {
    let mut group = c.benchmark_group("ping-pong round trip");
    let item = Payload::from(vec![7u8; 8]);

    let there = Queue::<Payload>::create(16).unwrap();
    let back = Queue::<Payload>::create(16).unwrap();
    let peer = Peer::start(PEER, &["queue-echo", there.id().as_str(), back.id().as_str()]);
    group.bench_function("pp_ipc::Queue 8 B", |b| {
        b.iter(|| {
            there.put(&item).unwrap();
            back.get().unwrap()
        })
    });
    drop(peer);

    let ping = Event::create().unwrap();
    let pong = Event::create().unwrap();
    let peer = Peer::start(PEER, &["event-echo", ping.id().as_str(), pong.id().as_str()]);
    group.bench_function("pp_ipc::Event set-to-wake", |b| {
        b.iter(|| {
            ping.set();
            pong.wait().unwrap();
            pong.clear();
        })
    });
    drop(peer);

    let (peer, (tx, rx)) =
        pp_benches::ipc_peer::<(IpcSender<Payload>, IpcReceiver<Payload>)>(PEER, "ipc-echo");
    group.bench_function("ipc-channel 8 B", |b| {
        b.iter(|| {
            tx.send(item.clone()).unwrap();
            rx.recv().unwrap()
        })
    });
    drop(peer);

    let words = SharedWords::create();
    let peer = Peer::start(PEER, &["futex-echo", words.name()]);
    let mut n = 0u32;
    group.bench_function("bare futex floor", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            words.post(0, n);
            words.wait_for(1, n);
        })
    });
    drop(peer);
    group.finish();
}

fn lock_uncontended(c: &mut Criterion) {
    let mut group = c.benchmark_group("lock acquire+release, uncontended");
    let lock = Lock::create().unwrap();
    group.bench_function("pp_ipc::Lock", |b| b.iter(|| drop(lock.acquire().unwrap())));
    let mut bare = BareMutex::new();
    group.bench_function("bare robust pthread mutex", |b| b.iter(|| bare.lock_unlock()));
    group.finish();
}

/// The facade's cost: put then get of one 8-byte item by id through
/// `pp_manager`, against the same on a typed `pp_ipc::Queue`. Target (issue 5): within 1.2x.
fn facade_queue(c: &mut Criterion) {
    let mut group = c.benchmark_group("queue put+get, one process");
    let item = vec![7u8; 8];
    let typed = Queue::<Vec<u8>>::create(64).unwrap();
    group.bench_function("pp_ipc::Queue (typed handle)", |b| {
        b.iter(|| {
            typed.put(&item).unwrap();
            typed.get().unwrap()
        })
    });
    let manager = pp_manager::ProcessManager::new();
    let id = manager.create_queue(64).unwrap();
    group.bench_function("pp_manager put_queue_item/get_queue_item (by id)", |b| {
        b.iter(|| {
            manager.put_queue_item(&id, &item, true, None).unwrap();
            manager.get_queue_item::<Vec<u8>>(&id, true, None).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, queue_one_way, ping_pong, lock_uncontended, facade_queue);
criterion_main!(benches);

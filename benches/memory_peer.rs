//! The work of the memory rows, each done in a fresh `pp-bench-peer`
//! process that reports one figure in bytes: peak RSS while 1,000 processes
//! run, an idle 2-worker pool's RSS with its workers, and what a queue
//! holding 1 MiB adds to RSS.

use std::collections::HashSet;
use std::time::Duration;

use crate::Payload;
use crate::proc_status::{own_status_bytes, tree_rss};

/// Bytes of each item the queue rows hold.
pub const ITEM_BYTES: usize = 1024;

/// A ring record of one item: a 4-byte length, then postcard's encoding of
/// the byte buffer (a 2-byte varint length for 1 KiB, then the bytes).
const RECORD_BYTES: usize = 4 + 2 + ITEM_BYTES;

/// How long a pool waits idle before its memory is read.
const SETTLE: Duration = Duration::from_millis(200);

/// This process's peak RSS (`VmHWM`) having done nothing: the baseline the
/// spawn figures include.
pub fn idle() -> u64 {
    own_status_bytes("VmHWM").expect("VmHWM of this process")
}

/// This process's peak RSS (`VmHWM`) after starting `n` `sleep 1` with
/// pp-process's defaults (output captured, contained), then waiting for all.
pub fn spawn_pp(n: usize) -> u64 {
    spawn_pp_with(&pp_process::Command::new("sleep").arg("1"), n)
}

/// [`spawn_pp`] with output discarded: what capturing costs.
pub fn spawn_pp_discarding(n: usize) -> u64 {
    spawn_pp_with(&pp_process::Command::new("sleep").arg("1").discard_output(), n)
}

fn spawn_pp_with(cmd: &pp_process::Command, n: usize) -> u64 {
    crate::raise_fd_limit();
    let handles: Vec<_> = (0..n).map(|_| cmd.spawn().expect("spawn sleep 1")).collect();
    for handle in handles {
        assert!(handle.wait().expect("wait for sleep 1").success());
    }
    own_status_bytes("VmHWM").expect("VmHWM of this process")
}

/// [`spawn_pp`] with `std::process::Command` (stdio inherited, its default).
pub fn spawn_std(n: usize) -> u64 {
    crate::raise_fd_limit();
    let children: Vec<_> = (0..n)
        .map(|_| std::process::Command::new("sleep").arg("1").spawn().expect("spawn sleep 1"))
        .collect();
    for mut child in children {
        assert!(child.wait().expect("wait for sleep 1").success());
    }
    own_status_bytes("VmHWM").expect("VmHWM of this process")
}

/// A worker's pid, after long enough that two tasks submitted together run
/// on two workers.
fn worker_pid(_: ()) -> u32 {
    std::thread::sleep(Duration::from_millis(50));
    std::process::id()
}

/// Runs `two_tasks` (which runs two [`worker_pid`] tasks together and returns
/// their pids) until both workers have answered.
fn until_two_workers(mut two_tasks: impl FnMut() -> [u32; 2]) {
    let mut seen = HashSet::new();
    for _ in 0..50 {
        seen.extend(two_tasks());
        if seen.len() >= 2 {
            return;
        }
    }
    panic!("a 2-worker pool ran 100 tasks on {} worker(s)", seen.len());
}

/// VmRSS of this process and its descendants, summed, holding an idle
/// `pp_pool::ProcessPool` of 2 workers that have each run a task.
pub fn pool_pp() -> u64 {
    let pool = pp_pool::ProcessPool::new(2).expect("process pool");
    until_two_workers(|| {
        let tasks = [(); 2].map(|()| pool.submit(worker_pid, ()).expect("submit"));
        tasks.map(|t| t.result().expect("a worker's pid"))
    });
    std::thread::sleep(SETTLE);
    assert_eq!(pool.worker_pids().len(), 2, "both workers alive");
    tree_rss(std::process::id())
}

/// [`pool_pp`] with a `procspawn::Pool` of 2.
pub fn pool_procspawn() -> u64 {
    let pool = procspawn::Pool::new(2).expect("procspawn pool");
    until_two_workers(|| {
        let tasks = [(); 2].map(|()| pool.spawn((), worker_pid));
        tasks.map(|t| t.join().expect("a worker's pid"))
    });
    std::thread::sleep(SETTLE);
    let rss = tree_rss(std::process::id());
    pool.shutdown();
    rss
}

/// A fresh 1 KiB item, as a producer would make each one.
fn item(i: usize) -> Payload {
    Payload::from(vec![i as u8; ITEM_BYTES])
}

/// How much this process's VmRSS grows while a `pp_ipc::Queue` sized for
/// exactly `n` 1 KiB items is created and filled with them (each made
/// fresh and dropped once put; nobody reads).
pub fn queue_pp(n: usize) -> u64 {
    let options = pp_ipc::QueueOptions::default().capacity_bytes(n * RECORD_BYTES);
    let before = own_status_bytes("VmRSS").expect("VmRSS of this process");
    let queue = pp_ipc::Queue::<Payload>::create_with(options).expect("queue");
    for i in 0..n {
        let put = queue.try_put(item(i));
        assert!(put.is_ok(), "a queue sized for {n} items did not take item {i}");
    }
    let after = own_status_bytes("VmRSS").expect("VmRSS of this process");
    assert_eq!(queue.len(), n);
    after.saturating_sub(before)
}

/// [`queue_pp`] with a bounded crossbeam channel of `n` items in this
/// process: the in-process floor.
pub fn queue_crossbeam(n: usize) -> u64 {
    let before = own_status_bytes("VmRSS").expect("VmRSS of this process");
    let (tx, rx) = crossbeam_channel::bounded::<Payload>(n);
    for i in 0..n {
        tx.try_send(item(i)).expect("the channel holds every item");
    }
    let after = own_status_bytes("VmRSS").expect("VmRSS of this process");
    assert_eq!(rx.len(), n);
    after.saturating_sub(before)
}

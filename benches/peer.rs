//! The peer process of pp's cross-process benchmarks. Prints `ready` once set
//! up, then serves until killed. Roles:
//! - `queue-sink <queue> <acks>`: takes items; an empty one is acknowledged on `acks`.
//! - `queue-echo <in> <out>`: sends every item back.
//! - `ipc-sink <server>` / `ipc-echo <server>`: the same over ipc-channel.
//! - `futex-echo <words>`: answers word 0 = n with word 1 = n.
//! - `spin-echo <words>`: the same, spinning instead of sleeping.
//! - `queue-sink-many <queue> <acks>`: `queue-sink` taking items in batches.
//! - `event-echo <ping> <pong>`: answers each set of `ping` by setting `pong`.
//!
//! The memory roles do one thing in this fresh process, print one figure in
//! bytes and exit (see `memory_peer.rs`; `<n>` is a count):
//! - `memory-idle <n>`: peak RSS having done nothing (`n` is ignored).
//! - `memory-spawn-pp <n>` / `memory-spawn-pp-discarding <n>` /
//!   `memory-spawn-std <n>`: peak RSS after `n` concurrent `sleep 1`.
//! - `memory-pool-pp` / `memory-pool-procspawn`: an idle 2-worker pool's
//!   RSS with its workers.
//! - `memory-queue-pp <n>` / `memory-queue-crossbeam <n>`: RSS growth while
//!   `n` 1 KiB items are held.

use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use pp_benches::Payload;
use pp_benches::floor::SharedWords;
use pp_benches::memory_peer;
use pp_ipc::{Event, ObjectId, Queue};

fn main() {
    // The memory roles start pools, whose workers are copies of this program.
    pp_pool::init();
    procspawn::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let id = |i: usize| arg(i).parse::<ObjectId>().expect("an object id");
    let count = |i: usize| arg(i).parse::<usize>().expect("a count");
    match arg(0).as_str() {
        "memory-idle" => println!("{}", memory_peer::idle()),
        "memory-spawn-pp" => println!("{}", memory_peer::spawn_pp(count(1))),
        "memory-spawn-pp-discarding" => {
            println!("{}", memory_peer::spawn_pp_discarding(count(1)))
        }
        "memory-spawn-std" => println!("{}", memory_peer::spawn_std(count(1))),
        "memory-pool-pp" => println!("{}", memory_peer::pool_pp()),
        "memory-pool-procspawn" => println!("{}", memory_peer::pool_procspawn()),
        "memory-queue-pp" => println!("{}", memory_peer::queue_pp(count(1))),
        "memory-queue-crossbeam" => println!("{}", memory_peer::queue_crossbeam(count(1))),
        "queue-sink" => {
            let queue = Queue::<Payload>::open(&id(1)).unwrap();
            let acks = Queue::<u8>::open(&id(2)).unwrap();
            println!("ready");
            loop {
                if queue.get().unwrap().is_empty() {
                    acks.put(1).unwrap();
                }
            }
        }
        "queue-echo" => {
            let input = Queue::<Payload>::open(&id(1)).unwrap();
            let output = Queue::<Payload>::open(&id(2)).unwrap();
            println!("ready");
            loop {
                output.put(input.get().unwrap()).unwrap();
            }
        }
        "ipc-sink" => {
            let (data_tx, data_rx) = ipc::channel::<Payload>().unwrap();
            let (ack_tx, ack_rx) = ipc::channel::<u8>().unwrap();
            bootstrap(&arg(1), (data_tx, ack_rx));
            println!("ready");
            while let Ok(message) = data_rx.recv() {
                if message.is_empty() && ack_tx.send(1).is_err() {
                    break;
                }
            }
        }
        "ipc-echo" => {
            let (in_tx, in_rx) = ipc::channel::<Payload>().unwrap();
            let (out_tx, out_rx) = ipc::channel::<Payload>().unwrap();
            bootstrap(&arg(1), (in_tx, out_rx));
            println!("ready");
            // Ends quietly when the benchmark hangs up.
            while let Ok(message) = in_rx.recv() {
                if out_tx.send(message).is_err() {
                    break;
                }
            }
        }
        "spin-echo" => {
            let words = SharedWords::open(&arg(1));
            println!("ready");
            let mut n = 0u32;
            loop {
                n = n.wrapping_add(1);
                words.spin_for(0, n);
                words.store(1, n);
            }
        }
        "queue-sink-many" => {
            let queue = Queue::<Payload>::open(&id(1)).unwrap();
            let acks = Queue::<u8>::open(&id(2)).unwrap();
            println!("ready");
            loop {
                for item in queue.get_many(1024).unwrap() {
                    if item.is_empty() {
                        acks.put(1).unwrap();
                    }
                }
            }
        }
        "futex-echo" => {
            let words = SharedWords::open(&arg(1));
            println!("ready");
            let mut n = 0u32;
            loop {
                n = n.wrapping_add(1);
                words.wait_for(0, n);
                words.post(1, n);
            }
        }
        "event-echo" => {
            let ping = Event::open(&id(1)).unwrap();
            let pong = Event::open(&id(2)).unwrap();
            println!("ready");
            loop {
                ping.wait().unwrap();
                ping.clear();
                pong.set();
            }
        }
        other => panic!("unknown role {other:?}"),
    }
}

/// Hands our ends to the benchmark through its one-shot server.
fn bootstrap(
    server: &str,
    ends: (
        IpcSender<Payload>,
        IpcReceiver<impl serde::Serialize + for<'de> serde::Deserialize<'de>>,
    ),
) {
    let tx: IpcSender<_> = IpcSender::connect(server.to_owned()).unwrap();
    tx.send(ends).unwrap();
}

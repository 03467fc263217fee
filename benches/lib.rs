//! Shared pieces of pp's benchmarks: the peer process and the raw floors
//! (a bare futex ping-pong, a bare robust pthread mutex) that pp is measured
//! against in the same run; the memory rows' work (`memory_peer.rs`) and
//! their reading of `/proc` (`proc_status.rs`).

pub mod floor;
pub mod memory_peer;
pub mod proc_status;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

/// The other process of a cross-process benchmark: `pp-bench-peer <role> <args>`.
/// Killed and reaped on drop.
#[derive(Debug)]
pub struct Peer {
    child: Child,
    lines: BufReader<ChildStdout>,
}

impl Peer {
    /// Starts the peer binary `exe` (pass `env!("CARGO_BIN_EXE_pp-bench-peer")`)
    /// and waits for its `ready` line.
    pub fn start(exe: &str, args: &[&str]) -> Peer {
        let mut peer = Peer::spawn(exe, args);
        peer.wait_ready();
        peer
    }

    /// Starts the peer without waiting for it (for handshakes that need us first).
    pub fn spawn(exe: &str, args: &[&str]) -> Peer {
        let mut child = Command::new(exe)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start pp-bench-peer");
        let lines = BufReader::new(child.stdout.take().expect("piped stdout"));
        Peer { child, lines }
    }

    /// Waits for the peer's `ready` line.
    pub fn wait_ready(&mut self) {
        assert_eq!(self.line(), "ready", "the peer did not start");
    }

    /// The peer's next output line.
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.lines.read_line(&mut line).expect("read from peer");
        line.trim_end().to_owned()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The item of every queue and channel row: bytes that serde serializes as
/// one block (`serde_bytes`), as byte payloads should be sent; a plain
/// `Vec<u8>` is a sequence that serde walks byte by byte.
pub type Payload = serde_bytes::ByteBuf;

/// A 4 MiB queue, an acknowledgement queue, and a `queue-sink` peer draining
/// the first and acknowledging each empty item on the second.
pub fn queue_sink(exe: &str) -> (Peer, pp_ipc::Queue<Payload>, pp_ipc::Queue<u8>) {
    sink_in_role(exe, "queue-sink")
}

/// [`queue_sink`] whose peer takes items in batches (`get_many`).
pub fn queue_sink_many(exe: &str) -> (Peer, pp_ipc::Queue<Payload>, pp_ipc::Queue<u8>) {
    sink_in_role(exe, "queue-sink-many")
}

fn sink_in_role(exe: &str, role: &str) -> (Peer, pp_ipc::Queue<Payload>, pp_ipc::Queue<u8>) {
    let options = pp_ipc::QueueOptions::default().capacity_bytes(4 << 20);
    let queue = pp_ipc::Queue::<Payload>::create_with(options).expect("queue");
    let acks = pp_ipc::Queue::<u8>::create(4).expect("ack queue");
    let peer = Peer::start(exe, &[role, queue.id().as_str(), acks.id().as_str()]);
    (peer, queue, acks)
}

/// Puts `n` copies of `item` on a queue drained by a [`queue_sink`] peer and
/// waits until the peer has taken them all.
pub fn send_to_sink(
    queue: &pp_ipc::Queue<Payload>,
    acks: &pp_ipc::Queue<u8>,
    item: &Payload,
    n: u64,
) {
    for _ in 0..n {
        // A borrow of the item: no clone per item, as the measurement assumes.
        queue.put(item).expect("put");
    }
    queue.put(Payload::new()).expect("put the marker");
    acks.get().expect("the peer's acknowledgement");
}

/// [`send_to_sink`] in batches of `batch` items (`put_many`).
pub fn send_to_sink_many(
    queue: &pp_ipc::Queue<Payload>,
    acks: &pp_ipc::Queue<u8>,
    item: &Payload,
    n: u64,
    batch: usize,
) {
    let items: Vec<&Payload> = vec![item; batch];
    let mut left = n as usize;
    while left > 0 {
        let now = left.min(batch);
        queue.put_many(&items[..now]).expect("put_many");
        left -= now;
    }
    queue.put(Payload::new()).expect("put the marker");
    acks.get().expect("the peer's acknowledgement");
}

/// Starts the peer in an ipc-channel role (`ipc-echo`, `ipc-sink`): it
/// connects to a one-shot server and hands over its channel ends, returned
/// with the peer once it is ready.
pub fn ipc_peer<T>(exe: &str, role: &str) -> (Peer, T)
where
    T: serde::Serialize + for<'de> serde::Deserialize<'de>,
{
    let (server, name) = ipc_channel::ipc::IpcOneShotServer::<T>::new().expect("one-shot server");
    let mut peer = Peer::spawn(exe, &[role, &name]);
    let (_, ends) = server.accept().expect("the peer's channel ends");
    peer.wait_ready();
    (peer, ends)
}

/// Runs a measurement of `benches/python/peers.py` (`<pool>:<what>`) on `n`
/// tasks and returns the time it reports; `None` (with a line saying why)
/// where `python3` is missing or fails.
pub fn python_peer(measurement: &str, n: u64) -> Option<std::time::Duration> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/peers.py");
    let out = match Command::new("python3").args([script, measurement, &n.to_string()]).output() {
        Ok(out) if out.status.success() => out,
        Ok(out) => {
            eprintln!("python peer {measurement} failed: {}", String::from_utf8_lossy(&out.stderr));
            return None;
        }
        Err(e) => {
            eprintln!("skipping python peer {measurement}: cannot run python3 ({e})");
            return None;
        }
    };
    let seconds: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    Some(std::time::Duration::from_secs_f64(seconds))
}

/// Lifts the soft open-file limit to the hard one, so a thousand children's
/// descriptors fit; left as it is (with a line saying so) where that fails.
pub fn raise_fd_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = Rlimit { current: limit.maximum, maximum: limit.maximum };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            eprintln!("cannot raise the open-file limit ({e}); keeping {:?}", limit.current);
        }
    }
}

/// Whether `python3` can be run here.
pub fn have_python() -> bool {
    Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success())
}

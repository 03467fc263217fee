//! Shared pieces of pp's benchmarks: the peer process and the raw floors
//! (a bare futex ping-pong, a bare robust pthread mutex) that pp is measured
//! against in the same run.

pub mod floor;

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

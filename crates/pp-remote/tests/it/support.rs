//! A nats-server on loopback (a temporary store, a free port), worker
//! processes (copies of this test binary), and the task functions.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub(crate) use pp_tests::nats::Server;
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
    // One write: appends of concurrent processes never interleave within it.
    file.write_all(format!("{line}\n").as_bytes()).unwrap();
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

/// What [`logged_gated`] returns.
pub(crate) const GATED: u64 = 7;

/// Appends `<pid of this process>` to `log`, waits until the file `gate`
/// exists (at most ten minutes), returns [`GATED`].
pub(crate) fn logged_gated((log, gate): (String, String)) -> u64 {
    append(&log, &std::process::id().to_string());
    let deadline = std::time::Instant::now() + Duration::from_secs(600);
    while !Path::new(&gate).exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    GATED
}

/// Appends `<pid of this process>` to `log`, sleeps `ms`, returns `ms`.
pub(crate) fn logged_sleep((log, ms): (String, u64)) -> u64 {
    append(&log, &std::process::id().to_string());
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

//! Running `pp` and GNU parallel from tests: with a deadline (a hung
//! command is killed and the test fails), stdin given, output captured.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A generous hang guard for one command: tests assert no upper time bound.
pub(crate) const HANG_GUARD: Duration = Duration::from_secs(120);

/// What a finished command left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ran {
    /// Exit code (`None`: killed by a signal).
    pub(crate) code: Option<i32>,
    /// Its stdout.
    pub(crate) stdout: String,
    /// Its stderr.
    pub(crate) stderr: String,
}

impl Ran {
    /// stdout's lines, sorted (for order-insensitive comparisons).
    pub(crate) fn sorted_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.stdout.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    }

    /// Fails the test if pp panicked.
    pub(crate) fn no_panic(&self) -> &Ran {
        assert!(!self.stderr.contains("panicked"), "pp panicked: {}", self.stderr);
        self
    }
}

/// `pp` with these arguments.
pub(crate) fn pp(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pp"));
    command.args(args);
    command
}

/// GNU parallel (`parallel --will-cite`) with these arguments; fails the
/// test when it is missing (`.ci/run` installs it).
pub(crate) fn gnu(args: &[&str]) -> Command {
    let version = Command::new("parallel").arg("--version").output();
    let is_gnu = version.is_ok_and(|v| String::from_utf8_lossy(&v.stdout).contains("GNU parallel"));
    assert!(
        is_gnu,
        "GNU parallel is missing: install the Debian package `parallel` (.ci/run does)"
    );
    let mut command = Command::new("parallel");
    command.arg("--will-cite").args(args);
    command
}

/// Runs `command` with `stdin` to its end, killing it (and failing) after [`HANG_GUARD`].
pub(crate) fn run(command: &mut Command, stdin: &str) -> Ran {
    let child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    finish(child, stdin, HANG_GUARD)
}

/// Writes `stdin` to a started child, then waits for it until `limit`.
pub(crate) fn finish(mut child: Child, stdin: &str, limit: Duration) -> Ran {
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    let stdout = child.stdout.take().map(reader);
    let stderr = child.stderr.take().map(reader);
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hang guard: the command still ran after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let text = |r: Option<std::thread::JoinHandle<String>>| {
        r.map(|r| r.join().expect("reader")).unwrap_or_default()
    };
    Ran { code: status.code(), stdout: text(stdout), stderr: text(stderr) }
}

fn reader(mut stream: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// A fresh directory for one test, removed on drop.
#[derive(Debug)]
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    /// Creates it, named after the test.
    pub(crate) fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("pp-cli-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    /// A path inside it.
    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The pids a test's jobs wrote to `file`, one a line.
pub(crate) fn pids_in(file: &Path) -> Vec<u32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Fails unless every pid is gone within a generous limit.
pub(crate) fn assert_all_gone(pids: &[u32]) {
    let gone = pp_tests::eventually(Duration::from_secs(30), || {
        pids.iter().all(|&p| pp_tests::is_gone(p))
    });
    let left: Vec<u32> = pids.iter().copied().filter(|&p| !pp_tests::is_gone(p)).collect();
    assert!(gone, "processes left behind: {left:?}");
}

//! Starting the helper process, and leak checks (watchdogs come from pp-tests).

pub(crate) use pp_tests::watchdog;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use crate::helper::{READY, ROLE_VAR, SEPARATOR};

/// The command that runs `exe` (this test binary, or a copy of it) as the
/// helper in role `args`: only the hidden test `helper::role`, which reads
/// its role from the environment, so libtest's own arguments stay libtest's.
pub(crate) fn helper_command(exe: &Path, args: &[&str]) -> Command {
    assert!(args.iter().all(|a| !a.contains(SEPARATOR)), "an argument holds the separator");
    let mut command = Command::new(exe);
    command
        .args(["--exact", "helper::role", "--ignored", "--nocapture", "--test-threads=1", "-q"])
        .env(ROLE_VAR, args.join(&SEPARATOR.to_string()));
    command
}

/// This test binary, which is also the helper.
pub(crate) fn this_exe() -> std::path::PathBuf {
    std::env::current_exe().expect("the test binary's path")
}

/// A helper process; killed and reaped on drop, so a failing test leaks nothing.
pub(crate) struct Helper {
    child: Child,
    lines: BufReader<ChildStdout>,
    /// Whether the helper's first line was seen: what comes before is libtest's.
    ready: bool,
}

impl Helper {
    pub(crate) fn start(args: &[&str]) -> Helper {
        Helper::start_with_env(args, &[])
    }

    pub(crate) fn start_with_env(args: &[&str], env: &[(&str, &std::path::Path)]) -> Helper {
        let mut child = helper_command(&this_exe(), args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the helper");
        let lines = BufReader::new(child.stdout.take().unwrap());
        Helper { child, lines, ready: false }
    }

    /// The helper's next output line (empty at end of output).
    pub(crate) fn line(&mut self) -> String {
        while !self.ready {
            match self.read_line() {
                Some(line) => self.ready = line == READY,
                None => return String::new(),
            }
        }
        self.read_line().unwrap_or_default()
    }

    fn read_line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.lines.read_line(&mut line).unwrap() {
            0 => None,
            _ => Some(line.trim_end().to_owned()),
        }
    }

    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the helper and returns what it had printed and nobody read yet,
    /// its exit status first: for a failure's message.
    pub(crate) fn kill_and_tell(&mut self) -> String {
        let status = match self.child.try_wait() {
            Ok(Some(status)) => format!("had exited ({status})"),
            _ => "was still running".to_owned(),
        };
        self.kill();
        let mut said = Vec::new();
        while let Some(line) = self.read_line() {
            said.push(line);
        }
        format!("{status}, said {said:?}")
    }

    /// Waits for exit; true if it exited with 0.
    pub(crate) fn success(mut self) -> bool {
        self.child.wait().unwrap().success()
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

/// Whether `/dev/shm` holds an object with this id.
pub(crate) fn exists(id: &pp_ipc::ObjectId) -> bool {
    std::path::Path::new("/dev/shm").join(id.as_str()).exists()
}

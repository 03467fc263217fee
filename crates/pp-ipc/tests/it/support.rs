//! Starting the helper process, and leak checks (watchdogs come from pp-tests).

pub(crate) use pp_tests::watchdog;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

/// A helper process; killed and reaped on drop, so a failing test leaks nothing.
pub(crate) struct Helper {
    child: Child,
    lines: BufReader<ChildStdout>,
}

impl Helper {
    pub(crate) fn start(args: &[&str]) -> Helper {
        Helper::start_with_env(args, &[])
    }

    pub(crate) fn start_with_env(args: &[&str], env: &[(&str, &std::path::Path)]) -> Helper {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pp-ipc-helper"))
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start pp-ipc-helper");
        let lines = BufReader::new(child.stdout.take().unwrap());
        Helper { child, lines }
    }

    /// The helper's next output line (empty at end of output).
    pub(crate) fn line(&mut self) -> String {
        let mut line = String::new();
        self.lines.read_line(&mut line).unwrap();
        line.trim_end().to_owned()
    }

    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

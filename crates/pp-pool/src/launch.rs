//! What a worker process is started with: program, argv and environment.
//! Only the start itself (and the inherited socket) is `process_pool.rs`'s.

use std::ffi::OsString;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

use crate::test_support::{test_output_shown, worker_test_name};
use crate::worker::{PARENT_ENV, WORKER_ENV};

/// How to start one worker.
#[derive(Debug)]
pub(crate) struct Launch {
    /// The executable.
    pub(crate) program: PathBuf,
    /// What the worker sees as `argv[0]` (how this program was started), if known.
    pub(crate) arg0: Option<PathBuf>,
    /// Arguments after `argv[0]`: none, or in a test binary with
    /// [`enable_test_support!`](crate::enable_test_support) those that make
    /// libtest run only the hidden worker test.
    pub(crate) args: Vec<OsString>,
    /// Variables added to our environment.
    pub(crate) env: Vec<(&'static str, String)>,
    /// Whether the worker's stdout goes nowhere: in a test binary whose
    /// output is captured, as libtest hides what passing tests print (and
    /// the `running 1 test` header the worker's libtest prints).
    pub(crate) quiet_stdout: bool,
}

/// How to start a worker of `worker_exe` (`None`: this program) that finds
/// its end of the socket pair at descriptor `socket`.
pub(crate) fn worker_launch(worker_exe: Option<&Path>, socket: RawFd) -> Launch {
    // The hidden test exists only in this program, not in another executable.
    let test = worker_exe.is_none().then(worker_test_name).flatten();
    let args = match &test {
        Some(name) => ["--exact", name, "--nocapture", "--test-threads=1", "-q"]
            .into_iter()
            .map(OsString::from)
            .collect(),
        None => Vec::new(),
    };
    Launch {
        program: worker_exe.map_or_else(|| PathBuf::from("/proc/self/exe"), Path::to_path_buf),
        arg0: std::env::current_exe().ok(),
        args,
        env: vec![(WORKER_ENV, socket.to_string()), (PARENT_ENV, std::process::id().to_string())],
        quiet_stdout: test.is_some() && !test_output_shown(),
    }
}

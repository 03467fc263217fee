//! Plain data: process ids, statuses, outputs and table records.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::id::ProcessId;

/// Where a process is in its life. With the `serde` feature it serializes
/// as the variant's name (`"TimedOut"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum ProcessStatus {
    /// Started and not yet finished.
    Running,
    /// Exited by itself (with any exit code) or was killed by a signal pp did not send.
    Completed,
    /// The program could not be started.
    FailedToStart,
    /// Ran past its timeout and was stopped.
    TimedOut,
    /// Stopped on request and exited within its grace period.
    Terminated,
    /// Stopped on request with SIGKILL (asked for, or the grace period ran out).
    Killed,
}

impl ProcessStatus {
    /// Whether the process has finished (or never started).
    pub fn is_finished(self) -> bool {
        self != ProcessStatus::Running
    }
}

impl fmt::Display for ProcessStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProcessStatus::Running => "running",
            ProcessStatus::Completed => "completed",
            ProcessStatus::FailedToStart => "failed to start",
            ProcessStatus::TimedOut => "timed out",
            ProcessStatus::Terminated => "terminated",
            ProcessStatus::Killed => "killed",
        })
    }
}

/// What happens to descendants still running when the process itself exits
/// ([`Command::leftovers`](crate::Command::leftovers)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Leftovers {
    /// Stop them with the tree (SIGTERM, the grace period, SIGKILL) as soon
    /// as the process exits, so nothing outlives the command. The default.
    #[default]
    Stop,
    /// Wait for them: the process counts as running until its whole tree has
    /// exited, and its timeout and `terminate` still stop the whole tree.
    Wait,
    /// Leave them running, untracked. Output they write after the process
    /// exited is read for a short drain only; then pp closes its end of the pipes.
    Leave,
}

/// How pp reaches every descendant of a command ([`Command::containment`](crate::Command::containment)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Containment {
    /// A cgroup v2 of its own where this process can create one (below its
    /// own cgroup), else the process group. The default.
    #[default]
    Auto,
    /// The process group only: a descendant that leaves it (`setsid`, a
    /// daemon) escapes a stop, though the call still returns in bounded time.
    ProcessGroup,
    /// A cgroup of its own below this cgroup v2 directory (one delegated to
    /// this user, say); an error if it cannot be made there.
    CgroupUnder(std::path::PathBuf),
}

/// What contains a started process: which mechanism a stop goes through.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Contained {
    /// Its own cgroup v2 (this directory): a stop kills every member, those
    /// that left the process group included, and ends when the cgroup is empty.
    /// Once the process is finished, pp may give the emptied directory to the
    /// next process (its counters, such as `cpu.stat`, carry over): act on it
    /// only while the process runs.
    Cgroup(std::path::PathBuf),
    /// Its process group (its pid): members that left the group are not reached.
    ProcessGroup,
    /// Never started.
    Nothing,
}

/// A limit that ended a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum StoppedBy {
    /// The kernel's OOM killer, at the cgroup's `memory.max`.
    OutOfMemory,
    /// `RLIMIT_CPU`: the CPU time ran out (SIGXCPU, then SIGKILL).
    CpuTimeLimit,
}

/// How a request to stop a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum TerminateOutcome {
    /// The process had already exited by itself; nothing was sent.
    ExitedByItself,
    /// The process group got SIGTERM and the process exited within the grace period.
    Terminated,
    /// The process group had to be (or was asked to be) killed with SIGKILL.
    Killed,
}

/// Everything known about a finished process: the seed's result fields and more.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ProcessOutput {
    /// pp's id of the process.
    pub process_id: ProcessId,
    /// The OS process id.
    pub pid: u32,
    /// The command line, program first (lossily converted to UTF-8).
    pub command: Vec<String>,
    /// How it ended: completed, timed out, terminated or killed.
    pub status: ProcessStatus,
    /// The exit code, when the process exited normally.
    pub code: Option<i32>,
    /// The signal that ended the process, when one did.
    pub signal: Option<i32>,
    /// Captured standard output (empty unless captured).
    pub stdout: Vec<u8>,
    /// Captured standard error (empty unless captured).
    pub stderr: Vec<u8>,
    /// Bytes of stdout read past the output cap and dropped.
    pub stdout_dropped: u64,
    /// Bytes of stderr read past the output cap and dropped.
    pub stderr_dropped: u64,
    /// Wall-clock time the process was started.
    pub started_at: SystemTime,
    /// How long it ran (monotonic clock), from start to the moment it was reaped.
    pub duration: Duration,
    /// What contained it (the mechanism its stops went through).
    pub containment: Contained,
    /// The resource limit that ended it, when one did.
    pub stopped_by: Option<StoppedBy>,
    /// Whether pp stopped reading the captured output before its end because
    /// a process outside the tree still held the pipes after the tree was
    /// gone: a descendant that left the process group escaped the stop.
    /// Cgroup containment stops such descendants, so this stays false there.
    pub held_open_by_escapee: bool,
}

impl ProcessOutput {
    /// Whether the process exited by itself with code 0.
    pub fn success(&self) -> bool {
        self.status == ProcessStatus::Completed && self.code == Some(0)
    }

    /// Captured stdout as text (invalid UTF-8 replaced).
    pub fn stdout_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.stdout)
    }

    /// Captured stderr as text (invalid UTF-8 replaced).
    pub fn stderr_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.stderr)
    }
}

/// A process table's record of one process: status without the captured output.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessInfo {
    /// pp's id of the process.
    pub process_id: ProcessId,
    /// The OS process id (`None` when it failed to start).
    pub pid: Option<u32>,
    /// The command line, program first.
    pub command: Vec<String>,
    /// Current status.
    pub status: ProcessStatus,
    /// Wall-clock time the process was started.
    pub started_at: SystemTime,
    /// Run time so far, or the total once finished.
    pub duration: Duration,
    /// Exit code, once exited normally.
    pub code: Option<i32>,
    /// Ending signal, once killed by one.
    pub signal: Option<i32>,
    /// What contains it (the mechanism its stops go through).
    pub containment: Contained,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_print_in_words() {
        assert_eq!(ProcessStatus::TimedOut.to_string(), "timed out");
        assert_eq!(ProcessStatus::FailedToStart.to_string(), "failed to start");
        assert!(!ProcessStatus::Running.is_finished());
        assert!(ProcessStatus::Killed.is_finished());
    }
}

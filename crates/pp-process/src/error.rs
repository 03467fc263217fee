//! The one error type of pp-process.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::id::{ProcessId, ProcessIdError};
use crate::types::ProcessOutput;

/// Everything that can go wrong when running, tracking or stopping a process.
///
/// Each variant names the value that was wrong, so the message alone tells
/// the user what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The command has no program (an empty argv or an empty program name).
    #[error("empty command: no program to run")]
    EmptyCommand,

    /// A program name, argument, environment entry or path contains a NUL byte,
    /// which the OS cannot pass on.
    #[error("{what} contains a NUL byte: {value:?}")]
    NulByte {
        /// Which part of the command: `"program"`, `"argument 2"`, `"environment variable PATH"`, …
        what: String,
        /// The offending value, lossily converted to UTF-8.
        value: String,
    },

    /// The program does not exist (or is not on `PATH`).
    #[error("program not found: {program:?}")]
    ProgramNotFound {
        /// The program as given.
        program: String,
    },

    /// The program exists but may not be executed by this user.
    #[error("permission denied: cannot execute {program:?}")]
    PermissionDenied {
        /// The program as given.
        program: String,
    },

    /// The working directory does not exist or is not a directory.
    #[error("bad working directory {path:?}: {reason}")]
    BadCwd {
        /// The normalized (absolute) path.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },

    /// A caller-chosen process id is not acceptable.
    #[error(transparent)]
    InvalidProcessId(#[from] ProcessIdError),

    /// A resource limit or niceness with a value it cannot have.
    #[error("invalid {limit} limit {value}: {reason}")]
    InvalidLimit {
        /// Which limit.
        limit: &'static str,
        /// The value given.
        value: String,
        /// The valid range.
        reason: &'static str,
    },

    /// A limit this command asked for cannot be applied here (it is never
    /// silently ignored).
    #[error("cannot apply the {limit} limit: {reason}")]
    LimitUnavailable {
        /// Which limit.
        limit: &'static str,
        /// Why not (the controller that is not delegated, no cgroup, …).
        reason: String,
    },

    /// A descriptor was passed ([`Command::pass_fd`](crate::Command::pass_fd))
    /// as a number the child cannot get it at.
    #[error("cannot pass a descriptor to the child as number {target}: {reason}")]
    InvalidFdTarget {
        /// The number asked for in the child.
        target: i32,
        /// Why it cannot be used.
        reason: &'static str,
    },

    /// A stream was given a destination it cannot have (e.g.
    /// [`Output::Stdout`](crate::Output::Stdout) for stdout itself).
    #[error("cannot send the child's {stream} to {destination}: {reason}")]
    InvalidOutput {
        /// The stream: `stdout` or `stderr`.
        stream: &'static str,
        /// The destination asked for.
        destination: &'static str,
        /// Why it cannot be used.
        reason: &'static str,
    },

    /// The cgroup given with `Containment::CgroupUnder` cannot hold pp's cgroups.
    #[error("cannot create a cgroup under {path:?}: {reason}")]
    BadCgroup {
        /// The directory given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// No process with this id is tracked.
    #[error("unknown process id {id:?}")]
    UnknownProcess {
        /// The id that was looked up.
        id: String,
    },

    /// A process with this id is already tracked by the table.
    #[error("duplicate process id {id:?}: a process with this id is already tracked")]
    DuplicateProcessId {
        /// The id that is already in use.
        id: ProcessId,
    },

    /// The process ran longer than its timeout. Its whole process group was
    /// stopped (SIGTERM, the grace period, then SIGKILL) before this was returned.
    #[error("process {process_id:?} timed out after {limit:?}; its process group was stopped")]
    Timeout {
        /// The process that timed out.
        process_id: ProcessId,
        /// The timeout that was exceeded.
        limit: Duration,
        /// Everything the process wrote before it was stopped, and how it ended.
        output: Box<ProcessOutput>,
    },

    /// A file given as the destination of stdout or stderr could not be opened.
    #[error("cannot open output file {path:?}: {source}")]
    OutputFile {
        /// The file's path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },

    /// The OS refused to start the program for another reason.
    #[error("failed to start {program:?}: {source}")]
    Spawn {
        /// The program as given.
        program: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },

    /// An OS call made on the process's behalf failed.
    #[error("{what}: {source}")]
    Io {
        /// What pp-process was doing.
        what: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },

    /// The background thread that reaps processes has stopped; no process can
    /// be started or stopped through it any more.
    #[error("the pp-process reactor thread has stopped")]
    ReactorStopped,
}

/// `Result` with pp-process's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! Run, track and stop OS processes, whole process trees included.
//!
//! pp-process starts every command in a process group of its own and, where
//! it can create one, a cgroup v2 of its own, so a timeout or a terminate
//! reaches every descendant (those that leave the group too), and the call
//! returns in bounded time whatever they do with the pipes. It watches every
//! process from one background thread (epoll over pidfds and pipes), so a
//! thousand running processes cost one thread, not a thousand. Children die
//! with their program by default (`PR_SET_PDEATHSIG`).
//!
//! # Map
//! - [`Command`]: what to run (program and arguments, never a shell unless
//!   [`Command::shell`]), where ([`Command::cwd`], normalized), with what
//!   ([`Command::env`], [`Command::input`], descriptors handed over with
//!   [`Command::pass_fd`]), where output goes ([`Output`]), how long
//!   ([`Command::timeout`], [`Command::grace`]), under which [`ProcessId`],
//!   with a cap on captured bytes and an exit callback.
//! - Streams while it runs (see below): [`Input::Piped`] gives a
//!   [`StdinWriter`] ([`ProcessHandle::take_stdin`]), [`Output::Piped`] an
//!   [`OutputReader`] of [`Chunk`]s or lines ([`ProcessHandle::take_stdout`],
//!   [`ProcessHandle::take_stderr`]); [`Command::merge_stderr`]
//!   ([`Output::Stdout`]) sends stderr into stdout's stream.
//! - [`Command::run`] waits and returns a [`ProcessOutput`];
//!   [`Command::spawn`] returns a [`ProcessHandle`] at once (status, wait,
//!   terminate, kill).
//! - Containment: [`Containment`] (asked for) and [`Contained`] (in effect);
//!   [`Leftovers`] says what happens to descendants when the command exits
//!   first; [`Limit`]s and niceness; [`StoppedBy`] reports a limit that ended
//!   a process; [`become_subreaper`] for programs under an init that does not reap.
//! - [`ProcessTable`] tracks processes by id: [`ProcessInfo`] records with a
//!   [`ProcessStatus`], `list`, `cleanup`, `terminate_all`.
//! - [`Error`]: one enum for every failure, each naming the bad value.
//! - From async code: [`ProcessHandle::wait_async`] ([`WaitFuture`], also
//!   `handle.await`) and [`Command::run_async`] ([`RunFuture`]); see below.
//!   [`Command::kill_on_drop`] stops a process whose last handle is dropped.
//!
//! # Example
//! ```
//! use std::time::Duration;
//! use pp_process::{Command, Error};
//!
//! let out = Command::new("echo").arg("hello").run()?;
//! assert_eq!(out.stdout_str(), "hello\n");
//! assert_eq!(out.code, Some(0));
//!
//! // A timeout stops the child and everything it started.
//! let slow = Command::shell("sleep 30 & sleep 30").timeout(Duration::from_millis(200));
//! assert!(matches!(slow.run(), Err(Error::Timeout { .. })));
//! # Ok::<(), pp_process::Error>(())
//! ```
//!
//! # From async code
//! [`WaitFuture`] and [`RunFuture`] are plain [`std::future::Future`]s: they
//! work on any executor (tokio, async-std, `futures::executor::block_on`)
//! and pp-process depends on none. A pending wait costs no thread: the
//! reactor thread that watches every process wakes the waiting task, so a
//! thousand awaited processes on a single-threaded runtime add only pp's
//! few fixed threads. Dropping a future cancels the wait, nothing else.
//! A limit on the wait is the runtime's timer around the future (with
//! tokio: `tokio::time::timeout(limit, handle.wait_async())`); the process
//! then runs on, so stop it if it should not (or use [`Command::timeout`],
//! which stops the tree and gives [`Error::Timeout`]).
//!
//! ```
//! use pp_process::Command;
//!
//! let out = futures::executor::block_on(async {
//!     let handle = Command::new("echo").arg("hi").spawn()?;
//!     let waited = handle.wait_async().await?;
//!     assert_eq!(waited.stdout_str(), "hi\n");
//!     Command::new("echo").arg("again").run_async().await
//! })?;
//! assert_eq!(out.stdout_str(), "again\n");
//! # Ok::<(), pp_process::Error>(())
//! ```

//!
//! # Streams while a process runs
//! A piped stream is read (or written) by the caller straight from the
//! pipe, as the child writes (or reads) it: blocking, with a limit, without
//! waiting, or awaited on any executor (with the `tokio` feature the reader
//! is also a `tokio::io::AsyncRead` and the writer a `tokio::io::AsyncWrite`).
//! pp keeps none of it: the pipe's own buffer (64 KiB) is all that waits,
//! so a slow reader slows the child (back-pressure: its writes wait), memory
//! stays bounded and nothing is dropped; the reactor never reads these pipes,
//! so it never waits for a consumer. A reader dropped early closes its
//! pipe: the child's next write fails (`EPIPE`, or `SIGPIPE` ends it).
//! [`Command::max_output_bytes`] caps captured streams only. A blocking
//! [`Command::run`] or [`Command::run_async`] closes piped ends nobody can
//! take.
//!
//! ```
//! use std::io::Write;
//! use pp_process::{Chunk, Command, Input, Output};
//!
//! let cat = Command::new("cat").stdin(Input::Piped).stdout(Output::Piped).spawn()?;
//! let mut stdin = cat.take_stdin().expect("piped stdin");
//! let mut stdout = cat.take_stdout().expect("piped stdout");
//! stdin.write_all(b"ping\n")?;
//! assert_eq!(stdout.next_chunk()?, Chunk::Bytes(b"ping\n".to_vec()));
//! // The same from async code, on any executor.
//! futures::executor::block_on(async {
//!     stdin.write_all_async(b"pong\n").await?;
//!     assert_eq!(stdout.next_chunk_async().await?, Chunk::Bytes(b"pong\n".to_vec()));
//!     Ok::<(), std::io::Error>(())
//! })?;
//! drop(stdin); // cat reads end of file and exits
//! assert_eq!(stdout.next_chunk()?, Chunk::End);
//! assert_eq!(cat.wait()?.code, Some(0));
//!
//! // Line by line, stderr merged in the order written.
//! let sh = Command::shell("echo one; echo two >&2").stdout(Output::Piped).merge_stderr().spawn()?;
//! let lines: Vec<String> = sh.take_stdout().expect("piped").lines().collect::<Result<_, _>>()?;
//! assert_eq!(lines, ["one", "two"]);
//! sh.wait()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod background;
mod command;
mod error;
mod future;
mod handle;
mod id;
mod limits;
mod orphans;
mod reactor;
mod reader;
mod readiness;
mod shared;
mod spawner;
mod streams;
mod sys;
mod table;
mod text;
mod tree;
mod types;
mod writer;

pub use command::{Callback, Command, Input, Output, normalize_cwd};
pub use error::{Error, Result};
pub use future::{RunFuture, WaitFuture};
pub use handle::ProcessHandle;
pub use id::{ProcessId, ProcessIdError};
pub use limits::Limit;
pub use orphans::become_subreaper;
pub use reader::{Chunk, NextChunk, OutputReader};
pub use sys::cgroup::release_spare_cgroups;
pub use sys::thread_count;
pub use table::ProcessTable;
pub use types::{
    Contained, Containment, Leftovers, ProcessInfo, ProcessOutput, ProcessStatus, StoppedBy,
    TerminateOutcome,
};
pub use writer::{StdinWriter, WriteAll};

impl Command {
    /// Runs the command to completion and returns its output.
    ///
    /// A non-zero exit is not an error (check [`ProcessOutput::code`] or
    /// [`ProcessOutput::success`]);
    /// a timeout is [`Error::Timeout`], after the whole process group was stopped.
    ///
    /// The calling thread watches the process itself (no hand-off to the
    /// reactor thread), so this costs what `std::process::Command::output` does.
    pub fn run(&self) -> Result<ProcessOutput> {
        handle::spawn(self, self.process_id()?, handle::Driver::Here)?.into_output()
    }

    /// Starts the command and returns a handle at once.
    pub fn spawn(&self) -> Result<ProcessHandle> {
        handle::spawn(self, self.process_id()?, handle::Driver::Reactor)
    }
}

//! Thread pools and crash-safe process pools with task ids, results, timeouts and cancellation.
//!
//! # Map
//! - [`ThreadPool`]: closures on a fixed set of threads (crossbeam channels);
//!   a panic becomes [`TaskError::Panicked`] and the thread lives on; running
//!   tasks get a [`CancelToken`].
//! - [`ProcessPool`]: `fn(A) -> R` tasks in worker processes that are fresh
//!   copies of this program (exec, never a bare fork). [`init`] must be the
//!   first call in `main`. A worker that panics reports it and lives on; one
//!   that aborts, segfaults, exits or is killed fails only its own task
//!   ([`TaskError::WorkerDied`]) and is replaced. Workers are pp-process
//!   commands, contained like any (their own cgroup where pp can make one,
//!   else their process group): a cancel or a per-task timeout
//!   ([`TaskOptions`]) stops the worker's whole tree (SIGTERM, grace,
//!   SIGKILL) as soon as it happens (the pool is woken, it does not poll).
//!   Workers die with the pool's process, even if it is SIGKILLed (and not
//!   with the thread that created the pool).
//!   A worker talks only to the pool that started it, over an unnamed socket
//!   pair it inherits (nothing is named on the file system, so no other
//!   process can connect); it calls a function it is sent only if the pool
//!   sealed it with the worker's key and its address lies in this program's
//!   own code. Frames over 1 GiB or that do not decode are a [`FrameError`].
//! - [`TaskHandle`]: id ([`TaskId`]), [`TaskStatus`], `result(timeout)`, `cancel()`.
//! - Worker output ([`WorkerOutput`]): forwarded to ours (default),
//!   discarded, or captured per task ([`TaskHandle::captured_output`]).
//! - [`default_process_pool`], [`default_thread_pool`]: created on first use.
//! - Errors: [`TaskError`] (why a task has no value), [`PoolError`],
//!   [`TaskIdError`] (a text that is not a task id), [`FrameError`].
//!
//! # Using process pools from `cargo test`
//! Workers re-execute the current binary, whose `main` must call [`init`]
//! first. libtest's generated `main` does not, so give the integration test
//! its own `main`: in `Cargo.toml`, `[[test]] name = "it"`, `harness = false`,
//! and in the test file `fn main() { pp_pool::init(); /* run the tests */ }`
//! (pp-pool's own `tests/it/main.rs` is an example).
//!
//! # Example
//! ```no_run
//! use std::time::Duration;
//!
//! fn square(x: u64) -> u64 {
//!     x * x
//! }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     pp_pool::init();
//!     let pool = pp_pool::ProcessPool::new(2)?;
//!     let task = pool.submit(square, 12)?;
//!     assert_eq!(task.result_timeout(Duration::from_secs(10))?, 144);
//!     let closure = pool.submit(|s: String| s.len(), "four".to_owned())?;
//!     assert_eq!(closure.result()?, 4);
//!     Ok(())
//! }
//! ```

// reason: the examples are about what goes at the top of `main`.
#![allow(clippy::needless_doctest_main)]

mod error;
mod job;
mod options;
mod process_pool;
mod remote;
mod shared;
mod supervisor;
mod sys;
mod task;
mod thread_pool;
mod transport;
mod worker;
mod worker_process;

use std::sync::OnceLock;

pub use error::{PoolError, TaskError};
pub use options::{ProcessPoolOptions, TaskOptions, WorkerOutput};
pub use process_pool::ProcessPool;
pub use task::{CancelToken, CapturedOutput, TaskHandle, TaskId, TaskIdError, TaskStatus};
pub use thread_pool::{ThreadPool, default_thread_count};
pub use transport::FrameError;
pub use worker::{init, is_worker};

/// The process-wide process pool: one worker per CPU, started on first use.
pub fn default_process_pool() -> Result<&'static ProcessPool, PoolError> {
    static POOL: OnceLock<ProcessPool> = OnceLock::new();
    if let Some(pool) = POOL.get() {
        return Ok(pool);
    }
    let pool = ProcessPool::with_options(ProcessPoolOptions::default())?;
    Ok(POOL.get_or_init(|| pool))
}

/// The process-wide thread pool: [`default_thread_count`] threads, started on first use.
pub fn default_thread_pool() -> Result<&'static ThreadPool, PoolError> {
    static POOL: OnceLock<ThreadPool> = OnceLock::new();
    if let Some(pool) = POOL.get() {
        return Ok(pool);
    }
    let pool = ThreadPool::new(default_thread_count())?;
    Ok(POOL.get_or_init(|| pool))
}

//! Thread pools and crash-safe process pools with task ids, results, timeouts and cancellation.
//!
//! # Map
//! - [`ThreadPool`]: closures on a fixed set of threads (crossbeam channels);
//!   a panic becomes [`TaskErrorKind::Panicked`] and the thread lives on;
//!   running tasks get a [`CancelToken`].
//! - [`ProcessPool`]: `fn(A) -> R` tasks in worker processes that are fresh
//!   copies of this program (exec, never a bare fork). [`init`] must be the
//!   first call in `main` (in a libtest test binary: [`enable_test_support!`]).
//!   A worker that panics reports it and lives on; one
//!   that aborts, segfaults, exits or is killed fails only its own task
//!   ([`TaskErrorKind::WorkerDied`]) and is replaced. Workers are pp-process
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
//! - Ending a pool (both kinds): [`close`](ProcessPool::close) (no new
//!   tasks, the queue still runs; returns at once), [`abort`](ProcessPool::abort)
//!   (no new tasks, the queue is cancelled, running process tasks are
//!   stopped; returns at once), [`shutdown`](ProcessPool::shutdown) and
//!   [`shutdown_now`](ProcessPool::shutdown_now) (the same, then wait for
//!   the workers to exit). Dropping a thread pool is `shutdown`, a process
//!   pool `shutdown_now`.
//! - [`TaskHandle`]: id ([`TaskId`]), [`TaskStatus`], the result (`result`,
//!   `try_result`, `result_timeout`, `result_deadline`, and `take_result`
//!   in the same four forms), `cancel()`; from async code
//!   [`result_async`](TaskHandle::result_async) ([`ResultFuture`]),
//!   [`take_result_async`](TaskHandle::take_result_async) and `handle.await`
//!   ([`TakeResultFuture`]), on any executor (see "From async code").
//! - Worker output ([`WorkerOutput`]): forwarded to ours (default),
//!   discarded, or captured per task ([`TaskHandle::captured_output`]).
//! - Tasks as data ([`TaskFn`], [`encode`], [`decode`],
//!   [`ProcessPool::submit_encoded`]): for a layer that carries tasks
//!   further (pp-remote, to machines running the same executable).
//! - [`default_process_pool`], [`default_thread_pool`]: one worker per CPU,
//!   created on first use.
//! - Errors: [`TaskError`] (which task had no value, and the
//!   [`TaskErrorKind`] why), [`PoolError`], [`TaskIdError`] (a text that is
//!   not a task id), [`FrameError`].
//!
//! Source files: `id.rs` (task ids), `task.rs` (statuses, handles, a task's
//! shared cell), `task_future.rs` (the futures awaiting a task), `error.rs`, `thread_pool.rs`, `process_pool.rs` (pool,
//! supervisors), `launch.rs` (a worker's argv and environment), `worker.rs`
//! (the worker side, `init`), `remote.rs` (sealed function pointers), `encoded.rs` (tasks as data),
//! `transport.rs` (framed socket pair), `sys.rs` (descriptor inheritance),
//! `test_support.rs` ([`enable_test_support!`]), small helpers
//! `next_job.rs`, `panic_message.rs`, `shorten.rs`, and for unit tests only
//! `counting_allocator.rs`.
//!
//! # Using process pools from `cargo test`
//! Workers are fresh copies of the current executable; in a test binary that
//! is libtest's, whose `main` runs the tests. Write
//! `pp_pool::enable_test_support!();` once at the top of the test crate and
//! use pools from ordinary `#[test]` functions, under `cargo test` and
//! `cargo nextest` alike:
//!
//! ```no_run
//! // tests/pools.rs (default harness)
//! pp_pool::enable_test_support!();
//!
//! fn double(x: i32) -> i32 {
//!     x * 2
//! }
//!
//! #[test]
//! fn doubles_in_a_worker() {
//!     let pool = pp_pool::ProcessPool::new(2).unwrap();
//!     assert_eq!(pool.submit(double, 21).unwrap().result().unwrap(), 42);
//! }
//! ```
//!
//! The macro adds a hidden test, `__pp_pool_worker`; workers start this
//! binary with `--exact __pp_pool_worker --nocapture --test-threads=1`, so
//! libtest runs only that test, which turns the process into a worker (in
//! the tests' own process it does nothing). Workers' stdout is dropped unless
//! the tests run with `--nocapture` or `--show-output` (libtest cannot
//! capture another process's output). pp-pool's `tests/plain_test.rs` is an
//! example. A test binary with `harness = false` and a `main` that calls
//! [`init`] first also works, and is only needed for what libtest cannot do
//! (pp-pool's `tests/it` runs each test alone to count process-wide
//! descriptors and zombies).
//!
//! # From async code
//! A task's result is a future too, for any executor (std `Future` and
//! `Waker`; pp-pool depends on no runtime): `result_async()` clones the
//! value like `result()`, `take_result_async()` (or awaiting the handle)
//! moves it out like `take_result()`. Both pools' tasks work the same way.
//! A pending await costs no thread: the future leaves its waker in the
//! task's cell, and the task's end wakes it. There are no `_timeout` forms:
//! use the runtime's timer (`tokio::time::timeout`, `select!`).
//!
//! The futures are cancel-safe: dropping one before it is ready (a timeout
//! or `select!` that went the other way) removes its waker and nothing
//! else. The task keeps running, unless you [`cancel`](TaskHandle::cancel)
//! it, and its value stays for a later `result()` or await.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = pp_pool::ThreadPool::new(2)?;
//! let task = pool.submit(|| 6 * 7)?;
//! // Any executor: here the futures crate's, which blocks this thread.
//! let value = futures::executor::block_on(task.result_async())?;
//! assert_eq!(value, 42);
//! // Awaiting the handle itself takes the value out.
//! assert_eq!(futures::executor::block_on(async { task.await })?, 42);
//! # Ok(())
//! # }
//! ```
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

#[cfg(test)]
mod counting_allocator;
mod encoded;
mod error;
mod id;
mod job;
mod launch;
mod next_job;
mod options;
mod panic_message;
mod process_pool;
mod remote;
mod shared;
mod shorten;
mod supervisor;
mod sys;
mod task;
mod task_future;
mod test_support;
mod thread_pool;
mod transport;
mod worker;
mod worker_process;

use std::sync::OnceLock;

pub use encoded::{TaskFn, decode, encode};
pub use error::{PoolError, TaskError, TaskErrorKind};
pub use id::{TaskId, TaskIdError};
pub use options::{ProcessPoolOptions, TaskOptions, WorkerOutput};
pub use process_pool::ProcessPool;
pub use task::{CancelToken, CapturedOutput, TaskHandle, TaskStatus};
pub use task_future::{ResultFuture, TakeResultFuture};
#[doc(hidden)]
pub use test_support::register_test_worker as __register_test_worker;
pub use thread_pool::ThreadPool;
pub use transport::FrameError;
pub use worker::{init, is_worker};

/// The process-wide process pool: one worker per CPU, started on first use.
///
/// A static is never dropped, so a normal exit of the program (return from
/// `main`, `exit`) stops it as [`ProcessPool::shutdown_now`] would: its
/// workers are reaped, not left to `PR_SET_PDEATHSIG`.
pub fn default_process_pool() -> Result<&'static ProcessPool, PoolError> {
    static POOL: OnceLock<ProcessPool> = OnceLock::new();
    static CREATED_BY: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    extern "C" fn stop() {
        // Only in the process that made the pool: a forked copy exiting has
        // no supervisor threads to join. Never unwinds into the C runtime.
        if CREATED_BY.load(std::sync::atomic::Ordering::Relaxed) == std::process::id() {
            let _ = std::panic::catch_unwind(|| POOL.get().map(ProcessPool::shutdown_now));
        }
    }
    if let Some(pool) = POOL.get() {
        return Ok(pool);
    }
    let pool = ProcessPool::with_options(ProcessPoolOptions::default())?;
    let mut created = false;
    let pool = POOL.get_or_init(|| {
        created = true;
        pool
    });
    if created {
        CREATED_BY.store(std::process::id(), std::sync::atomic::Ordering::Relaxed);
        // After the pool made its workers: exit hooks run last-registered
        // first, so this one runs before pp-process's own, which would kill
        // the workers' cgroups while their supervisors still replace them.
        sys::at_exit(stop);
    }
    Ok(pool)
}

/// The process-wide thread pool: one thread per CPU
/// ([`std::thread::available_parallelism`]), started on first use.
pub fn default_thread_pool() -> Result<&'static ThreadPool, PoolError> {
    static POOL: OnceLock<ThreadPool> = OnceLock::new();
    if let Some(pool) = POOL.get() {
        return Ok(pool);
    }
    let pool = ThreadPool::new(std::thread::available_parallelism().map_or(1, |n| n.get()))?;
    Ok(POOL.get_or_init(|| pool))
}

//! The process pool's submit / result / cancel across machines, on NATS JetStream.
//!
//! A [`RemotePool`] publishes tasks; [`Worker`]s on any host that run the
//! *same program* (the same executable bytes) take them and run them in a
//! local [`pp_pool::ProcessPool`], so a task that segfaults fails that task
//! and not the worker host. Code moves from a local pool to a remote one by
//! changing the line that makes the pool:
//!
//! ```no_run
//! use std::time::Duration;
//! use pp_remote::{Key, RemoteOptions, RemotePool};
//!
//! fn square(x: u64) -> u64 {
//!     x * x
//! }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     pp_pool::init();
//!     pp_remote::init(); // this program is also its own worker
//!     let options = RemoteOptions::new(Key::from_env()?);
//!     let pool = RemotePool::connect("nats://127.0.0.1:4222", options)?;
//!     let task = pool.submit(square, 12)?;
//!     assert_eq!(task.result_timeout(Duration::from_secs(30))?, 144);
//!     Ok(())
//! }
//! ```
//!
//! Workers of that program: `PP_REMOTE_KEY=… ./program --pp-remote-worker
//! nats://server:4222 [local workers]` (see [`init`]), or [`Worker::run`].
//!
//! # Delivery
//! - **At-least-once execution.** A task is a message on a work-queue
//!   stream. A worker signals progress every third of `ack_wait` while the
//!   task runs and acknowledges it only after its outcome is stored; if the
//!   worker dies or hangs, the server delivers the task again after
//!   `ack_wait` (at most `max_deliver` times). So a task can run twice:
//!   tasks with side effects should be idempotent.
//! - **Effectively-once results.** Outcomes go into a key-value bucket
//!   under the task id with a create-only write: the first stored outcome
//!   wins, and a delivery that finds one acknowledges without running.
//!   Submitting the same id twice runs it once: while its message is
//!   queued or running the server refuses another (each task has its own
//!   subject), and after that the stored result makes a new one a no-op.
//! - **Limits.** `ack_wait` and `max_deliver` are the consumer's, fixed by
//!   the first worker of a program that creates it: later workers with other
//!   values signal by their own `ack_wait`. With `max_deliver` set (default:
//!   no limit), a task whose worker hosts died that many times gets no
//!   outcome and `result` waits for it.
//! - **Cancel.** A queued task's message is deleted and its outcome stored
//!   as `Cancelled`; a running one is stopped on its worker (its local
//!   pool's cancel: the whole process tree) and stored `Cancelled`.
//! - **Any process can follow a task** by its id ([`RemotePool::task`]):
//!   a restarted submitter too, while the results live (`result_ttl`).
//!
//! # Trust
//! Tasks name functions of the program by address, so workers run only
//! tasks signed with the shared [`Key`] (HMAC-SHA256) and addressed to
//! their program (SHA-256 of the executable, in the subject and in the
//! signed body); pp-pool then refuses addresses outside the program's code.
//! Anything else is terminated unrun (with a `Failed` outcome saying why,
//! under the id it claims: on a server where some may publish tasks but not
//! write results, that lets them pre-empt a task's result). Holding the key
//! means being able to run any task function of the program on the workers
//! with any argument: give it only to trusted submitters. Serve NATS on a
//! private network or with authentication. Stored outcomes are decoded as data:
//! a forged one can give a wrong value or [`RemoteError::CorruptOutcome`],
//! never make pp misbehave.
//!
//! # Map
//! - `pool.rs`: [`RemotePool`], [`RemoteTask`] (status, result, cancel).
//! - `worker.rs`: [`Worker`]; [`init`] (this file) runs one from argv.
//! - `bus.rs`: the stream, the workers' consumer and the buckets.
//! - `wire.rs`: the signed task message and the stored outcome.
//! - `client.rs`: the one thread that owns the async client (tokio,
//!   current-thread); the public API blocks, each call with a deadline.
//! - `key.rs` ([`Key`]), `program.rs` (the program's content hash),
//!   `options.rs` ([`RemoteOptions`], [`RemoteTaskOptions`]), `error.rs`
//!   ([`RemoteError`]).

mod bus;
mod client;
mod error;
mod key;
mod options;
mod pool;
mod program;
mod wire;
mod worker;

pub use error::RemoteError;
pub use key::{KEY_ENV, Key};
pub use options::{RemoteOptions, RemoteTaskOptions};
pub use pool::{RemotePool, RemoteTask};
pub use pp_pool::TaskStatus;
pub use worker::Worker;

/// The argument that makes [`init`] run this program as a worker.
pub const WORKER_FLAG: &str = "--pp-remote-worker";

/// If this process was started as `program --pp-remote-worker URL
/// [LOCAL_WORKERS]` (key in `PP_REMOTE_KEY`), runs a [`Worker`] and exits
/// the process (code 1 after printing why it could not start); otherwise
/// returns at once. Call it right after [`pp_pool::init`] in `main`.
pub fn init() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some(WORKER_FLAG) {
        return;
    }
    let code = match run_from_args(&args[1..]) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("pp-remote worker: {e}");
            1
        }
    };
    std::process::exit(code);
}

fn run_from_args(args: &[String]) -> Result<(), String> {
    let url = args.first().ok_or(format!("usage: program {WORKER_FLAG} URL [LOCAL_WORKERS]"))?;
    let local_workers = match args.get(1) {
        Some(n) => n.parse().map_err(|_| format!("{n:?} is not a number of local workers"))?,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let options = RemoteOptions::new(Key::from_env().map_err(|e| e.to_string())?);
    Worker::run(url, options, local_workers).map_err(|e| e.to_string())
}

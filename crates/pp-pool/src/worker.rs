//! The worker side: `init()` turns a re-executed copy of the program into a
//! pool worker before `main` does anything else (or, in a libtest binary,
//! from the hidden test `enable_test_support!` defines).
//!
//! A worker trusts nothing it did not check: `PP_POOL_WORKER` must name an
//! inherited descriptor that is a Unix stream socket made by our parent (the
//! pool), the pool's first frame must be a hello with the same executable
//! identity as ours, and every function it is sent passes a [`Gate`] (tag
//! under the pool's key, both offsets inside our code: see `remote.rs`).
//! Anything else ends the worker with a typed reason on stderr; a process
//! given `PP_POOL_WORKER` by hand exits at once (code 70) instead of
//! connecting anywhere or waiting.

use std::os::unix::net::UnixStream;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::remote::{Closed, Forgery, Gate, Identity, Key, Sealed, WireOutcome};
use crate::shorten::{SHOWN, shorten};
use crate::task::CapturedOutput;
use crate::transport::{Channel, FrameError};

/// Set in a worker's environment: the descriptor number of its end of the
/// socket pair to its pool.
pub(crate) const WORKER_ENV: &str = "PP_POOL_WORKER";
/// Set in a worker's environment: the pool's pid, to notice a parent that died before we started.
pub(crate) const PARENT_ENV: &str = "PP_POOL_PARENT";
/// How long a new worker waits for the pool's hello (and the pool for its answer).
pub(crate) const HANDSHAKE: Duration = Duration::from_secs(30);

/// Pool to worker. The hello is always the first frame.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToWorker {
    Hello { key: Key, identity: Identity, initializer: Option<Sealed>, capture: bool },
    Task { function: Sealed, arg: Vec<u8> },
    Exit,
}

/// Worker to pool.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum FromWorker {
    Ready,
    Refused {
        reason: String,
    },
    /// A task's outcome, and what it printed when output is captured per task.
    Done(WireOutcome, Option<CapturedOutput>),
}

/// Why a worker stopped (printed on its stderr before it exits with code 70).
#[derive(Debug, thiserror::Error)]
enum WorkerError {
    #[error(
        "{WORKER_ENV} is {value:?}, but this process was not started by a pp-pool process pool: {reason}"
    )]
    NotStartedByPool { value: String, reason: String },
    #[error("talking to the pool: {0}")]
    Frame(#[from] FrameError),
    #[error("the pool's first message was not a hello")]
    NoHello,
    #[error("the pool said hello twice")]
    SecondHello,
    #[error(transparent)]
    Gate(#[from] Closed),
    #[error("refused a function from the pool: {0}")]
    Forged(#[from] Forgery),
    #[error("the initializer panicked: {0}")]
    InitializerPanicked(String),
    #[error("cannot capture output: {0}")]
    Capture(std::io::Error),
}

/// Turns this process into a pool worker if it was started as one; returns
/// at once otherwise. Call it first thing in `main` (code before it runs in
/// every worker too). In a test binary with libtest's `main`,
/// [`enable_test_support!`](crate::enable_test_support) calls it from a
/// hidden test instead.
///
/// ```no_run
/// fn main() {
///     pp_pool::init();
///     // … the program, which may create process pools.
/// }
/// ```
pub fn init() {
    let Some(value) = std::env::var_os(WORKER_ENV) else { return };
    let code = match run(&value.to_string_lossy()) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("pp-pool worker {}: {e}", std::process::id());
            70 // EX_SOFTWARE
        }
    };
    std::process::exit(code);
}

/// Whether this process is a pool worker.
pub fn is_worker() -> bool {
    std::env::var_os(WORKER_ENV).is_some()
}

/// The channel to the pool this process was started by, checked.
fn connect(value: &str) -> Result<Channel, WorkerError> {
    let refuse =
        |reason: String| WorkerError::NotStartedByPool { value: shorten(value, SHOWN), reason };
    // A descriptor number, in canonical decimal.
    let fd: i32 = match value.parse() {
        Ok(fd) if value.bytes().all(|b| b.is_ascii_digit()) => fd,
        _ => return Err(refuse("it is not a descriptor number".into())),
    };
    // Die with the pool, even if it is SIGKILLed; then check it was not gone already.
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .map_err(|e| refuse(format!("cannot set the parent-death signal: {e}")))?;
    let parent = rustix::process::getppid().map_or(0, |p| p.as_raw_pid());
    let named = std::env::var(PARENT_ENV).ok();
    if named.as_deref().and_then(|p| p.parse::<i32>().ok()) != Some(parent) {
        return Err(refuse(format!(
            "{PARENT_ENV} is {:?}, not our parent's pid {parent} (or the pool is gone)",
            named.as_deref().map(|p| shorten(p, SHOWN))
        )));
    }
    let socket = crate::sys::adopt_inherited_socket(fd).map_err(refuse)?;
    let domain = rustix::net::sockopt::socket_domain(&socket);
    let kind = rustix::net::sockopt::socket_type(&socket);
    if domain != Ok(rustix::net::AddressFamily::UNIX) || kind != Ok(rustix::net::SocketType::STREAM)
    {
        return Err(refuse(format!("descriptor {fd} is not a Unix stream socket")));
    }
    let creator = rustix::net::sockopt::socket_peercred(&socket)
        .map_err(|e| refuse(format!("cannot read the credentials of descriptor {fd}: {e}")))?;
    if creator.pid.as_raw_nonzero().get() != parent || creator.uid != rustix::process::geteuid() {
        return Err(refuse(format!(
            "descriptor {fd} was made by pid {} (uid {}), not by our parent {parent}",
            creator.pid.as_raw_nonzero(),
            creator.uid.as_raw()
        )));
    }
    Ok(Channel::new(UnixStream::from(socket)))
}

fn run(value: &str) -> Result<(), WorkerError> {
    let mut channel = connect(value)?;
    let ToWorker::Hello { key, identity, initializer, capture } =
        channel.recv::<ToWorker>(Some(HANDSHAKE))?
    else {
        return Err(WorkerError::NoHello);
    };
    let refuse = |channel: &mut Channel, error: WorkerError| {
        let _ = channel.send(&FromWorker::Refused { reason: error.to_string() });
        error
    };
    let mut gate = match Gate::open(key, &identity) {
        Ok(gate) => gate,
        Err(e) => return Err(refuse(&mut channel, e.into())),
    };
    if let Some(initializer) = initializer {
        match gate.run(initializer, &[]) {
            Ok(WireOutcome::Panicked(message)) => {
                return Err(refuse(&mut channel, WorkerError::InitializerPanicked(message)));
            }
            Ok(_) => {}
            Err(forged) => return Err(refuse(&mut channel, forged.into())),
        }
    }
    let mut capture =
        if capture { Some(Capture::new().map_err(WorkerError::Capture)?) } else { None };
    channel.send(&FromWorker::Ready)?;
    loop {
        let message = match channel.recv::<ToWorker>(None) {
            Ok(message) => message,
            // The pool closed the connection: it shut down or died. Leave quietly.
            Err(FrameError::Closed) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let reply = match serve(&mut gate, &mut capture, message) {
            Ok(Some(reply)) => reply,
            Ok(None) => return Ok(()),
            Err(e) => return Err(refuse(&mut channel, e)),
        };
        match channel.send(&reply) {
            Ok(()) => {}
            Err(FrameError::Closed) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Handles one message after the hello: the reply to send, or `None` to exit.
fn serve(
    gate: &mut Gate,
    capture: &mut Option<Capture>,
    message: ToWorker,
) -> Result<Option<FromWorker>, WorkerError> {
    match message {
        ToWorker::Task { function, arg } => {
            if let Some(capture) = capture {
                capture.begin().map_err(WorkerError::Capture)?;
            }
            let outcome = gate.run(function, &arg);
            flush_output();
            let captured = match capture {
                Some(capture) => Some(capture.end().map_err(WorkerError::Capture)?),
                None => None,
            };
            Ok(Some(FromWorker::Done(outcome?, captured)))
        }
        ToWorker::Exit => Ok(None),
        ToWorker::Hello { .. } => Err(WorkerError::SecondHello),
    }
}

/// Per-task capture: stdout and stderr point at two memory files while a task
/// runs (files, not pipes, so a task printing a lot never blocks on us).
struct Capture {
    stdout: std::fs::File,
    stderr: std::fs::File,
    saved_stdout: std::os::fd::OwnedFd,
    saved_stderr: std::os::fd::OwnedFd,
}

impl Capture {
    fn new() -> std::io::Result<Capture> {
        use std::os::fd::AsFd;
        let memfd = |name| {
            rustix::fs::memfd_create(name, rustix::fs::MemfdFlags::CLOEXEC).map(std::fs::File::from)
        };
        Ok(Capture {
            stdout: memfd("pp-task-stdout")?,
            stderr: memfd("pp-task-stderr")?,
            saved_stdout: std::io::stdout().as_fd().try_clone_to_owned()?,
            saved_stderr: std::io::stderr().as_fd().try_clone_to_owned()?,
        })
    }

    fn begin(&mut self) -> std::io::Result<()> {
        use std::io::Seek;
        for file in [&mut self.stdout, &mut self.stderr] {
            file.set_len(0)?;
            file.rewind()?;
        }
        rustix::stdio::dup2_stdout(&self.stdout)?;
        rustix::stdio::dup2_stderr(&self.stderr)?;
        Ok(())
    }

    fn end(&mut self) -> std::io::Result<CapturedOutput> {
        use std::io::{Read, Seek};
        rustix::stdio::dup2_stdout(&self.saved_stdout)?;
        rustix::stdio::dup2_stderr(&self.saved_stderr)?;
        let mut captured = CapturedOutput::default();
        for (file, buf) in
            [(&mut self.stdout, &mut captured.stdout), (&mut self.stderr, &mut captured.stderr)]
        {
            file.rewind()?;
            file.read_to_end(buf)?;
        }
        Ok(captured)
    }
}

/// Pushes what the task printed to the pool's streams before its result.
fn flush_output() {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::remote::RemoteFn;

    static CALLS: AtomicU32 = AtomicU32::new(0);

    fn count(add: u32) -> u32 {
        CALLS.fetch_add(add, Ordering::SeqCst) + add
    }

    fn task(function: Sealed, arg: u32) -> ToWorker {
        ToWorker::Task { function, arg: postcard::to_allocvec(&arg).unwrap() }
    }

    /// A Task frame whose offsets were not sealed by the pool, or point
    /// outside our code, is refused with a typed error, and nothing is called.
    #[test]
    fn a_forged_frame_cannot_call_an_arbitrary_address() {
        let key = Key::random().unwrap();
        let mut gate = Gate::open(key.clone(), &Identity::of_this_process().unwrap()).unwrap();
        let mut capture = None;
        let real = RemoteFn::new(count);
        let before = CALLS.load(Ordering::SeqCst);

        // The pool's own first frame runs (a control: the gate is not shut to everything).
        let reply = serve(&mut gate, &mut capture, task(key.seal(0, real), 1)).unwrap();
        assert!(matches!(reply, Some(FromWorker::Done(WireOutcome::Value(_), None))));
        assert_eq!(CALLS.load(Ordering::SeqCst), before + 1);

        let heap = Box::new(0u64);
        let stack = 0u64;
        let anywhere = [
            i64::MAX,
            i64::MIN,
            real.func.wrapping_add(1 << 40),
            crate::remote::offset_of(&*heap as *const u64 as usize),
            crate::remote::offset_of(&stack as *const u64 as usize),
        ];
        let forged = |function: RemoteFn, seq: u64| -> Vec<Sealed> {
            vec![
                // Someone without the key: a made-up tag, or a tag of other offsets.
                Sealed { function, tag: 0 },
                Sealed {
                    function,
                    tag: key
                        .seal(seq, RemoteFn { trampoline: function.trampoline ^ 1, ..function })
                        .tag,
                },
                // A replay of the first (valid) frame.
                key.seal(0, function),
                // Sealed under another key.
                Key::random().unwrap().seal(seq, function),
            ]
        };
        for sealed in forged(real, 1) {
            let err = serve(&mut gate, &mut capture, task(sealed, 1000)).unwrap_err();
            assert!(matches!(err, WorkerError::Forged(Forgery::BadTag { seq: 1, .. })), "{err}");
        }
        for offset in anywhere {
            for function in [
                RemoteFn { trampoline: offset, func: real.func },
                RemoteFn { trampoline: real.trampoline, func: offset },
            ] {
                for sealed in forged(function, 1) {
                    let err = serve(&mut gate, &mut capture, task(sealed, 1000)).unwrap_err();
                    assert!(matches!(err, WorkerError::Forged(Forgery::BadTag { .. })), "{err}");
                }
                // Even correctly sealed (a pool bug, say), an address outside
                // our code is refused before any call.
                let err =
                    serve(&mut gate, &mut capture, task(key.seal(1, function), 1000)).unwrap_err();
                assert!(
                    matches!(err, WorkerError::Forged(Forgery::OutsideText { .. })),
                    "offset {offset:#x}: {err}"
                );
                assert!(err.to_string().contains("outside this executable's code"), "{err}");
            }
        }
        assert_eq!(CALLS.load(Ordering::SeqCst), before + 1, "a forged frame called something");

        // The gate still takes the pool's next frame, in sequence.
        let reply = serve(&mut gate, &mut capture, task(key.seal(1, real), 1)).unwrap();
        assert!(matches!(reply, Some(FromWorker::Done(WireOutcome::Value(_), None))));
        assert_eq!(CALLS.load(Ordering::SeqCst), before + 2);
    }

    #[test]
    fn a_gate_opens_only_for_our_identity() {
        let ours = Identity::of_this_process().unwrap();
        let mut other = ours.clone();
        other.set_probe_for_test(12345);
        let err = Gate::open(Key::random().unwrap(), &other).unwrap_err();
        assert!(matches!(err, Closed::NotSameBinary(_)), "{err}");
    }
}

//! The worker side: `init()` turns a re-executed copy of the program into a
//! pool worker before `main` does anything else.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::remote::{Identity, RemoteFn, WireOutcome};
use crate::task::CapturedOutput;

/// Set in a worker's environment: the id of the pipe to its pool.
pub(crate) const WORKER_ENV: &str = "PP_POOL_WORKER";
/// Set in a worker's environment: the pool's pid, to notice a parent that died before we started.
pub(crate) const PARENT_ENV: &str = "PP_POOL_PARENT";
/// The largest message between pool and worker (arguments and results).
pub(crate) const MAX_MESSAGE: usize = 1 << 30;

/// Pool to worker.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToWorker {
    Hello { identity: Identity, initializer: Option<RemoteFn>, capture: bool },
    Task { function: RemoteFn, arg: Vec<u8> },
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

/// Turns this process into a pool worker if it was started as one; returns
/// at once otherwise. Call it first thing in `main` (code before it runs in
/// every worker too).
///
/// ```no_run
/// fn main() {
///     pp_pool::init();
///     // … the program, which may create process pools.
/// }
/// ```
pub fn init() {
    let Some(pipe) = std::env::var_os(WORKER_ENV) else { return };
    let code = match run(&pipe.to_string_lossy()) {
        Ok(()) => 0,
        Err(reason) => {
            eprintln!("pp-pool worker {}: {reason}", std::process::id());
            70 // EX_SOFTWARE
        }
    };
    std::process::exit(code);
}

/// Whether this process is a pool worker.
pub fn is_worker() -> bool {
    std::env::var_os(WORKER_ENV).is_some()
}

fn run(pipe_id: &str) -> Result<(), String> {
    // Die with the pool, even if it is SIGKILLed; then check it was not gone already.
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .map_err(|e| format!("cannot set the parent-death signal: {e}"))?;
    let parent = std::env::var(PARENT_ENV).ok().and_then(|p| p.parse::<i32>().ok());
    if rustix::process::getppid().map(|p| p.as_raw_pid()) != parent {
        return Err("the pool process is gone".into());
    }
    let id: pp_ipc::ObjectId = pipe_id.parse().map_err(|e| format!("bad pipe id: {e}"))?;
    let mut pipe = pp_ipc::Pipe::connect(&id).map_err(|e| e.to_string())?;
    pipe.set_max_message(MAX_MESSAGE);
    let forever = Duration::from_secs(u32::MAX as u64);
    let recv = |pipe: &mut pp_ipc::Pipe| -> Result<Option<ToWorker>, String> {
        match pipe.recv_item::<ToWorker>(forever) {
            Ok(message) => Ok(Some(message)),
            // The pool closed the pipe: it shut down or died. Leave quietly.
            Err(pp_ipc::Error::Closed { .. }) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    };
    let Some(ToWorker::Hello { identity, initializer, capture }) = recv(&mut pipe)? else {
        return Err("the pool did not say hello".into());
    };
    let ours = Identity::of_this_process().map_err(|e| e.to_string())?;
    if ours != identity {
        let reason = identity.difference(&ours);
        let _ = pipe.send_item(&FromWorker::Refused { reason: reason.clone() });
        return Err(format!("not the pool's binary: {reason}"));
    }
    if let Some(initializer) = initializer {
        // SAFETY: the identity check above proved we run the pool's executable.
        if let WireOutcome::Panicked(message) = unsafe { initializer.call(&[]) } {
            let _ = pipe.send_item(&FromWorker::Refused {
                reason: format!("the initializer panicked: {message}"),
            });
            return Err(format!("the initializer panicked: {message}"));
        }
    }
    let mut capture = if capture {
        Some(Capture::new().map_err(|e| format!("cannot capture output: {e}"))?)
    } else {
        None
    };
    pipe.send_item(&FromWorker::Ready).map_err(|e| e.to_string())?;
    while let Some(message) = recv(&mut pipe)? {
        match message {
            ToWorker::Task { function, arg } => {
                if let Some(capture) = &mut capture {
                    capture.begin().map_err(|e| format!("cannot capture output: {e}"))?;
                }
                // SAFETY: as above, same executable.
                let outcome = unsafe { function.call(&arg) };
                flush_output();
                let captured = match &mut capture {
                    Some(capture) => {
                        Some(capture.end().map_err(|e| format!("cannot capture output: {e}"))?)
                    }
                    None => None,
                };
                match pipe.send_item(&FromWorker::Done(outcome, captured)) {
                    Ok(()) => {}
                    Err(pp_ipc::Error::Closed { .. }) => return Ok(()),
                    Err(e) => return Err(e.to_string()),
                }
            }
            ToWorker::Exit => return Ok(()),
            ToWorker::Hello { .. } => return Err("a second hello".into()),
        }
    }
    Ok(())
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

//! Starting a process and the handle to it: status, wait, terminate, kill.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::command::{Command, Input, Output};
use crate::error::{Error, Result};
use crate::id::ProcessId;
use crate::limits::Limit;
use crate::reactor::{Inbox, Mailbox, Proc, drive_here, reactor};
use crate::reader::OutputReader;
use crate::shared::{Shared, State};
use crate::spawner;
use crate::streams::CallerPipes;
use crate::sys::spawn::Child;
use crate::sys::{self, child::ChildSetup};
use crate::tree::Tree;
use crate::types::{Contained, ProcessInfo, ProcessOutput, ProcessStatus, TerminateOutcome};
use crate::writer::StdinWriter;

/// A handle to a started process. Clones refer to the same process.
///
/// Dropping handles does not stop the process (unless it was started with
/// [`Command::kill_on_drop`]); the reactor still reaps it.
#[derive(Clone, Debug)]
pub struct ProcessHandle {
    pub(crate) shared: Arc<Shared>,
    /// The mailbox of the local event loop watching it, when not the reactor.
    local: Option<Arc<Mailbox>>,
    /// Shared by every clone: stops the process when the last one is dropped
    /// (only with [`Command::kill_on_drop`]).
    _stop_on_last_drop: Option<Arc<StopOnLastDrop>>,
    /// The piped streams' ends, until the caller takes them.
    pub(crate) pipes: Arc<CallerPipes>,
}

/// Stops its process's tree when dropped, if it still runs: what
/// [`Command::kill_on_drop`] puts in every clone of a handle.
#[derive(Debug)]
struct StopOnLastDrop {
    shared: Arc<Shared>,
    local: Option<Arc<Mailbox>>,
}

impl Drop for StopOnLastDrop {
    fn drop(&mut self) {
        // Only asks the event loop (SIGTERM, grace, SIGKILL, reap happen
        // there): the dropping thread may be an async runtime's.
        if let Err(e) = ask_to_stop(&self.shared, self.local.as_deref(), self.shared.grace) {
            tracing::warn!(process_id = %self.shared.id, error = %e, "could not stop a process whose last handle was dropped");
        }
    }
}

/// Asks the event loop watching the process to stop it; does not wait.
fn ask_to_stop(shared: &Shared, local: Option<&Mailbox>, grace: Duration) -> Result<()> {
    if shared.lock().status.is_finished() {
        return Ok(());
    }
    match local {
        // A closed local mailbox means its loop has just finished the process.
        Some(mailbox) => drop(mailbox.stop(shared.key, grace)),
        None => reactor()?.stop(shared.key, grace)?,
    }
    Ok(())
}

impl ProcessHandle {
    /// pp's id of the process.
    pub fn id(&self) -> &ProcessId {
        &self.shared.id
    }

    /// The OS process id (also the id of its process group); `None` if it failed to start.
    pub fn pid(&self) -> Option<u32> {
        self.shared.pid
    }

    /// What contains the process's tree, and so what its stops reach: its
    /// own cgroup (every descendant) or its process group.
    pub fn containment(&self) -> &Contained {
        &self.shared.contained
    }

    /// Current status, without blocking.
    pub fn status(&self) -> ProcessStatus {
        self.shared.lock().status
    }

    /// The table record: status, times, exit code.
    pub fn info(&self) -> ProcessInfo {
        self.shared.info()
    }

    /// The output once the process has finished, `None` while it runs.
    pub fn output(&self) -> Option<Arc<ProcessOutput>> {
        self.shared.lock().output.clone()
    }

    /// Waits until the process has finished and its pipes are drained.
    ///
    /// A process stopped by its timeout gives [`Error::Timeout`] with the output so far.
    /// A piped stdin nobody took ([`take_stdin`](Self::take_stdin)) is
    /// closed first, as std's `Child::wait` does: the child reads end of file
    /// instead of waiting for input forever. (`wait_timeout` and
    /// `wait_deadline` leave it open, to be taken after they give up.)
    pub fn wait(&self) -> Result<Arc<ProcessOutput>> {
        self.pipes.close_untaken_stdin();
        let state = self.shared.wait_finished();
        self.result_of(&state)
    }

    /// The output if the process has finished, `Ok(None)` while it runs
    /// (the form of [`wait`](Self::wait) that does not wait).
    pub fn try_wait(&self) -> Result<Option<Arc<ProcessOutput>>> {
        let state = self.shared.lock();
        if !state.status.is_finished() {
            return Ok(None);
        }
        self.result_of(&state).map(Some)
    }

    /// Like [`wait`](Self::wait), giving up after `limit`: `Ok(None)` if still running.
    /// A limit too large to add to a clock reading waits as long as it takes.
    pub fn wait_timeout(&self, limit: Duration) -> Result<Option<Arc<ProcessOutput>>> {
        match Instant::now().checked_add(limit) {
            Some(deadline) => self.wait_deadline(deadline),
            None => self.wait().map(Some),
        }
    }

    /// Like [`wait`](Self::wait), giving up at `deadline`: `Ok(None)` if still running.
    pub fn wait_deadline(&self, deadline: Instant) -> Result<Option<Arc<ProcessOutput>>> {
        match self.shared.wait_finished_until(deadline) {
            Some(state) => self.result_of(&state).map(Some),
            None => Ok(None),
        }
    }

    pub(crate) fn result_of(&self, state: &State) -> Result<Arc<ProcessOutput>> {
        // Only a FailedToStart record (or one whose output `run` took) has none.
        let output = state
            .output
            .clone()
            .ok_or_else(|| Error::UnknownProcess { id: self.shared.id.to_string() })?;
        if output.status == ProcessStatus::TimedOut {
            return Err(Error::Timeout {
                process_id: self.shared.id.clone(),
                limit: self.shared.timeout.unwrap_or_default(),
                output: Box::new((*output).clone()),
            });
        }
        Ok(output)
    }

    /// Stops the whole process tree: SIGTERM to its process group, the
    /// command's grace period, then SIGKILL. Blocks until it is reaped.
    pub fn terminate(&self) -> Result<TerminateOutcome> {
        self.terminate_with_grace(self.shared.grace)
    }

    /// [`terminate`](Self::terminate) with an explicit grace period.
    pub fn terminate_with_grace(&self, grace: Duration) -> Result<TerminateOutcome> {
        self.request_stop(grace)?;
        Ok(self.stop_outcome())
    }

    /// Asks the reactor to stop the process; does not wait.
    pub(crate) fn request_stop(&self, grace: Duration) -> Result<()> {
        ask_to_stop(&self.shared, self.local.as_deref(), grace)
    }

    /// Waits until the process has finished and says how it ended.
    pub(crate) fn stop_outcome(&self) -> TerminateOutcome {
        let state = self.shared.wait_finished();
        match state.status {
            ProcessStatus::Completed | ProcessStatus::FailedToStart => {
                TerminateOutcome::ExitedByItself
            }
            _ if state.forced => TerminateOutcome::Killed,
            _ => TerminateOutcome::Terminated,
        }
    }

    /// Kills the whole process group with SIGKILL at once. Blocks until it is reaped.
    pub fn kill(&self) -> Result<TerminateOutcome> {
        self.terminate_with_grace(Duration::ZERO)
    }

    /// The writer of the child's stdin, when the command chose
    /// [`Input::Piped`](crate::Input::Piped); `None` otherwise or once
    /// taken (by this handle or a clone). Dropping the writer closes the
    /// child's stdin.
    pub fn take_stdin(&self) -> Option<StdinWriter> {
        self.pipes.take_stdin()
    }

    /// The reader of the child's stdout as it is written, when the command
    /// chose [`Output::Piped`](crate::Output::Piped) for it (with
    /// [`Command::merge_stderr`](crate::Command::merge_stderr), stderr comes
    /// here too); `None` otherwise or once taken.
    pub fn take_stdout(&self) -> Option<OutputReader> {
        self.pipes.take_stdout()
    }

    /// The reader of the child's stderr as it is written, when the command
    /// chose [`Output::Piped`](crate::Output::Piped) for it; `None`
    /// otherwise or once taken.
    pub fn take_stderr(&self) -> Option<OutputReader> {
        self.pipes.take_stderr()
    }

    /// Takes the output out of a finished process, cloning only if another
    /// handle holds it too.
    pub(crate) fn into_output(self) -> Result<ProcessOutput> {
        let state = self.shared.wait_finished();
        let result = self.result_of(&state);
        drop(state);
        let output = result?;
        self.shared.lock().output = None;
        Ok(Arc::try_unwrap(output).unwrap_or_else(|shared| (*shared).clone()))
    }
}

/// Who watches a started process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Driver {
    /// The reactor thread: the handle returns at once and can stop it.
    Reactor,
    /// The calling thread, until the process has finished.
    Here,
}

/// Starts `cmd` with process id `id`, watched by `driver`; returns once
/// `driver` is done with it.
pub(crate) fn spawn(cmd: &Command, id: ProcessId, driver: Driver) -> Result<ProcessHandle> {
    let (handle, local) = start(cmd, id, driver)?;
    if let Some((proc, inbox)) = local {
        drive_here(proc, inbox)?;
    }
    Ok(handle)
}

/// A process started for the calling thread to drive, with its inbox.
pub(crate) type Local = Option<(Proc, Inbox)>;

/// Starts `cmd` with process id `id`. With [`Driver::Reactor`] it is handed
/// to the reactor; with [`Driver::Here`] the caller must pass the returned
/// process to [`drive_here`].
pub(crate) fn start(
    cmd: &Command,
    id: ProcessId,
    driver: Driver,
) -> Result<(ProcessHandle, Local)> {
    cmd.validate()?;
    let reactor = match driver {
        Driver::Reactor => Some(reactor()?),
        Driver::Here => None,
    };
    let (mailbox, inbox) = match driver {
        Driver::Reactor => (None, None),
        Driver::Here => {
            let (mailbox, inbox) = Mailbox::new()
                .map_err(|source| Error::Io { what: "creating an event loop's mailbox", source })?;
            (Some(mailbox), Some(inbox))
        }
    };
    let tree = Tree::prepare(cmd)?;
    let started_at = SystemTime::now();
    let started = Instant::now();
    // A reactor-driven child may outlive the calling thread: start it from
    // one that lives as long as the process, or its parent-death signal
    // would fire when this thread ends.
    let outlive_this_thread = cmd.die_with_parent && driver == Driver::Reactor;
    let spawning = crate::orphans::spawning();
    let Launched { mut child, pidfd, ends: [stdin, stdout, stderr] } =
        launch(cmd, &tree, outlive_this_thread)?;
    let pid = child.id();
    crate::orphans::started(pid);
    drop(spawning);
    let setup = || -> std::io::Result<_> {
        let pidfd = match pidfd {
            Some(pidfd) => pidfd,
            None => sys::pidfd_open(pid)?,
        };
        let stdin = stdin.map(nonblocking).transpose()?;
        let stdout = stdout.map(nonblocking).transpose()?;
        let stderr = stderr.map(nonblocking).transpose()?;
        Ok((pidfd, stdin, stdout, stderr))
    };
    let (pidfd, stdin, stdout, stderr) = match setup() {
        Ok(parts) => parts,
        Err(source) => {
            // Not yet tracked by anyone: stop and reap it here so it cannot leak.
            let _ = sys::signal_group(pid, true);
            let _ = child.wait();
            return Err(Error::Io { what: "setting up the child's pidfd and pipes", source });
        }
    };
    let shared = Arc::new(Shared {
        id,
        pid: Some(pid),
        command: cmd.argv_lossy(),
        started_at,
        started,
        timeout: cmd.timeout,
        grace: cmd.grace,
        leftovers: cmd.leftovers,
        contained: tree.contained(),
        cpu_limited: cmd.limits.iter().any(|l| matches!(l, Limit::CpuTime(_))),
        memory_limited: cmd.limits.iter().any(|l| matches!(l, Limit::Memory(_))),
        // A local event loop watches only this process: any key will do.
        key: reactor.map_or(1, |r| r.next_key()),
        state: Mutex::new(State::running()),
        finished: Condvar::new(),
    });
    tracing::debug!(process_id = %shared.id, pid, command = ?shared.command, "process started");
    // Piped ends go to the caller; captured ones and stdin bytes to the event loop.
    let (stdin, caller_stdin) = match (&cmd.stdin, stdin) {
        (Input::Bytes(bytes), Some(pipe)) => (Some((pipe, bytes.clone())), None),
        (_, pipe) => (None, pipe),
    };
    let (stdout, caller_stdout) = route(&cmd.stdout, stdout);
    let (stderr, caller_stderr) = route(&cmd.stderr, stderr);
    let pipes = Arc::new(CallerPipes::new(caller_stdin, caller_stdout, caller_stderr));
    if driver == Driver::Here {
        // This thread drives the process until it ends: nobody can take them.
        pipes.close();
    }
    let proc = Proc::new(
        shared.clone(),
        child,
        pidfd,
        stdin,
        stdout,
        stderr,
        cmd.max_output.unwrap_or(usize::MAX),
        cmd.on_exit.clone(),
        tree,
    );
    let local = mailbox.map(Arc::new);
    let stop_on_last_drop = cmd
        .kill_on_drop
        .then(|| Arc::new(StopOnLastDrop { shared: shared.clone(), local: local.clone() }));
    let handle = ProcessHandle { shared, local, _stop_on_last_drop: stop_on_last_drop, pipes };
    match (reactor, inbox) {
        (_, Some(inbox)) => Ok((handle, Some((proc, inbox)))),
        (Some(reactor), None) => reactor.register(proc).map(|()| (handle, None)),
        (None, None) => unreachable!("one driver or the other"),
    }
}

/// A started child, with the parent's ends of its pipes (stdin, stdout, stderr).
struct Launched {
    child: Child,
    /// Its pidfd, when the way it was started gave one.
    pidfd: Option<OwnedFd>,
    ends: [Option<File>; 3],
}

/// Starts `cmd`'s child in `tree`: through `clone3` straight into its
/// cgroup where this machine allows (`sys::spawn`), else through std with a
/// pre-exec hook (`sys::child`).
fn launch(cmd: &Command, tree: &Tree, outlive_this_thread: bool) -> Result<Launched> {
    let cgroup_io = |source| Error::Io { what: "opening the process's cgroup", source };
    if sys::spawn::available() {
        let cgroup_dir = match tree.cgroup() {
            Some(cgroup) => Some(sys::spawn::open_cgroup_dir(cgroup.path()).map_err(cgroup_io)?),
            None => None,
        };
        let (plan, ends) = cmd.plan(cgroup_dir)?;
        let spawned = spawner::start(outlive_this_thread, move || sys::spawn::spawn(&plan))
            .ok_or_else(spawner_failed)?;
        match spawned {
            Ok(Some((raw, pidfd))) => {
                return Ok(Launched { child: Child::Raw(raw), pidfd: Some(pidfd), ends });
            }
            // This kernel lacks clone3 or CLONE_INTO_CGROUP: std's way, below.
            Ok(None) => {}
            Err(e) => return Err(cmd.fast_spawn_error(e)),
        }
    }
    let (mut std_cmd, ends) = cmd.build()?;
    let cgroup_procs = tree.cgroup().map(|c| c.open_procs()).transpose().map_err(cgroup_io)?;
    sys::child::install(&mut std_cmd, ChildSetup { cgroup_procs, ..cmd.child_setup()? }).map_err(
        |source| Error::Io { what: "reserving the numbers of passed descriptors", source },
    )?;
    let child = spawner::start(outlive_this_thread, move || std_cmd.spawn())
        .ok_or_else(spawner_failed)?
        .map_err(|e| cmd.spawn_error(e))?;
    Ok(Launched { child: Child::Std(child), pidfd: None, ends })
}

fn spawner_failed() -> Error {
    Error::Io {
        what: "starting the child on the spawner thread",
        source: std::io::Error::other("the start panicked"),
    }
}

/// A record for a command that failed to start, so tables can list it.
pub(crate) fn failed_record(cmd: &Command, id: ProcessId) -> ProcessHandle {
    ProcessHandle {
        shared: Arc::new(Shared {
            id,
            pid: None,
            command: cmd.argv_lossy(),
            started_at: SystemTime::now(),
            started: Instant::now(),
            timeout: cmd.timeout,
            grace: cmd.grace,
            leftovers: cmd.leftovers,
            contained: Contained::Nothing,
            cpu_limited: false,
            memory_limited: false,
            key: 0,
            state: Mutex::new(State {
                status: ProcessStatus::FailedToStart,
                forced: false,
                code: None,
                signal: None,
                duration: Some(Duration::ZERO),
                output: None,
                wakers: Default::default(),
            }),
            finished: Condvar::new(),
        }),
        local: None,
        _stop_on_last_drop: None,
        pipes: Arc::default(),
    }
}

/// Whose an output pipe's end is: `(event loop's, caller's)`.
fn route(output: &Output, end: Option<File>) -> (Option<File>, Option<File>) {
    match output {
        Output::Piped => (None, end),
        _ => (end, None),
    }
}

fn nonblocking(pipe: impl Into<OwnedFd>) -> std::io::Result<File> {
    let fd: OwnedFd = pipe.into();
    sys::set_nonblocking(&fd)?;
    Ok(File::from(fd))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reactor::abandon;

    #[test]
    fn a_process_whose_event_loop_is_gone_is_reported_lost_not_stranded() {
        // What happens to every watched process when epoll fails or a loop
        // gives up: the loop is dropped with its processes.
        let cmd = Command::new("sleep").arg("60");
        let (handle, local) = start(&cmd, ProcessId::generate(), Driver::Here).unwrap();
        let (proc, inbox) = local.expect("a local driver");
        abandon(proc, inbox);
        let status =
            handle.wait_timeout(Duration::from_secs(30)).unwrap().expect("finished").status;
        assert_eq!(status, ProcessStatus::Killed);
        assert_eq!(handle.info().signal, Some(9), "its group was killed, not left running");
    }
}

//! The command builder: what to run, where, with which input, and how long.

use std::ffi::CString;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::CommandExt;
use std::path::{Component, Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::id::ProcessId;
use crate::limits::{Limit, validate_nice};
use crate::sys;
use crate::sys::child::ChildSetup;
use crate::sys::spawn::{self, ChildStdio, Plan};
use crate::text::shorten;
use crate::types::ProcessOutput;
use crate::types::{Containment, Leftovers};

/// What the child reads on stdin.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Input {
    /// `/dev/null` (the default: a managed process never steals the terminal).
    #[default]
    Null,
    /// The parent's stdin.
    Inherit,
    /// These bytes, then end of file.
    Bytes(Arc<[u8]>),
    /// A pipe the caller writes while the child runs: take its writer with
    /// [`ProcessHandle::take_stdin`](crate::ProcessHandle::take_stdin)
    /// (end of file when the writer is dropped). With a blocking
    /// [`Command::run`] nobody can take it: the child reads end of file.
    Piped,
}

/// Where the child's stdout or stderr goes.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Output {
    /// Captured into [`ProcessOutput`] (the default), up to the output cap.
    #[default]
    Capture,
    /// Discarded (`/dev/null`).
    Null,
    /// The parent's stream.
    Inherit,
    /// Written to this file, created or truncated.
    File(PathBuf),
    /// A pipe the caller reads while the child runs: take its reader with
    /// [`ProcessHandle::take_stdout`](crate::ProcessHandle::take_stdout) or
    /// [`take_stderr`](crate::ProcessHandle::take_stderr). pp keeps none of
    /// it, so [`ProcessOutput`]'s field stays empty and
    /// [`Command::max_output_bytes`] does not apply: the pipe's own buffer
    /// bounds what waits to be read, and a full pipe makes the child's
    /// writes wait for the reader (back-pressure; see
    /// [`OutputReader`](crate::OutputReader)). A reader never taken holds
    /// the pipe open until every handle to the process is gone; with a
    /// blocking [`Command::run`] nobody can take it, and the child's writes
    /// fail (`EPIPE`; a child that keeps `SIGPIPE` at its default, as most do,
    /// is killed by the signal).
    Piped,
    /// For stderr: wherever stdout goes, in the one stream (the shell's
    /// `2>&1`), so the two interleave exactly as written. Captured, piped,
    /// a file or the parent's: whatever stdout is. Not a choice for stdout
    /// itself ([`Error::InvalidOutput`]). See [`Command::merge_stderr`].
    Stdout,
}

/// A function called once a process has finished, with its output.
///
/// For a spawned process it runs on pp-process's background thread (one for
/// all callbacks, in turn: keep it short); it may wait for other processes.
/// For a blocking `run` it runs on the calling thread before `run` returns.
pub type Callback = Arc<dyn Fn(&ProcessOutput) + Send + Sync>;

/// A command to run: program and arguments, and how to run them.
///
/// Never goes through a shell unless built with [`Command::shell`].
/// Cheap to clone; one command can be run many times.
#[derive(Clone)]
pub struct Command {
    pub(crate) argv: Vec<OsString>,
    pub(crate) cwd: Option<PathBuf>,
    pub(crate) env: Vec<(OsString, Option<OsString>)>,
    pub(crate) env_clear: bool,
    pub(crate) stdin: Input,
    pub(crate) stdout: Output,
    pub(crate) stderr: Output,
    pub(crate) timeout: Option<Duration>,
    pub(crate) grace: Duration,
    pub(crate) id: Option<String>,
    pub(crate) max_output: Option<usize>,
    pub(crate) on_exit: Option<Callback>,
    pub(crate) leftovers: Leftovers,
    pub(crate) containment: Containment,
    pub(crate) limits: Vec<Limit>,
    pub(crate) nice: Option<i32>,
    pub(crate) die_with_parent: bool,
    /// Whether dropping the last handle stops a still-running process.
    pub(crate) kill_on_drop: bool,
    /// Descriptors the child gets, at these numbers (see [`Command::pass_fd`]).
    pub(crate) passed_fds: Vec<(Arc<OwnedFd>, RawFd)>,
    /// The child's `argv[0]`, when not the program as given.
    pub(crate) arg0: Option<OsString>,
}

impl Command {
    /// The grace period between SIGTERM and SIGKILL unless set otherwise.
    pub const DEFAULT_GRACE: Duration = Duration::from_secs(2);

    /// A command running `program` with no arguments.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Command::from_argv([program])
    }

    /// A command from a whole argv, program first. An empty argv fails to run
    /// with [`Error::EmptyCommand`].
    pub fn from_argv<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Command {
            argv: argv.into_iter().map(|a| a.as_ref().to_owned()).collect(),
            cwd: None,
            env: Vec::new(),
            env_clear: false,
            stdin: Input::Null,
            stdout: Output::Capture,
            stderr: Output::Capture,
            timeout: None,
            grace: Self::DEFAULT_GRACE,
            id: None,
            max_output: None,
            on_exit: None,
            leftovers: Leftovers::Stop,
            containment: Containment::Auto,
            limits: Vec::new(),
            nice: None,
            die_with_parent: true,
            kill_on_drop: false,
            passed_fds: Vec::new(),
            arg0: None,
        }
    }

    /// A command running `script` through `/bin/sh -c`: the only way pp uses a shell.
    pub fn shell(script: impl AsRef<OsStr>) -> Self {
        Command::from_argv([OsStr::new("/bin/sh"), OsStr::new("-c"), script.as_ref()])
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.argv.push(arg.as_ref().to_owned());
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.argv.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// The working directory. Relative paths are resolved against the current
    /// directory and `.`/`..` are normalized when the command runs; a missing
    /// directory is [`Error::BadCwd`].
    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_owned(), None));
        self
    }

    /// Starts the child with an empty environment (plus what `env` sets afterwards).
    pub fn env_clear(mut self) -> Self {
        self.env_clear = true;
        self.env.clear();
        self
    }

    /// Feeds these bytes to the child's stdin, then closes it.
    pub fn input(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Input::Bytes(bytes.into().into());
        self
    }

    /// Chooses the child's stdin.
    pub fn stdin(mut self, stdin: Input) -> Self {
        self.stdin = stdin;
        self
    }

    /// Chooses where stdout goes (captured by default).
    pub fn stdout(mut self, stdout: Output) -> Self {
        self.stdout = stdout;
        self
    }

    /// Chooses where stderr goes (captured by default).
    pub fn stderr(mut self, stderr: Output) -> Self {
        self.stderr = stderr;
        self
    }

    /// Sends stderr wherever stdout goes, in one stream (the shell's `2>&1`):
    /// `stderr(Output::Stdout)`.
    pub fn merge_stderr(self) -> Self {
        self.stderr(Output::Stdout)
    }

    /// Captures both stdout and stderr (the default).
    pub fn capture_output(self) -> Self {
        self.stdout(Output::Capture).stderr(Output::Capture)
    }

    /// Discards both stdout and stderr (`/dev/null`).
    pub fn discard_output(self) -> Self {
        self.stdout(Output::Null).stderr(Output::Null)
    }

    /// Stops the whole process group once the process has run this long.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// Time between SIGTERM and SIGKILL when the process is stopped
    /// (default [`Command::DEFAULT_GRACE`]). Zero kills at once.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Chooses the process id (validated when the command runs); else one is generated.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Keeps at most this many bytes of each captured stream; the rest is still
    /// read (so the child never blocks) and counted in `stdout_dropped`/`stderr_dropped`.
    /// Streams read while the child runs ([`Output::Piped`]) keep nothing in
    /// pp, so the cap does not apply to them.
    pub fn max_output_bytes(mut self, cap: usize) -> Self {
        self.max_output = Some(cap);
        self
    }

    /// What happens to descendants still running when the process itself
    /// exits: stopped with its tree ([`Leftovers::Stop`], the default, so
    /// nothing outlives the command), waited for ([`Leftovers::Wait`]), or
    /// left running ([`Leftovers::Leave`]).
    pub fn leftovers(mut self, leftovers: Leftovers) -> Self {
        self.leftovers = leftovers;
        self
    }

    /// How a stop reaches every descendant: by default ([`Containment::Auto`])
    /// a cgroup v2 of its own where pp can make one, which catches
    /// descendants that leave the process group; else the process group.
    /// [`ProcessHandle::containment`](crate::ProcessHandle::containment) says
    /// which one is in effect.
    pub fn containment(mut self, containment: Containment) -> Self {
        self.containment = containment;
        self
    }

    /// Adds a resource limit (call once per limit). Checked when the command
    /// runs: a bad value is [`Error::InvalidLimit`], a limit that cannot be
    /// applied here [`Error::LimitUnavailable`].
    pub fn limit(mut self, limit: Limit) -> Self {
        self.limits.retain(|l| std::mem::discriminant(l) != std::mem::discriminant(&limit));
        self.limits.push(limit);
        self
    }

    /// Runs the program at this niceness (-20, most favoured, to 19; raising
    /// priority needs privilege).
    pub fn nice(mut self, nice: i32) -> Self {
        self.nice = Some(nice);
        self
    }

    /// The process gets SIGKILL when the program that started it dies, even
    /// by SIGKILL (`PR_SET_PDEATHSIG`). On by default: children do not outlive
    /// their program. Its own descendants are stopped by their tree's stop,
    /// not by this signal; but when the program exits normally (returns
    /// from `main`, calls `exit`) and the process runs in a cgroup of its
    /// own, pp kills that whole cgroup — escapees included — and removes it
    /// before the program ends.
    pub fn die_with_parent(mut self) -> Self {
        self.die_with_parent = true;
        self
    }

    /// Dropping the last [`ProcessHandle`](crate::ProcessHandle) to the
    /// process while it runs stops its whole tree: SIGTERM, the grace period,
    /// then SIGKILL, done by the reactor thread (the dropping thread does not
    /// wait), which still reaps it. Clones of the handle, a
    /// [`ProcessTable`](crate::ProcessTable)'s entry and a pending
    /// [`WaitFuture`](crate::WaitFuture) each count as a handle. Off by
    /// default: a dropped handle's process runs on.
    pub fn kill_on_drop(mut self) -> Self {
        self.kill_on_drop = true;
        self
    }

    /// The process may outlive the program that started it (no
    /// `PR_SET_PDEATHSIG`): for daemons and jobs meant to keep running.
    pub fn outlive_parent(mut self) -> Self {
        self.die_with_parent = false;
        self
    }

    /// Gives the child `fd` as its descriptor number `target`, open across
    /// `exec`: the way to hand a child a socket or a pipe end beyond its
    /// standard streams (tell it the number, in an argument or the
    /// environment). `target` must be 3 or more (0–2 are set by
    /// [`stdin`](Self::stdin), [`stdout`](Self::stdout) and
    /// [`stderr`](Self::stderr)) and passed once; else running fails with
    /// [`Error::InvalidFdTarget`].
    ///
    /// Only this command's children get `fd`, and only at `target`: the
    /// command's own copy stays close-on-exec, so processes started
    /// meanwhile by other threads never inherit it, and no other descriptor
    /// of this program reaches the child (Rust opens them close-on-exec).
    /// The command keeps `fd` open until it and its clones are dropped, and
    /// each run hands the child a copy: drop the command once the child is
    /// started when the child's copy must be the last one (to see end of
    /// file when the child exits, say).
    pub fn pass_fd(mut self, fd: impl Into<OwnedFd>, target: RawFd) -> Self {
        self.passed_fds.push((Arc::new(fd.into()), target));
        self
    }

    /// The child's `argv[0]` (what `ps` shows), when it should differ from
    /// the program run; the program is still the one given to [`new`](Self::new).
    pub fn arg0(mut self, arg0: impl AsRef<OsStr>) -> Self {
        self.arg0 = Some(arg0.as_ref().to_owned());
        self
    }

    /// Calls `f` with the output once the process has finished (also after a timeout).
    pub fn on_exit(mut self, f: impl Fn(&ProcessOutput) + Send + Sync + 'static) -> Self {
        self.on_exit = Some(Arc::new(f));
        self
    }

    /// The program, as given.
    pub fn program(&self) -> Option<&OsStr> {
        self.argv.first().map(OsString::as_os_str)
    }

    /// The command line as strings (lossy), program first.
    pub fn argv_lossy(&self) -> Vec<String> {
        self.argv.iter().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    /// The configured timeout, if any.
    pub fn get_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The caller's id, validated, or a generated one.
    pub(crate) fn process_id(&self) -> Result<ProcessId> {
        match &self.id {
            Some(id) => Ok(ProcessId::new(id.clone())?),
            None => Ok(ProcessId::generate()),
        }
    }

    /// Checks everything that can be checked before starting: the program,
    /// NUL bytes, limits and niceness. Returns the program.
    pub(crate) fn validate(&self) -> Result<&OsString> {
        let program = match self.argv.first() {
            Some(p) if !p.is_empty() => p,
            _ => return Err(Error::EmptyCommand),
        };
        check_nul("program", program)?;
        for (i, arg) in self.argv.iter().enumerate().skip(1) {
            check_nul(&format!("argument {i}"), arg)?;
        }
        for (key, value) in &self.env {
            check_nul("environment variable name", key)?;
            if let Some(value) = value {
                check_nul(&format!("environment variable {}", key.to_string_lossy()), value)?;
            }
        }
        for limit in &self.limits {
            limit.validate()?;
        }
        if let Some(nice) = self.nice {
            validate_nice(nice)?;
        }
        if let Some(arg0) = &self.arg0 {
            check_nul("argv[0]", arg0)?;
        }
        if let Output::Stdout = self.stdout {
            return Err(stdout_into_itself());
        }
        for (i, &(_, target)) in self.passed_fds.iter().enumerate() {
            let reason = if target < 3 {
                "0, 1 and 2 are the standard streams: set them with stdin, stdout and stderr"
            } else if self.passed_fds[..i].iter().any(|&(_, t)| t == target) {
                "two descriptors were passed as this number"
            } else {
                continue;
            };
            return Err(Error::InvalidFdTarget { target, reason });
        }
        Ok(program)
    }

    /// Copies of the passed descriptors, each with its target, numbered
    /// above every target (close-on-exec): moving one onto its target in the
    /// child then never closes another still to be moved.
    pub(crate) fn passed_fds(&self) -> Result<Vec<(OwnedFd, RawFd)>> {
        let floor = self.passed_fds.iter().map(|&(_, t)| t.saturating_add(1)).max().unwrap_or(3);
        self.passed_fds
            .iter()
            .map(|(fd, target)| {
                let copy = sys::spawn::copy_fd_above(fd, floor).map_err(|source| Error::Io {
                    what: "copying a descriptor to pass to the child",
                    source,
                })?;
                Ok((copy, *target))
            })
            .collect()
    }

    /// The child's argv: the arguments, with `argv[0]` replaced if asked.
    fn child_argv(&self) -> impl Iterator<Item = &OsString> {
        self.arg0.iter().chain(self.argv.iter().skip(usize::from(self.arg0.is_some())))
    }

    /// The plan of the fast spawn path (`sys::spawn`): everything the child
    /// needs, and the parent's ends of its pipes (stdin, stdout, stderr).
    pub(crate) fn plan(&self, cgroup_dir: Option<OwnedFd>) -> Result<(Plan, [Option<File>; 3])> {
        let program = self.validate()?;
        let (envp, path) = spawn::environment(self.env_clear, &self.env);
        let program_path = spawn::resolve_program(program, path.as_deref()).ok_or_else(|| {
            Error::ProgramNotFound { program: shorten(&program.to_string_lossy()) }
        })?;
        // NUL bytes were refused by `validate`, so these conversions succeed.
        let cstring = |bytes: Vec<u8>| CString::new(bytes).unwrap_or_default();
        let cwd = match &self.cwd {
            Some(dir) => Some(cstring(normalize_cwd(dir)?.into_os_string().into_vec())),
            None => None,
        };
        let (stdio, ends) = self.stdio()?;
        let plan = Plan {
            program: program_path,
            argv: self.child_argv().map(|a| cstring(a.as_bytes().to_vec())).collect(),
            envp,
            cwd,
            stdio,
            cgroup_dir,
            rlimits: self.limits.iter().filter_map(Limit::rlimit).collect(),
            nice: self.nice,
            die_with_parent: self.die_with_parent,
            passed_fds: self.passed_fds()?,
        };
        Ok((plan, ends))
    }

    /// The child's standard streams, and the parent's ends of the pipes
    /// among them (stdin, stdout, stderr): for both ways of spawning.
    fn stdio(&self) -> Result<([ChildStdio; 3], [Option<File>; 3])> {
        let io = |source| Error::Io { what: "creating the child's standard streams", source };
        let mut ends: [Option<File>; 3] = [None, None, None];
        let stdin = match &self.stdin {
            Input::Null => ChildStdio::Fd(spawn::dev_null(false).map_err(io)?),
            Input::Inherit => ChildStdio::Inherit,
            Input::Bytes(_) | Input::Piped => {
                let (read, write) = spawn::pipe().map_err(io)?;
                ends[0] = Some(write);
                ChildStdio::Fd(read.into())
            }
        };
        let output = |output: &Output, end: &mut Option<File>| -> Result<ChildStdio> {
            Ok(match output {
                Output::Capture | Output::Piped => {
                    let (read, write) = spawn::pipe().map_err(io)?;
                    *end = Some(read);
                    ChildStdio::Fd(write.into())
                }
                Output::Null => ChildStdio::Fd(spawn::dev_null(true).map_err(io)?),
                Output::Inherit => ChildStdio::Inherit,
                Output::File(path) => ChildStdio::Fd(
                    File::create(path)
                        .map_err(|source| Error::OutputFile { path: path.clone(), source })?
                        .into(),
                ),
                // Only stderr gets here: `validate` refuses it for stdout.
                Output::Stdout => return Err(stdout_into_itself()),
            })
        };
        let [_, out_end, err_end] = &mut ends;
        let stdout = output(&self.stdout, out_end)?;
        let stderr = match &self.stderr {
            // The child's fd 2 is a copy of its fd 1: one stream, one order.
            Output::Stdout => ChildStdio::Fd(
                match &stdout {
                    ChildStdio::Fd(fd) => fd.try_clone(),
                    ChildStdio::Inherit => std::io::stdout().as_fd().try_clone_to_owned(),
                }
                .map_err(io)?,
            ),
            other => output(other, err_end)?,
        };
        Ok(([stdin, stdout, stderr], ends))
    }

    /// Maps a failed fast spawn to ours, as [`spawn_error`](Self::spawn_error) does std's.
    pub(crate) fn fast_spawn_error(&self, e: spawn::SpawnError) -> Error {
        match e.step {
            spawn::STEP_EXEC_NAME => self.spawn_error(e.source),
            spawn::STEP_CWD_NAME => Error::BadCwd {
                path: self.cwd.clone().unwrap_or_default(),
                reason: format!("cannot be entered ({})", e.source),
            },
            step => Error::Spawn {
                program: self
                    .argv
                    .first()
                    .map(|p| shorten(&p.to_string_lossy()))
                    .unwrap_or_default(),
                source: std::io::Error::new(e.source.kind(), format!("{step}: {}", e.source)),
            },
        }
    }

    /// Checks the command and builds the `std` command that starts it in a new
    /// process group, with the parent's ends of its pipes (stdin, stdout, stderr).
    pub(crate) fn build(&self) -> Result<(std::process::Command, [Option<File>; 3])> {
        let program = self.validate()?;
        let mut cmd = std::process::Command::new(program);
        cmd.args(&self.argv[1..]);
        if let Some(arg0) = &self.arg0 {
            cmd.arg0(arg0);
        }
        // A group of its own, so a timeout or terminate reaches every descendant.
        cmd.process_group(0);
        if let Some(dir) = &self.cwd {
            cmd.current_dir(normalize_cwd(dir)?);
        }
        if self.env_clear {
            cmd.env_clear();
        }
        for (key, value) in &self.env {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        let ([stdin, stdout, stderr], ends) = self.stdio()?;
        let std_stdio = |stdio: ChildStdio| match stdio {
            ChildStdio::Inherit => Stdio::inherit(),
            ChildStdio::Fd(fd) => Stdio::from(fd),
        };
        cmd.stdin(std_stdio(stdin));
        cmd.stdout(std_stdio(stdout));
        cmd.stderr(std_stdio(stderr));
        Ok((cmd, ends))
    }

    /// What the child does before exec, but for joining its cgroup.
    pub(crate) fn child_setup(&self) -> Result<ChildSetup> {
        Ok(ChildSetup {
            cgroup_procs: None,
            rlimits: self.limits.iter().filter_map(Limit::rlimit).collect(),
            nice: self.nice,
            die_with_parent: self.die_with_parent,
            passed_fds: self.passed_fds()?,
        })
    }

    /// Maps the error of `std::process::Command::spawn` to ours.
    pub(crate) fn spawn_error(&self, source: std::io::Error) -> Error {
        let program = self.argv.first().map(|p| shorten(&p.to_string_lossy())).unwrap_or_default();
        match source.kind() {
            std::io::ErrorKind::NotFound => Error::ProgramNotFound { program },
            std::io::ErrorKind::PermissionDenied => Error::PermissionDenied { program },
            _ => Error::Spawn { program, source },
        }
    }
}

/// A pp command from a `std` one: program, arguments, environment changes
/// and working directory carry over. What std does not let anyone read back
/// does not: `env_clear`, stdio choices and pre-exec hooks (set them on the
/// pp command).
impl From<&std::process::Command> for Command {
    fn from(std_cmd: &std::process::Command) -> Command {
        let mut cmd = Command::new(std_cmd.get_program()).args(std_cmd.get_args());
        for (key, value) in std_cmd.get_envs() {
            cmd = match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        if let Some(dir) = std_cmd.get_current_dir() {
            cmd = cmd.cwd(dir);
        }
        cmd
    }
}

impl From<std::process::Command> for Command {
    fn from(std_cmd: std::process::Command) -> Command {
        Command::from(&std_cmd)
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("argv", &self.argv)
            .field("cwd", &self.cwd)
            .field("env", &self.env)
            .field("env_clear", &self.env_clear)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .field("timeout", &self.timeout)
            .field("grace", &self.grace)
            .field("id", &self.id)
            .field("max_output", &self.max_output)
            .field("on_exit", &self.on_exit.as_ref().map(|_| "Fn(&ProcessOutput)"))
            .field("leftovers", &self.leftovers)
            .field("containment", &self.containment)
            .field("limits", &self.limits)
            .field("nice", &self.nice)
            .field("die_with_parent", &self.die_with_parent)
            .field("kill_on_drop", &self.kill_on_drop)
            .field("passed_fds", &self.passed_fds)
            .field("arg0", &self.arg0)
            .finish()
    }
}

fn check_nul(what: &str, value: &OsStr) -> Result<()> {
    if value.as_bytes().contains(&0) {
        return Err(Error::NulByte {
            what: what.to_owned(),
            value: shorten(&value.to_string_lossy()),
        });
    }
    Ok(())
}

fn stdout_into_itself() -> Error {
    Error::InvalidOutput {
        stream: "stdout",
        destination: "Output::Stdout",
        reason: "stdout cannot be merged into itself (Output::Stdout is for stderr)",
    }
}

/// Resolves `dir` against the current directory, removes `.` and `..`
/// lexically, and checks that the result is an existing directory.
pub fn normalize_cwd(dir: &Path) -> Result<PathBuf> {
    check_nul("working directory", dir.as_os_str())?;
    let absolute = if dir.is_absolute() {
        dir.to_owned()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::BadCwd {
                path: dir.to_owned(),
                reason: format!("the current directory is unknown ({e})"),
            })?
            .join(dir)
    };
    let mut path = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                path.pop();
            }
            other => path.push(other),
        }
    }
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => match sys::can_enter(&path) {
            Ok(()) => Ok(path),
            Err(e) => Err(Error::BadCwd { path, reason: format!("cannot be entered ({e})") }),
        },
        Ok(_) => Err(Error::BadCwd { path, reason: "not a directory".into() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::BadCwd { path, reason: "no such directory".into() })
        }
        Err(e) => Err(Error::BadCwd { path, reason: e.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cwd_is_normalized() {
        let here = std::env::current_dir().unwrap();
        assert_eq!(normalize_cwd(Path::new(".")).unwrap(), here);
        assert_eq!(normalize_cwd(Path::new("/tmp/./../tmp")).unwrap(), Path::new("/tmp"));
        let err = normalize_cwd(Path::new("/no/such/dir/pp")).unwrap_err();
        assert!(err.to_string().contains("/no/such/dir/pp"), "{err}");
    }

    #[test]
    fn bad_commands_are_refused_before_spawning() {
        assert!(matches!(
            Command::from_argv(Vec::<String>::new()).build(),
            Err(Error::EmptyCommand)
        ));
        assert!(matches!(Command::new("").build(), Err(Error::EmptyCommand)));
        let err = Command::new("echo").arg("ok").arg("a\0b").build().unwrap_err();
        assert!(matches!(&err, Error::NulByte { what, .. } if what == "argument 2"), "{err}");
    }
}

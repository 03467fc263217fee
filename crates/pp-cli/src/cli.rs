//! The command line: every subcommand and option, as clap derives them
//! (the doc comments are `pp --help`).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::duration::parse_duration;
use crate::parallel::halt::{Halt, parse_halt};

/// pp: run commands so that a timeout or Ctrl-C stops their whole process
/// tree, run batches of them in parallel with a job log (a GNU parallel
/// subset), and look at pp's named shared-memory objects.
#[derive(Debug, Parser)]
#[command(name = "pp", version, propagate_version = true)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run one command; a timeout, Ctrl-C or SIGTERM stops its whole tree.
    ///
    /// stdin, stdout and stderr pass through. Exit code: the command's own;
    /// 128+N when a signal N ended it; 124 when the timeout stopped it (with
    /// a message on stderr); 126 when it cannot be executed, 127 when it is
    /// not found, 125 when pp itself failed or its own options are wrong.
    Run(RunArgs),
    /// Run a command once per input, N at a time (a GNU parallel subset).
    ///
    /// `pp parallel [OPTIONS] COMMAND... ::: A B C ::: 1 2 :::: FILE`
    ///
    /// Inputs come from `::: values`, `:::: files` (one input per line; `-`
    /// is stdin) or, with neither, from stdin's lines; several sources make
    /// the cross product, the first varying slowest. The command runs
    /// through /bin/sh -c (unless --no-shell) with each replacement string
    /// replaced by the shell-quoted input: {} the input, {.} without its
    /// extension, {/} its base name, {//} its directory, {/.} the base name
    /// without extension, {#} the job's number, {%} its slot, {N} (and {N.},
    /// {N/}, {N//}, {N/.}) the Nth source's value. Without any, the inputs
    /// are appended as the last arguments.
    ///
    /// Job output is grouped: each job's stdout and stderr are printed whole
    /// when it ends (--line-buffer prints whole lines as they come).
    ///
    /// Exit code (as GNU parallel's): 0 when every job succeeded; else the
    /// number of failed jobs, at most 101 (a timed-out job failed); with
    /// --halt ...,fail=1 the failing job's exit code; with fail=P% the
    /// percentage of failed jobs; 128+N after signal N (Ctrl-C: 130);
    /// 2 for a bad option or value; 255 for other errors (an unreadable
    /// input file, a job log of another command line).
    ///
    /// Ctrl-C (or SIGTERM) stops every running job's whole tree; the job
    /// log keeps the jobs that ended, so --resume runs the rest. The
    /// summary (--summary, --bar, --json) goes to stderr: stdout holds only
    /// the jobs' output, as with GNU parallel.
    Parallel(ParallelArgs),
    /// pp's named objects in shared memory (queues, locks, events, values, semaphores).
    #[command(subcommand)]
    Ipc(IpcCommand),
}

/// `pp run`'s arguments.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Stop the whole process tree after this long: 10s, 500ms, 1.5s, 2m,
    /// or a bare number of seconds. Exit code 124.
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub(crate) timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL when the tree is stopped.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "2s")]
    pub(crate) grace: Duration,
    /// Working directory of the command.
    #[arg(long, value_name = "DIR")]
    pub(crate) cwd: Option<PathBuf>,
    /// Set an environment variable for the command (repeatable).
    #[arg(long = "env", value_name = "K=V", value_parser = parse_env)]
    pub(crate) env: Vec<(String, String)>,
    /// The program and its arguments (after `--`).
    #[arg(required = true, trailing_var_arg = true, value_name = "PROGRAM")]
    pub(crate) command: Vec<OsString>,
}

/// `pp parallel`'s arguments.
#[derive(Debug, Args)]
pub(crate) struct ParallelArgs {
    /// Run at most N jobs at once (default: the number of CPUs; 0: as many as
    /// there are jobs; never more than 1024).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    pub(crate) jobs: Option<usize>,
    /// Stop a job's whole process tree once it has run this long (10s,
    /// 500ms, 1.5s, 2m, or bare seconds); it counts as failed (joblog
    /// Exitval -1).
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub(crate) timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL when a job's tree is stopped.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "1s")]
    pub(crate) grace: Duration,
    /// Run a failing job up to N times in all; only its last try's output is printed.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) retries: u32,
    /// When to stop early: never, now|soon,fail=N, now|soon,fail=P%,
    /// now|soon,success=N or success=P% ("now" stops running jobs, "soon"
    /// lets them finish); a bare 1 is soon,fail=1 and 2 is now,fail=1.
    #[arg(long, value_name = "SPEC", value_parser = parse_halt)]
    pub(crate) halt: Option<Halt>,
    /// Print the jobs' output in input order (else in the order they end).
    #[arg(short = 'k', long = "keep-order")]
    pub(crate) keep_order: bool,
    /// Prefix each output line with the job's inputs and a tab.
    #[arg(long)]
    pub(crate) tag: bool,
    /// Print output as whole lines while jobs run (lines of concurrent jobs
    /// never mix inside a line), instead of each job's output when it ends.
    /// With -k, output stays grouped (it must wait for its turn).
    #[arg(long = "line-buffer", visible_alias = "lb")]
    pub(crate) line_buffer: bool,
    /// Print each command instead of running it.
    #[arg(long = "dry-run")]
    pub(crate) dry_run: bool,
    /// Write a job log in GNU parallel's format (tab-separated: Seq, Host,
    /// Starttime, JobRuntime, Send, Receive, Exitval, Signal, Command).
    #[arg(long, value_name = "FILE")]
    pub(crate) joblog: Option<PathBuf>,
    /// With --joblog: skip the jobs the log lists, run the rest, append.
    /// A log written for another command line is an error.
    #[arg(long, requires = "joblog")]
    pub(crate) resume: bool,
    /// With --joblog: skip the jobs the log lists as succeeded, run the rest (failed ones again), append.
    #[arg(long = "resume-failed", requires = "joblog", conflicts_with = "resume")]
    pub(crate) resume_failed: bool,
    /// Show a progress bar with an ETA on stderr, and the summary line at the end (both on a terminal only).
    #[arg(long)]
    pub(crate) bar: bool,
    /// Print a one-line summary on stderr at the end (ok, failed, timed out, retried, wall time).
    #[arg(long)]
    pub(crate) summary: bool,
    /// Print the summary as one JSON object on stderr at the end.
    #[arg(long)]
    pub(crate) json: bool,
    /// Run the command's words directly, without /bin/sh (no quoting needed or done).
    #[arg(long = "no-shell")]
    pub(crate) no_shell: bool,
    /// Read inputs from FILE, one per line (as `:::: FILE`, placed after every
    /// `:::` and `::::` source; repeatable).
    #[arg(short = 'a', long = "arg-file", value_name = "FILE")]
    pub(crate) arg_files: Vec<PathBuf>,
    /// The command, then the input sources: `::: values…` and `:::: files…`.
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub(crate) words: Vec<String>,
}

/// `pp ipc` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum IpcCommand {
    /// List pp's named objects of this user: kind, id, size, creator pid,
    /// and whether the creator is alive or the object is stale.
    Ls(JsonFlag),
    /// Remove the object with this id (its name; handles already open keep working).
    Rm {
        /// The object's id, `pp-…`.
        id: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove the objects whose creator died (and pipe endpoints nobody listens on), with a count.
    Sweep(JsonFlag),
}

/// A lone `--json` flag.
#[derive(Debug, Args)]
pub(crate) struct JsonFlag {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `K=V` for `--env`.
fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected K=V, got {text:?}")),
    }
}

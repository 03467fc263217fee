//! A job and what became of it: what the workers hand to the main loop.

use crate::parallel::joblog::Entry;

/// One job to run: its number and one value per input source.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    /// Its number, from 1 in input order (`{#}`, the job log's Seq).
    pub(crate) seq: u64,
    /// One value per source.
    pub(crate) inputs: Vec<String>,
}

impl Job {
    /// What `--tag` puts before its lines: the inputs, space-separated (as GNU).
    pub(crate) fn tag(&self) -> String {
        self.inputs.join(" ")
    }
}

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Exit code 0.
    Succeeded,
    /// Another exit code, a signal, or it could not start.
    Failed,
    /// Stopped by `--timeout` (failed too).
    TimedOut,
    /// Stopped by pp (Ctrl-C, `--halt now`) before it ended: not logged,
    /// so `--resume` runs it again.
    Stopped,
}

/// A job that ended, with its output (empty with `--line-buffer`, which printed it already).
#[derive(Debug)]
pub(crate) struct Finished {
    /// The job.
    pub(crate) job: Job,
    /// How it ended.
    pub(crate) outcome: Outcome,
    /// Its job log line.
    pub(crate) entry: Entry,
    /// How many times it ran.
    pub(crate) tries: u32,
    /// Its stdout, when grouped.
    pub(crate) stdout: Vec<u8>,
    /// Its stderr, when grouped.
    pub(crate) stderr: Vec<u8>,
}

//! The slots: one thread per `-j` slot takes jobs from the shared queue,
//! runs each through pp-process (tree kill on timeout and on stop), retries
//! failures, and hands every ended job to the main loop.
//!
//! A grouped job is a blocking `ProcessTable::run`: the slot's own thread
//! watches it (no hand-off to pp-process's reactor, which made each job
//! about 40 % slower), and the table still lets a stop reach it. A stop
//! (`--halt now`, a signal) starts a stopper thread that stops every tree
//! in the table again and again until every slot has ended, so a job a
//! slot was starting as the stop came is stopped too.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use pp_process::{
    Command, Error, Input, Output, ProcessHandle, ProcessOutput, ProcessStatus, ProcessTable,
};

use crate::duration::show;
use crate::parallel::halt::{Halt, When};
use crate::parallel::job::{Finished, Job, Outcome};
use crate::parallel::joblog::Entry;
use crate::parallel::output::{Printer, Stream};
use crate::parallel::template::Template;

/// SIGTERM's number: what the job log says stopped a timed-out job when
/// no signal ended it (GNU parallel logs 15).
const SIGTERM: i32 = 15;

/// How often the stopper looks for jobs started after its last sweep.
const STOPPER_PAUSE: Duration = Duration::from_millis(20);

/// How jobs run.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Per-job time limit.
    pub(crate) timeout: Option<Duration>,
    /// SIGTERM to SIGKILL.
    pub(crate) grace: Duration,
    /// Runs of a failing job in all (at least 1).
    pub(crate) tries: u32,
    /// Print whole lines as they come instead of whole jobs at their end.
    pub(crate) line_buffer: bool,
}

/// What the slots and the main loop share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The command template.
    pub(crate) template: Template,
    /// How jobs run.
    pub(crate) settings: Settings,
    /// Where output goes.
    pub(crate) printer: Printer,
    /// The running jobs, so a stop reaches every tree.
    pub(crate) table: ProcessTable,
    /// Jobs not yet started.
    pub(crate) queue: Mutex<VecDeque<Job>>,
    /// Start no more jobs (`--halt`, a signal).
    pub(crate) no_new_jobs: AtomicBool,
    /// Whether the stopper thread was started (`--halt now`, a signal).
    pub(crate) stopping: AtomicBool,
    /// Slot threads still running; the stopper ends when none is left.
    pub(crate) live_slots: AtomicUsize,
    /// `--halt`.
    pub(crate) halt: Option<Halt>,
    /// Jobs to run in this batch (for `--halt`'s percentages).
    pub(crate) to_run: u64,
    /// The ended jobs as `--halt` counts them. A slot counts its job before
    /// it takes the next, so a halt starts no job after the one that
    /// triggered it (as in GNU parallel).
    pub(crate) tally: Mutex<Tally>,
}

/// What `--halt` counts.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Failed jobs (timed-out ones included).
    failed: u64,
    /// Succeeded jobs.
    succeeded: u64,
    /// The halt that triggered, with the exit code of the job that triggered it.
    pub(crate) halted: Option<(Halt, i32)>,
}

impl Shared {
    /// Starts no more jobs and stops every running job's tree (SIGTERM, the
    /// grace, SIGKILL), from a stopper thread: returns at once.
    pub(crate) fn stop_all(self: &Arc<Self>) {
        self.no_new_jobs.store(true, Ordering::SeqCst);
        if self.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        let shared = Arc::clone(self);
        let stopper = std::thread::Builder::new()
            .name("pp-stopper".into())
            .spawn(move || shared.stop_until_slots_end());
        if stopper.is_err() {
            // No thread to spare: one sweep here, which stops every job
            // already in the table.
            self.table.terminate_all(self.settings.grace);
        }
    }

    /// Stops every tree in the table until no slot is left: a slot that was
    /// starting a job when the stop came registers it a moment later.
    pub(crate) fn stop_until_slots_end(&self) {
        loop {
            self.table.terminate_all(self.settings.grace);
            if self.live_slots.load(Ordering::SeqCst) == 0 {
                return;
            }
            std::thread::sleep(STOPPER_PAUSE);
        }
    }

    /// Starts no more jobs; running ones finish.
    pub(crate) fn start_no_more(&self) {
        self.no_new_jobs.store(true, Ordering::SeqCst);
    }

    /// Counts an ended job for `--halt`, and halts when it says so.
    fn count(self: &Arc<Self>, finished: &Finished) {
        let Some(halt) = self.halt else { return };
        let mut tally = self.tally.lock().unwrap_or_else(PoisonError::into_inner);
        match finished.outcome {
            Outcome::Succeeded => tally.succeeded += 1,
            Outcome::Failed | Outcome::TimedOut => tally.failed += 1,
            Outcome::Stopped => return,
        }
        if tally.halted.is_some() || !halt.triggered(tally.failed, tally.succeeded, self.to_run) {
            return;
        }
        let succeeded = finished.outcome == Outcome::Succeeded;
        tally.halted = Some((halt, if succeeded { 0 } else { finished.entry.exitval }));
        drop(tally);
        eprintln!(
            "pp parallel: --halt {halt}: stopping after job {} ({}): {}",
            finished.job.seq,
            if succeeded { "succeeded" } else { "failed" },
            finished.entry.command
        );
        match halt.when {
            When::Now => self.stop_all(),
            When::Soon => self.start_no_more(),
        }
    }
}

/// The body of slot `slot` (1-based): runs jobs until the queue is empty
/// or a stop, sending each ended job to `done`. `live_slots` counts it
/// until it returns.
pub(crate) fn slot(shared: &Arc<Shared>, slot: usize, done: &Sender<Finished>) {
    /// Uncounts the slot however it returns.
    struct Live<'a>(&'a AtomicUsize);
    impl Drop for Live<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let _live = Live(&shared.live_slots);
    loop {
        if shared.no_new_jobs.load(Ordering::SeqCst) {
            return;
        }
        let Some(job) = shared.queue.lock().unwrap_or_else(PoisonError::into_inner).pop_front()
        else {
            return;
        };
        let finished = run_job(shared, job, slot);
        shared.table.cleanup();
        shared.count(&finished);
        if done.send(finished).is_err() {
            return;
        }
    }
}

/// Runs one job, again while it fails and tries remain.
fn run_job(shared: &Shared, job: Job, slot: usize) -> Finished {
    let mut tries = 0;
    loop {
        tries += 1;
        let (outcome, entry, stdout, stderr) = run_once(shared, &job, slot);
        let again = matches!(outcome, Outcome::Failed | Outcome::TimedOut)
            && tries < shared.settings.tries
            && !shared.no_new_jobs.load(Ordering::SeqCst);
        if !again {
            return Finished { job, outcome, entry, tries, stdout, stderr };
        }
    }
}

/// One run of a job.
fn run_once(shared: &Shared, job: &Job, slot: usize) -> (Outcome, Entry, Vec<u8>, Vec<u8>) {
    let settings = &shared.settings;
    let filled = shared.template.fill(&job.inputs, job.seq, slot);
    let (out_mode, err_mode) = if settings.line_buffer {
        (Output::Piped, Output::Piped)
    } else {
        (Output::Capture, Output::Capture)
    };
    let mut command = Command::from_argv(&filled.argv)
        .stdin(Input::Null)
        .stdout(out_mode)
        .stderr(err_mode)
        .grace(settings.grace)
        .env("PARALLEL_SEQ", job.seq.to_string())
        .env("PARALLEL_JOBSLOT", slot.to_string());
    if let Some(limit) = settings.timeout {
        command = command.timeout(limit);
    }
    let start = SystemTime::now();
    let mut entry = Entry {
        seq: job.seq,
        start,
        runtime: Duration::ZERO,
        send: 0,
        receive: 0,
        exitval: -1,
        signal: 0,
        command: filled.display.clone(),
    };
    let (result, streamed) = if settings.line_buffer {
        match shared.table.spawn(&command) {
            Ok(handle) => {
                let streamed = stream_lines(shared, job, &handle);
                (handle.wait().map(|output| ProcessOutput::clone(&output)), streamed)
            }
            Err(e) => (Err(e), 0),
        }
    } else {
        (shared.table.run(&command), 0)
    };
    entry.runtime = start.elapsed().unwrap_or_default();
    match result {
        Ok(output) => {
            entry.receive = streamed + output.stdout.len() as u64;
            entry.exitval = output.code.unwrap_or(0);
            entry.signal = output.signal.unwrap_or(0);
            entry.runtime = output.duration;
            let stopped =
                matches!(output.status, ProcessStatus::Terminated | ProcessStatus::Killed);
            let outcome = if stopped {
                Outcome::Stopped
            } else if output.success() {
                Outcome::Succeeded
            } else {
                Outcome::Failed
            };
            (outcome, entry, output.stdout, output.stderr)
        }
        Err(Error::Timeout { limit, output, .. }) => {
            entry.receive = streamed + output.stdout.len() as u64;
            entry.exitval = -1;
            entry.signal = output.signal.unwrap_or(SIGTERM);
            entry.runtime = output.duration;
            let mut stderr = output.stderr.clone();
            stderr.extend_from_slice(
                format!(
                    "pp parallel: job {} timed out after {}; its process tree was stopped: {}\n",
                    job.seq,
                    show(limit),
                    filled.display
                )
                .as_bytes(),
            );
            (Outcome::TimedOut, entry, output.stdout, stderr)
        }
        Err(e) => {
            // It did not start (or pp-process failed): the shell's codes.
            entry.exitval = match e {
                Error::ProgramNotFound { .. } => 127,
                Error::PermissionDenied { .. } => 126,
                _ => 255,
            };
            let message = format!("pp parallel: job {}: {e}\n", job.seq);
            (Outcome::Failed, entry, Vec::new(), message.into_bytes())
        }
    }
}

/// Copies a running job's piped stdout and stderr line by line until both
/// end; returns the stdout bytes.
fn stream_lines(shared: &Shared, job: &Job, handle: &ProcessHandle) -> u64 {
    let tag = job.tag();
    let printer = &shared.printer;
    std::thread::scope(|scope| {
        if let Some(stderr) = handle.take_stderr() {
            let tag = &tag;
            scope.spawn(move || printer.lines(tag, stderr, Stream::Stderr));
        }
        handle.take_stdout().map_or(0, |stdout| printer.lines(&tag, stdout, Stream::Stdout))
    })
}

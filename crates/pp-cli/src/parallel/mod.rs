//! `pp parallel`: a GNU parallel subset on pp-process.
//!
//! - `inputs.rs` — `:::`, `::::`, stdin, the cross product.
//! - `template.rs` — replacement strings; `quote.rs` — shell quoting.
//! - `job.rs` — a job and how it ended.
//! - `workers.rs` — the slots that run jobs (timeouts, retries, stops, `--halt`).
//! - `collect.rs` — the main loop: job log, counts, output order.
//! - `output.rs` — grouped and line-buffered output, `--tag`.
//! - `joblog.rs` — the job log; `resume.rs` — `--resume`, `--resume-failed`;
//!   `halt.rs` — `--halt`;
//!   `summary.rs` — the end-of-batch summary.

pub(crate) mod collect;
pub(crate) mod halt;
pub(crate) mod inputs;
pub(crate) mod job;
pub(crate) mod joblog;
pub(crate) mod output;
pub(crate) mod quote;
pub(crate) mod resume;
pub(crate) mod summary;
pub(crate) mod template;
pub(crate) mod workers;

use std::collections::{BTreeMap, VecDeque};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pp_process::ProcessTable;

use crate::cli::ParallelArgs;
use crate::parallel::collect::Collector;
use crate::parallel::halt::failed_jobs_code;
use crate::parallel::inputs::{InputError, Source};
use crate::parallel::job::Job;
use crate::parallel::joblog::{Joblog, JoblogError};
use crate::parallel::output::Printer;
use crate::parallel::resume::{Skip, resume};
use crate::parallel::summary::Summary;
use crate::parallel::template::{Mode, Template};
use crate::parallel::workers::{Settings, Shared};
use crate::signals::{self, exit_code_for};

/// Exit code for errors other than failed jobs (GNU parallel's).
const OTHER_ERROR: u8 = 255;

/// The slots `-j 0` ("as many as possible") runs: one thread each.
const MOST_SLOTS: usize = 1024;

/// What stops a batch before it starts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
enum ParallelError {
    /// Inputs could not be read.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The job log could not be used.
    #[error(transparent)]
    Joblog(#[from] JoblogError),
    /// Signals could not be caught or a thread not started.
    #[error("cannot {what}: {source}")]
    Setup {
        /// What failed.
        what: &'static str,
        /// Why.
        source: std::io::Error,
    },
}

/// Runs `pp parallel` and returns its exit code.
pub(crate) fn main(args: ParallelArgs) -> u8 {
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pp parallel: {e}");
            OTHER_ERROR
        }
    }
}

fn run(args: ParallelArgs) -> Result<u8, ParallelError> {
    let started = Instant::now();
    let (command, mut sources) = inputs::split_command(&args.words)?;
    sources.extend(args.arg_files.iter().cloned().map(Source::File));
    let mode = if args.no_shell { Mode::Direct } else { Mode::Shell };
    let template = Template::parse(&command, mode);
    let all: Vec<Job> = inputs::load(&sources)?
        .into_iter()
        .zip(1..)
        .map(|(inputs, seq)| Job { seq, inputs })
        .collect();
    if args.dry_run {
        for job in &all {
            crate::say::say(template.fill(&job.inputs, job.seq, 1).display);
        }
        return Ok(0);
    }
    let mut summary = Summary { jobs: all.len() as u64, ..Summary::default() };
    let (jobs, joblog) = match &args.joblog {
        None => (all, None),
        Some(path) if args.resume || args.resume_failed => {
            let skip = if args.resume { Skip::Logged } else { Skip::Succeeded };
            let (jobs, skipped) = resume(path, all, &template, skip)?;
            summary.skipped = skipped;
            (jobs, Some(Joblog::append(path)?))
        }
        Some(path) => (all, Some(Joblog::create(path)?)),
    };
    let to_run = jobs.len() as u64;
    let bar = args.bar.then(|| {
        let bar = ProgressBar::with_draw_target(Some(to_run), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{wide_bar} {pos}/{len} jobs, {elapsed} elapsed, ETA {eta}",
        ) {
            bar.set_style(style);
        }
        bar
    });
    let printer = Printer::new(args.tag, bar.clone());
    let slots = match args.jobs {
        Some(0) => jobs.len().clamp(1, MOST_SLOTS),
        Some(n) => n.min(MOST_SLOTS),
        None => std::thread::available_parallelism().map_or(1, usize::from),
    }
    .min(jobs.len().max(1));
    let order = args.keep_order.then(|| jobs.iter().map(|j| j.seq).collect::<VecDeque<u64>>());
    let shared = Arc::new(Shared {
        template,
        settings: Settings {
            timeout: args.timeout,
            grace: args.grace,
            tries: args.retries.max(1),
            // -k needs each job's output whole, to print it in turn.
            line_buffer: args.line_buffer && !args.keep_order,
        },
        printer: printer.clone(),
        table: ProcessTable::new(),
        queue: Mutex::new(jobs.into()),
        no_new_jobs: AtomicBool::new(false),
        stopping: AtomicBool::new(false),
        live_slots: AtomicUsize::new(slots),
        halt: args.halt,
        to_run,
        tally: Mutex::default(),
    });
    let on_signal = Arc::clone(&shared);
    let interrupted = signals::listen(move || on_signal.stop_all())
        .map_err(|source| ParallelError::Setup { what: "catch signals", source })?;
    let (done, ended) = std::sync::mpsc::channel();
    let mut threads = Vec::with_capacity(slots);
    for slot in 1..=slots {
        let for_slot = Arc::clone(&shared);
        let done = done.clone();
        let thread = std::thread::Builder::new()
            .name(format!("pp-slot-{slot}"))
            .spawn(move || workers::slot(&for_slot, slot, &done));
        match thread {
            Ok(thread) => threads.push(thread),
            Err(source) => {
                // The slots never started are not waited for; those running
                // stop their jobs' trees and are waited for, so no job
                // outlives pp.
                shared.live_slots.fetch_sub(slots + 1 - slot, Ordering::SeqCst);
                shared.stop_all();
                // Here too, not only on the stopper thread, which may not
                // have started either: it ends once the started slots have.
                shared.stop_until_slots_end();
                for thread in threads {
                    let _ = thread.join();
                }
                return Err(ParallelError::Setup { what: "start a slot thread", source });
            }
        }
    }
    drop(done);
    let mut collector =
        Collector { joblog, summary, order, waiting: BTreeMap::new(), printer, bar: bar.clone() };
    let mut log_error = None;
    for finished in ended {
        if let Err(e) = collector.take(finished)
            && log_error.is_none()
        {
            eprintln!("pp parallel: {e}");
            log_error = Some(e);
        }
    }
    for thread in threads {
        let _ = thread.join();
    }
    collector.flush();
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let mut summary = collector.summary;
    let ended = summary.ok + summary.failed + summary.not_run;
    summary.not_run += to_run.saturating_sub(ended);
    let halted = shared.tally.lock().unwrap_or_else(PoisonError::into_inner).halted;
    summary.exit_code = match (interrupted.signal(), halted, &log_error) {
        (Some(signal), _, _) => exit_code_for(signal),
        (None, _, Some(_)) => OTHER_ERROR,
        (None, Some((halt, code)), None) => halt.exit_code(summary.failed, to_run, code),
        (None, None, None) => failed_jobs_code(summary.failed),
    };
    summary.took(started.elapsed());
    if args.json {
        eprintln!("{}", summary.json());
    } else if args.summary || (args.bar && std::io::stderr().is_terminal()) {
        eprintln!("{}", summary.line());
    }
    Ok(summary.exit_code)
}

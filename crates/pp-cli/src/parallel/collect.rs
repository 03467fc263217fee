//! The main loop's side of a batch: every ended job is logged, counted,
//! and printed (at once, or in input order with `--keep-order`).

use std::collections::{BTreeMap, VecDeque};

use indicatif::ProgressBar;

use crate::parallel::job::{Finished, Outcome};
use crate::parallel::joblog::{Joblog, JoblogError};
use crate::parallel::output::Printer;
use crate::parallel::summary::Summary;

/// What the main loop keeps while jobs end.
#[derive(Debug)]
pub(crate) struct Collector {
    /// Where ended jobs are logged.
    pub(crate) joblog: Option<Joblog>,
    /// The counts so far.
    pub(crate) summary: Summary,
    /// With `--keep-order`: the job numbers not yet printed, in order.
    pub(crate) order: Option<VecDeque<u64>>,
    /// With `--keep-order`: ended jobs waiting for their turn (`None`: nothing to print).
    pub(crate) waiting: BTreeMap<u64, Option<Finished>>,
    /// Output.
    pub(crate) printer: Printer,
    /// The progress bar.
    pub(crate) bar: Option<ProgressBar>,
}

impl Collector {
    /// Takes one ended job.
    pub(crate) fn take(&mut self, finished: Finished) -> Result<(), JoblogError> {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        if finished.outcome == Outcome::Stopped {
            self.summary.not_run += 1;
            self.print(finished.job.seq, None);
            return Ok(());
        }
        if let Some(log) = &mut self.joblog {
            log.write(&finished.entry)?;
        }
        if finished.tries > 1 {
            self.summary.retried += 1;
        }
        match finished.outcome {
            Outcome::Succeeded => self.summary.ok += 1,
            Outcome::TimedOut => {
                self.summary.failed += 1;
                self.summary.timed_out += 1;
            }
            Outcome::Failed | Outcome::Stopped => self.summary.failed += 1,
        }
        let seq = finished.job.seq;
        self.print(seq, Some(finished));
        Ok(())
    }

    /// Prints a job's output now, or when its turn comes with `--keep-order`.
    fn print(&mut self, seq: u64, finished: Option<Finished>) {
        let Some(order) = &mut self.order else {
            if let Some(f) = finished {
                self.printer.job(&f.job.tag(), &f.stdout, &f.stderr);
            }
            return;
        };
        self.waiting.insert(seq, finished);
        while let Some(next) = order.front() {
            let Some(ready) = self.waiting.remove(next) else { break };
            order.pop_front();
            if let Some(f) = ready {
                self.printer.job(&f.job.tag(), &f.stdout, &f.stderr);
            }
        }
    }

    /// At the end: prints what `--keep-order` still holds (jobs behind one
    /// that never ran), in order.
    pub(crate) fn flush(&mut self) {
        for (_, ready) in std::mem::take(&mut self.waiting) {
            if let Some(f) = ready {
                self.printer.job(&f.job.tag(), &f.stdout, &f.stderr);
            }
        }
    }
}

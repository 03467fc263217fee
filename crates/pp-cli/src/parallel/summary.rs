//! The end-of-batch summary: one line for people (`--summary`, `--bar`),
//! one JSON object for programs (`--json`), both on stderr so that stdout
//! holds only the jobs' output (as GNU parallel's does).

use std::time::Duration;

use serde::Serialize;

/// Counts of a finished batch.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub(crate) struct Summary {
    /// Jobs of the command line (those skipped by `--resume` included).
    pub(crate) jobs: u64,
    /// Jobs that exited 0.
    pub(crate) ok: u64,
    /// Jobs that failed (timed-out ones included).
    pub(crate) failed: u64,
    /// Of the failed ones, those stopped by `--timeout`.
    pub(crate) timed_out: u64,
    /// Jobs that ran more than once (`--retries`).
    pub(crate) retried: u64,
    /// Jobs skipped because the job log lists them (`--resume`, `--resume-failed`).
    pub(crate) skipped: u64,
    /// Jobs not run or stopped before they ended (`--halt`, a signal).
    pub(crate) not_run: u64,
    /// Wall time of the batch, in seconds.
    pub(crate) wall_seconds: f64,
    /// pp's exit code.
    pub(crate) exit_code: u8,
}

impl Summary {
    /// The line for people.
    pub(crate) fn line(&self) -> String {
        format!(
            "pp parallel: {} jobs: {} ok, {} failed ({} timed out), {} retried, {} skipped, {} not run; {:.3}s",
            self.jobs,
            self.ok,
            self.failed,
            self.timed_out,
            self.retried,
            self.skipped,
            self.not_run,
            self.wall_seconds
        )
    }

    /// The JSON object.
    pub(crate) fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Sets the wall time.
    pub(crate) fn took(&mut self, wall: Duration) {
        self.wall_seconds = wall.as_secs_f64();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_json_carry_every_count() {
        let summary = Summary {
            jobs: 5,
            ok: 3,
            failed: 2,
            timed_out: 1,
            retried: 1,
            skipped: 0,
            not_run: 0,
            wall_seconds: 1.5,
            exit_code: 2,
        };
        assert_eq!(
            summary.line(),
            "pp parallel: 5 jobs: 3 ok, 2 failed (1 timed out), 1 retried, 0 skipped, 0 not run; 1.500s"
        );
        let json: serde_json::Value = serde_json::from_str(&summary.json()).expect("json");
        assert_eq!(json["failed"], 2);
        assert_eq!(json["exit_code"], 2);
    }
}

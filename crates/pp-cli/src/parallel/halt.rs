//! `--halt`: when to stop a batch early, and the exit code that follows
//! (GNU parallel's `--halt` and EXIT STATUS).

use std::fmt;

/// How to stop: at once (running jobs' trees are stopped) or soon (no new
/// jobs; running ones finish).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum When {
    /// Stop running jobs and start no more.
    Now,
    /// Start no more jobs; let running ones finish.
    Soon,
}

/// Which outcome counts toward the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Failed jobs (timed-out ones included).
    Fail,
    /// Succeeded jobs.
    Success,
}

/// How many jobs of the outcome trigger the halt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Threshold {
    /// This many jobs.
    Count(u64),
    /// This percentage of all jobs.
    Percent(f64),
}

/// A parsed `--halt`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Halt {
    /// At once or after the running jobs.
    pub(crate) when: When,
    /// Which outcome is counted.
    pub(crate) outcome: Outcome,
    /// The limit.
    pub(crate) threshold: Threshold,
}

/// A `--halt` value that could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "bad --halt {value:?}: expected never, now|soon,fail=N, now|soon,fail=P%, now|soon,success=N, now|soon,success=P%, 1 or 2"
)]
pub(crate) struct HaltError {
    value: String,
}

/// Reads `--halt` (`never` is `None` through the option being absent: it
/// gives a halt that never triggers, `Count(u64::MAX)`).
pub(crate) fn parse_halt(text: &str) -> Result<Halt, HaltError> {
    let bad = || HaltError { value: text.to_owned() };
    let never =
        Halt { when: When::Soon, outcome: Outcome::Fail, threshold: Threshold::Count(u64::MAX) };
    match text {
        "never" | "0" => return Ok(never),
        "1" => {
            return Ok(Halt {
                when: When::Soon,
                outcome: Outcome::Fail,
                threshold: Threshold::Count(1),
            });
        }
        "2" => {
            return Ok(Halt {
                when: When::Now,
                outcome: Outcome::Fail,
                threshold: Threshold::Count(1),
            });
        }
        _ => {}
    }
    let (when, rule) = text.split_once(',').ok_or_else(bad)?;
    let when = match when {
        "now" => When::Now,
        "soon" => When::Soon,
        _ => return Err(bad()),
    };
    let (outcome, limit) = rule.split_once('=').ok_or_else(bad)?;
    let outcome = match outcome {
        "fail" => Outcome::Fail,
        "success" => Outcome::Success,
        _ => return Err(bad()),
    };
    let threshold = match limit.strip_suffix('%') {
        Some(percent) => match percent.parse::<f64>() {
            Ok(p) if p > 0.0 && p <= 100.0 => Threshold::Percent(p),
            _ => return Err(bad()),
        },
        None => match limit.parse::<u64>() {
            Ok(n) if n > 0 => Threshold::Count(n),
            _ => return Err(bad()),
        },
    };
    Ok(Halt { when, outcome, threshold })
}

impl Halt {
    /// Whether the batch should halt, with `failed` and `succeeded` jobs of `total` done.
    pub(crate) fn triggered(&self, failed: u64, succeeded: u64, total: u64) -> bool {
        let counted = match self.outcome {
            Outcome::Fail => failed,
            Outcome::Success => succeeded,
        };
        match self.threshold {
            Threshold::Count(n) => counted >= n,
            Threshold::Percent(p) => total > 0 && counted as f64 * 100.0 >= p * total as f64,
        }
    }

    /// The exit code after this halt triggered (GNU's EXIT STATUS): success
    /// halts exit 0; fail=1 gives the failing job's code; a percentage gives
    /// the percentage of failed jobs; else the number failed.
    pub(crate) fn exit_code(&self, failed: u64, total: u64, last_failed_code: i32) -> u8 {
        match (self.outcome, self.threshold) {
            (Outcome::Success, _) => 0,
            (Outcome::Fail, Threshold::Count(1)) => {
                u8::try_from(last_failed_code & 0xff).unwrap_or(1).max(1)
            }
            (Outcome::Fail, Threshold::Percent(_)) if total > 0 => {
                u8::try_from(failed * 100 / total).unwrap_or(100).max(1)
            }
            (Outcome::Fail, _) => failed_jobs_code(failed),
        }
    }
}

/// GNU parallel's exit code for `failed` failed jobs: the count, at most 101.
pub(crate) fn failed_jobs_code(failed: u64) -> u8 {
    u8::try_from(failed.min(101)).unwrap_or(101)
}

impl fmt::Display for Halt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let when = if self.when == When::Now { "now" } else { "soon" };
        let outcome = if self.outcome == Outcome::Fail { "fail" } else { "success" };
        match self.threshold {
            Threshold::Count(n) => write!(f, "{when},{outcome}={n}"),
            Threshold::Percent(p) => write!(f, "{when},{outcome}={p}%"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        let h = parse_halt("now,fail=1").expect("valid");
        assert_eq!(
            (h.when, h.outcome, h.threshold),
            (When::Now, Outcome::Fail, Threshold::Count(1))
        );
        let h = parse_halt("soon,fail=30%").expect("valid");
        assert_eq!(h.threshold, Threshold::Percent(30.0));
        let h = parse_halt("soon,success=2").expect("valid");
        assert_eq!(h.outcome, Outcome::Success);
        assert_eq!(parse_halt("2").expect("valid").when, When::Now);
        assert_eq!(parse_halt("now,fail=3").expect("valid").to_string(), "now,fail=3");
    }

    #[test]
    fn malformed_specs_are_named() {
        for bad in [
            "",
            "now",
            "later,fail=1",
            "now,fail",
            "now,fail=0",
            "now,fail=x",
            "now,fail=120%",
            "now,boom=1",
        ] {
            let err = parse_halt(bad).expect_err(bad);
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn triggers_and_codes_follow_gnu() {
        let h = parse_halt("soon,fail=2").expect("valid");
        assert!(!h.triggered(1, 5, 10));
        assert!(h.triggered(2, 0, 10));
        assert_eq!(h.exit_code(2, 10, 4), 2);
        let h = parse_halt("now,fail=1").expect("valid");
        assert_eq!(h.exit_code(1, 10, 3), 3);
        let h = parse_halt("now,fail=50%").expect("valid");
        assert!(!h.triggered(4, 0, 10));
        assert!(h.triggered(5, 0, 10));
        assert_eq!(failed_jobs_code(500), 101);
    }
}

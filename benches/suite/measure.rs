//! Measuring: repetitions after a warm-up, turned into a median with its
//! spread; the Python peers' timings and memory figures, taken by their own
//! script.

use std::process::Command as StdCommand;
use std::time::Instant;

/// How much to measure.
#[derive(Clone, Copy)]
pub(crate) struct Plan {
    pub(crate) reps: usize,
    /// Multiplies every operation count.
    pub(crate) scale: f64,
}

impl Plan {
    pub(crate) fn n(&self, full: u64) -> u64 {
        ((full as f64 * self.scale) as u64).max(1)
    }
}

/// A median with its spread, in the row's unit: seconds per operation, or
/// bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Figure {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl Figure {
    /// The median and spread of `samples`; `None` if there are none.
    pub(crate) fn from_samples(mut samples: Vec<f64>) -> Option<Figure> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_by(f64::total_cmp);
        let mid = samples.len() / 2;
        let median = if samples.len() % 2 == 1 {
            samples[mid]
        } else {
            (samples[mid - 1] + samples[mid]) / 2.0
        };
        Some(Figure { median, min: samples[0], max: samples[samples.len() - 1] })
    }
}

/// Times `batch` (which runs `n` operations) after one warm-up run.
pub(crate) fn measure(plan: Plan, n: u64, mut batch: impl FnMut(u64)) -> Figure {
    batch(n);
    let per_op = (0..plan.reps)
        .map(|_| {
            let started = Instant::now();
            batch(n);
            started.elapsed().as_secs_f64() / n as f64
        })
        .collect();
    Figure::from_samples(per_op).expect("at least one repetition")
}

/// Uses a result so the optimizer cannot skip computing it.
pub(crate) fn keep<T>(value: T) {
    std::hint::black_box(value);
}

/// The Python peers' script.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/peers.py");

/// Runs a Python peer measurement; `None` (and a line saying why) without python3.
pub(crate) fn python(plan: Plan, measurement: &str, n: u64) -> Option<Figure> {
    let reps = plan.reps.to_string();
    let per_op = python_lines(&["--reps", &reps], measurement, n)?
        .into_iter()
        .map(|s| s / n as f64)
        .collect();
    Figure::from_samples(per_op)
}

/// Runs a Python peer memory measurement (bytes) `plan.reps` times, each in
/// a fresh interpreter so one run's memory does not carry into the next;
/// `None` (and a line saying why) without python3 or if a run fails.
pub(crate) fn python_memory(plan: Plan, measurement: &str, n: u64) -> Option<Figure> {
    let mut bytes = Vec::new();
    for _ in 0..plan.reps {
        bytes.extend(python_lines(&[], measurement, n)?);
    }
    Figure::from_samples(bytes)
}

/// The numbers `peers.py <options> <measurement> <n>` prints, one a line.
fn python_lines(options: &[&str], measurement: &str, n: u64) -> Option<Vec<f64>> {
    let out = StdCommand::new("python3")
        .arg(SCRIPT)
        .args(options)
        .args([measurement, &n.to_string()])
        .output();
    let out = match out {
        Ok(out) if out.status.success() => out,
        Ok(out) => {
            eprintln!(
                "python peer {measurement} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Err(e) => {
            eprintln!("skipping python peer {measurement}: cannot run python3 ({e})");
            return None;
        }
    };
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect(),
    )
}

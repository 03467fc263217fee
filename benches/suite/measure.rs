//! Measuring: repetitions after a warm-up, turned into a median with its
//! spread; the Python peers' timings, taken by their own script.

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

/// A median with its spread, in seconds per operation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Figure {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl Figure {
    fn from_batches(mut per_op: Vec<f64>) -> Option<Figure> {
        if per_op.is_empty() {
            return None;
        }
        per_op.sort_by(f64::total_cmp);
        let mid = per_op.len() / 2;
        let median =
            if per_op.len() % 2 == 1 { per_op[mid] } else { (per_op[mid - 1] + per_op[mid]) / 2.0 };
        Some(Figure { median, min: per_op[0], max: per_op[per_op.len() - 1] })
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
    Figure::from_batches(per_op).expect("at least one repetition")
}

/// Uses a result so the optimizer cannot skip computing it.
pub(crate) fn keep<T>(value: T) {
    std::hint::black_box(value);
}

/// Runs a Python peer measurement; `None` (and a line saying why) without python3.
pub(crate) fn python(plan: Plan, measurement: &str, n: u64) -> Option<Figure> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/peers.py");
    let out = StdCommand::new("python3")
        .args([script, "--reps", &plan.reps.to_string(), measurement, &n.to_string()])
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
    let per_op = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse::<f64>().ok())
        .map(|s| s / n as f64)
        .collect();
    Figure::from_batches(per_op)
}

//! Spinning before sleeping: when the other process runs on another CPU, its
//! answer comes within a microsecond or two, far sooner than a futex sleep
//! and wake-up (two system calls and two context switches) would deliver it.
//!
//! The spin is bounded (at most [`MAX_SPINS`] pause instructions, in bursts
//! of [`BURST`] with a yield between them, so that on a busy machine the
//! thread that would make the change gets the CPU) and adaptive per object,
//! as glibc's adaptive mutexes are: a spin that saw the change makes the next
//! one longer, one that did not makes it shorter, down to [`MIN_SPINS`]. A
//! waiter that goes on waiting then sleeps on the futex, so an idle waiter
//! uses no CPU. Spinning waiters do not count as sleepers, so a waker that
//! finds none skips the futex wake.

use std::sync::atomic::{AtomicU32, Ordering};

/// The shortest spin, in pause instructions (a few hundred nanoseconds).
pub(crate) const MIN_SPINS: u32 = 128;
/// The longest spin (tens of microseconds).
pub(crate) const MAX_SPINS: u32 = 8_192;
/// Pause instructions between two yields.
pub(crate) const BURST: u32 = 128;

/// One object's spin budget, in this process's memory (another process's
/// waits do not change ours).
#[derive(Debug)]
pub(crate) struct Spinner {
    budget: AtomicU32,
}

impl Default for Spinner {
    fn default() -> Self {
        Spinner { budget: AtomicU32::new(MAX_SPINS / 4) }
    }
}

impl Spinner {
    /// Spins (then yields briefly) while `word` holds `seen`; true if it
    /// changed meanwhile, false if the caller should sleep.
    pub(crate) fn spin_while(&self, word: &AtomicU32, seen: u32) -> bool {
        let budget = self.budget.load(Ordering::Relaxed).clamp(MIN_SPINS, MAX_SPINS);
        let mut spun = 0;
        let changed = loop {
            let seen_change = (0..BURST).any(|_| {
                std::hint::spin_loop();
                word.load(Ordering::Acquire) != seen
            });
            spun += BURST;
            if seen_change || spun >= budget {
                break seen_change;
            }
            // With the other side on this CPU (or the CPUs busy), let it run.
            std::thread::yield_now();
        };
        let next = if changed { budget.saturating_mul(2) } else { budget / 2 };
        self.budget.store(next.clamp(MIN_SPINS, MAX_SPINS), Ordering::Relaxed);
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spin_that_sees_nothing_shrinks_to_the_minimum_and_reports_it() {
        let spinner = Spinner::default();
        let word = AtomicU32::new(5);
        for _ in 0..20 {
            assert!(!spinner.spin_while(&word, 5));
        }
        assert_eq!(spinner.budget.load(Ordering::Relaxed), MIN_SPINS);
    }

    #[test]
    fn a_changed_word_ends_the_spin_at_once_and_grows_the_budget() {
        let spinner = Spinner::default();
        let word = AtomicU32::new(6);
        let before = spinner.budget.load(Ordering::Relaxed);
        assert!(spinner.spin_while(&word, 5));
        assert_eq!(spinner.budget.load(Ordering::Relaxed), (before * 2).min(MAX_SPINS));
    }
}

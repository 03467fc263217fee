//! How long a call may wait: the one deadline representation of every pp-ipc object.
//!
//! Each waiting call comes in four forms (`x`, `try_x`, `x_timeout`,
//! `x_deadline`); all of them turn into a [`Wait`] and share one code path.

use std::time::{Duration, Instant};

/// How long an operation may wait for the object's state.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Wait {
    /// Not at all: the `try_` forms.
    No,
    /// Until `deadline`.
    Until { deadline: Instant },
    /// As long as it takes: a real blocking call, no deadline.
    Forever,
}

impl Wait {
    /// At most `timeout` from now. A timeout too large to add to now is no
    /// deadline at all (the wait could never end before it anyway).
    pub(crate) fn timeout(timeout: Duration) -> Wait {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => Wait::Until { deadline },
            None => Wait::Forever,
        }
    }

    /// Until `deadline` (which may have passed already).
    pub(crate) fn deadline(deadline: Instant) -> Wait {
        Wait::Until { deadline }
    }

    /// Time left: `None` means no limit, `Some(ZERO)` means do not wait.
    pub(crate) fn remaining(self) -> Option<Duration> {
        match self {
            Wait::No => Some(Duration::ZERO),
            Wait::Until { deadline, .. } => {
                Some(deadline.saturating_duration_since(Instant::now()))
            }
            Wait::Forever => None,
        }
    }

    /// Whether no time is left (always false for `Forever`).
    pub(crate) fn expired(self) -> bool {
        self.remaining().is_some_and(|left| left.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_too_large_for_the_clock_is_no_deadline() {
        assert!(matches!(Wait::timeout(Duration::MAX), Wait::Forever));
        assert_eq!(Wait::timeout(Duration::MAX).remaining(), None);
        assert!(!Wait::timeout(Duration::MAX).expired());
    }

    #[test]
    fn a_past_deadline_has_expired_and_reports_no_wait() {
        let past = Instant::now().checked_sub(Duration::from_secs(1)).unwrap_or_else(Instant::now);
        let wait = Wait::deadline(past);
        assert!(wait.expired());
        assert_eq!(wait.remaining(), Some(Duration::ZERO));
        assert!(Wait::No.expired());
    }
}

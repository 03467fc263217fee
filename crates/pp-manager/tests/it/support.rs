//! What the test modules share.

use std::time::Duration;

/// Polls `cond` every 10 ms for up to 30 s.
pub(crate) fn eventually(cond: impl FnMut() -> bool) -> bool {
    pp_tests::eventually(Duration::from_secs(30), cond)
}

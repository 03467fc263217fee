//! Lines for stdout that a reader who went away (`pp ipc ls | head -1`)
//! does not turn into a panic: `println!` panics when the write fails, and
//! Rust ignores SIGPIPE, so a closed pipe is a failed write.

use std::fmt::Display;
use std::io::Write;

/// Writes `text` and a newline to stdout; a failed write is dropped (the
/// reader is gone, nobody would see it).
pub(crate) fn say(text: impl Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

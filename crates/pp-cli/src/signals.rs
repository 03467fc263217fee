//! Ctrl-C, SIGTERM and SIGHUP: a listener thread that records the first
//! signal and calls back, so the caller stops its process trees and exits
//! with 128+N itself (the default action would leave the trees running:
//! every job leads a process group of its own, out of the terminal's reach).

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// The first stop signal received, if any (shared with the listener thread).
#[derive(Debug, Clone, Default)]
pub(crate) struct Interrupted(Arc<AtomicI32>);

impl Interrupted {
    /// The signal's number, once one came.
    pub(crate) fn signal(&self) -> Option<i32> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            n => Some(n),
        }
    }

    /// Whether a stop signal came.
    pub(crate) fn is_set(&self) -> bool {
        self.signal().is_some()
    }
}

/// Starts listening for SIGINT, SIGTERM and SIGHUP; `on_signal` runs on the
/// listener thread for each one, after the first was recorded.
pub(crate) fn listen(on_signal: impl Fn() + Send + 'static) -> std::io::Result<Interrupted> {
    let interrupted = Interrupted::default();
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let flag = interrupted.clone();
    std::thread::Builder::new().name("pp-signals".into()).spawn(move || {
        for signal in signals.forever() {
            let _ = flag.0.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
            on_signal();
        }
    })?;
    Ok(interrupted)
}

/// The conventional exit code for a death by `signal`.
pub(crate) fn exit_code_for(signal: i32) -> u8 {
    u8::try_from(128 + signal.clamp(0, 127)).unwrap_or(255)
}

//! Opt-in: Ctrl-C (SIGINT), SIGTERM and SIGHUP stop every child process tree
//! of the process-wide manager before the program ends.
//!
//! Every process pp starts leads a process group of its own, so a terminal's
//! SIGINT reaches only the program; without a handler it dies at once and
//! its children run on.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::error::{ManagerError, Result};
use crate::global::clean_up_bounded;
use crate::manager::ProcessManager;

/// The signals that end the program after the cleanup.
const SIGNALS: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// How long the cleanup may take before the program ends anyway: the
/// children's 2 s grace, their SIGKILL, and the pools' shutdown, with room.
const INTERRUPT_CLEANUP_LIMIT: Duration = Duration::from_secs(10);

/// How often the listening thread starts over after an unexpected failure
/// of the signal pipe before it gives up (with a warning).
const LISTEN_RESTARTS: u32 = 3;

/// Whether the handler is installed (a `Mutex`, not a `Once`, so a failed
/// installation can be tried again).
static INSTALLED: Mutex<bool> = Mutex::new(false);

/// Makes SIGINT (Ctrl-C), SIGTERM and SIGHUP stop every process tree the
/// process-wide manager runs before the program ends.
///
/// On the first of these signals, a thread of pp's:
/// 1. removes the shared-memory objects the manager created, terminates
///    every process it started with its whole tree (SIGTERM to the group,
///    2 s grace, SIGKILL) and stops its pools without waiting for running
///    thread-pool tasks, as the exit hook of [`shutdown`](crate::shutdown)
///    does, giving up after 10 s rather than hang;
/// 2. ends the program by that same signal, with the signal's default
///    action, so the parent (a shell) sees "killed by SIGINT" (status 130).
///
/// A second signal during the cleanup ends the program at once. Exit hooks
/// (`atexit`) do not run: the cleanup already did their work.
///
/// Without it, a program whose user presses Ctrl-C dies at once and its
/// children keep running: every process pp starts is in a process group of
/// its own, which the terminal's SIGINT does not reach.
///
/// A signal that was ignored when it is called stays ignored (`nohup`
/// ignores SIGHUP; a shell script's `cmd &` ignores SIGINT).
///
/// Call it once near the top of `main` (after [`init`](crate::init)); more
/// calls do nothing. It replaces any handler the program had for these
/// signals, and one installed later (by another library) may take them
/// away. It is opt-in because the program may want to handle these
/// signals itself: then call [`shutdown`](crate::shutdown) from its own
/// handler instead.
///
/// # Errors
///
/// [`ManagerError::InterruptHandler`] if the thread cannot be started or the
/// handlers cannot be registered.
///
/// # Example
///
/// ```no_run
/// use pp_manager::prelude::*;
///
/// fn main() -> Result<(), ManagerError> {
///     init();
///     pp_manager::shutdown_on_interrupt()?;
///     run_process_async(&Command::new("sleep").arg("600"))?;
///     // Ctrl-C now stops `sleep` too, then the program.
///     std::thread::sleep(std::time::Duration::from_secs(600));
///     Ok(())
/// }
/// ```
pub fn shutdown_on_interrupt() -> Result<()> {
    let mut installed = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
    if *installed {
        return Ok(());
    }
    // A signal the program was started with ignored stays ignored: `nohup`
    // ignores SIGHUP, a shell script's `cmd &` ignores SIGINT.
    let ignored = ignored_signals();
    let wanted: Vec<i32> = SIGNALS.into_iter().filter(|&s| !ignored(s)).collect();
    if wanted.is_empty() {
        *installed = true;
        return Ok(());
    }
    // The thread first: a signal-hook handler that is registered and then
    // dropped leaves its signal ignored, so register only once it can run.
    let (hand_over, signals_in) = mpsc::channel::<Signals>();
    std::thread::Builder::new()
        .name("pp-manager-signals".into())
        .spawn(move || {
            // Nothing arrives if the registration failed: the thread ends.
            if let Ok(signals) = signals_in.recv() {
                listen(signals);
            }
        })
        .map_err(|source| ManagerError::InterruptHandler {
            step: "starting the signal thread",
            source,
        })?;
    let signals = Signals::new(wanted).map_err(|source| ManagerError::InterruptHandler {
        step: "registering the SIGINT, SIGTERM and SIGHUP handlers",
        source,
    })?;
    // The thread waits on `recv` until it gets these, so the send succeeds.
    let _ = hand_over.send(signals);
    *installed = true;
    tracing::debug!("SIGINT, SIGTERM and SIGHUP now shut the process manager down");
    Ok(())
}

/// Which signals are ignored (`SIG_IGN`) now, from the `SigIgn` mask of
/// `/proc/self/status` (no `unsafe` `sigaction` query); none if it cannot be
/// read.
fn ignored_signals() -> impl Fn(i32) -> bool {
    let mask = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find_map(|l| l.strip_prefix("SigIgn:"))?;
            u64::from_str_radix(line.trim(), 16).ok()
        })
        .unwrap_or(0);
    move |signal| (1..=64).contains(&signal) && mask & (1 << (signal - 1)) != 0
}

/// The signal thread: cleans up on the first signal (on another thread, so
/// this one sees a second signal), ends the program at once on a second.
fn listen(mut signals: Signals) {
    let mut first = true;
    for _ in 0..=LISTEN_RESTARTS {
        // signal-hook panics on an unexpected error of its pipe: start over.
        let listened = catch_unwind(AssertUnwindSafe(|| {
            for signal in signals.forever() {
                if !first {
                    die_by(signal);
                }
                first = false;
                tracing::warn!(
                    signal,
                    "signal received: stopping every child process, then exiting"
                );
                let cleanup = std::thread::Builder::new()
                    .name("pp-manager-interrupt".into())
                    .spawn(move || {
                        clean_up_bounded(
                            INTERRUPT_CLEANUP_LIMIT,
                            ProcessManager::shutdown_on_interrupt,
                        );
                        die_by(signal);
                    });
                if cleanup.is_err() {
                    // No thread for it: clean up here, deaf to a second signal meanwhile.
                    clean_up_bounded(
                        INTERRUPT_CLEANUP_LIMIT,
                        ProcessManager::shutdown_on_interrupt,
                    );
                    die_by(signal);
                }
            }
        }));
        if listened.is_ok() {
            return; // The iterator was closed: nobody does that, but then nothing is left to do.
        }
    }
    tracing::warn!(
        "the signal pipe keeps failing: SIGINT, SIGTERM and SIGHUP are no longer handled"
    );
}

/// Ends the program by `signal`'s default action (so the parent sees which
/// signal), or, should that fail, exits with status 128 + `signal`. Neither
/// runs exit hooks.
fn die_by(signal: i32) -> ! {
    let _ = signal_hook::low_level::emulate_default_handler(signal);
    signal_hook::low_level::exit(128 + signal)
}

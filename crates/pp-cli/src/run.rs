//! `pp run`: one command with pp's tree kill; its exit code passed on.

use std::sync::{Arc, Mutex, PoisonError};

use pp_process::{Command, Error, Input, Output, ProcessHandle};

use crate::cli::RunArgs;
use crate::duration::show;
use crate::signals::{self, exit_code_for};
use crate::sys;

/// Exit code when the timeout stopped the command (as coreutils `timeout`).
pub(crate) const TIMED_OUT: u8 = 124;
/// Exit code when pp itself failed (as coreutils `timeout`).
pub(crate) const PP_FAILED: u8 = 125;
/// Exit code when the program exists but cannot be executed (as the shell).
pub(crate) const CANNOT_EXECUTE: u8 = 126;
/// Exit code when the program is not found (as the shell).
pub(crate) const NOT_FOUND: u8 = 127;

/// Runs `pp run` and returns its exit code.
pub(crate) fn main(args: RunArgs) -> u8 {
    let mut command = Command::from_argv(&args.command)
        .stdin(Input::Inherit)
        .stdout(Output::Inherit)
        .stderr(Output::Inherit)
        .grace(args.grace);
    if let Some(limit) = args.timeout {
        command = command.timeout(limit);
    }
    if let Some(dir) = &args.cwd {
        command = command.cwd(dir);
    }
    for (key, value) in &args.env {
        command = command.env(key, value);
    }
    // The listener may fire before the spawn returns: it stops whatever is
    // in the slot by then, and the code below stops a process started after.
    let running: Arc<Mutex<Option<ProcessHandle>>> = Arc::default();
    let slot = Arc::clone(&running);
    let interrupted = match signals::listen(move || {
        if let Some(handle) = slot.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            let _ = handle.terminate();
        }
    }) {
        Ok(flag) => flag,
        Err(e) => {
            eprintln!("pp run: cannot listen for signals: {e}");
            return PP_FAILED;
        }
    };
    let handle = match command.spawn() {
        Ok(handle) => handle,
        Err(e) => return start_failure(&e),
    };
    *running.lock().unwrap_or_else(PoisonError::into_inner) = Some(handle.clone());
    if interrupted.is_set() {
        let _ = handle.terminate();
    }
    // On an interactive terminal the command gets the foreground, as a
    // shell's job would: it may read the terminal, and Ctrl-C reaches it.
    let foreground = handle.pid().and_then(sys::give_terminal);
    let result = handle.wait();
    drop(foreground);
    if let Some(signal) = interrupted.signal() {
        return exit_code_for(signal);
    }
    match result {
        Ok(output) => match (output.code, output.signal) {
            (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(PP_FAILED),
            (None, Some(signal)) => exit_code_for(signal),
            (None, None) => PP_FAILED,
        },
        Err(Error::Timeout { limit, .. }) => {
            eprintln!("pp run: timed out after {}; stopped the whole process tree", show(limit));
            TIMED_OUT
        }
        Err(e) => {
            eprintln!("pp run: {e}");
            PP_FAILED
        }
    }
}

/// The exit code and message for a command that did not start.
fn start_failure(error: &Error) -> u8 {
    eprintln!("pp run: {error}");
    match error {
        Error::ProgramNotFound { .. } => NOT_FOUND,
        Error::PermissionDenied { .. } => CANNOT_EXECUTE,
        _ => PP_FAILED,
    }
}

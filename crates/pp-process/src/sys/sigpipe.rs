//! SIGPIPE around pp's own writes to a child's stdin (a `StdinWriter`,
//! `Input::Bytes`). A write to a pipe whose reader is gone raises SIGPIPE
//! on the writing thread, whose default action kills the whole program: std
//! ignores it in Rust binaries, but not every program keeps that (CLIs
//! restore the default for `| head`, and a library loaded into a C program
//! never ran std's start-up). So pp's writes block it: the write fails
//! with `EPIPE` instead.

use std::mem::MaybeUninit;

/// A set holding SIGPIPE only.
fn sigpipe_set() -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set it is given; sigaddset then
    // adds a valid signal number to that initialised set.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), libc::SIGPIPE);
        set.assume_init()
    }
}

/// Runs `write` (one write to a pipe) with SIGPIPE blocked on this thread,
/// then takes back a SIGPIPE the write raised, and restores the mask: a
/// gone reader is an `EPIPE` error, never a signal.
pub(crate) fn without_sigpipe<R>(write: impl FnOnce() -> R) -> R {
    let set = sigpipe_set();
    let mut old = MaybeUninit::<libc::sigset_t>::uninit();
    let mut pending = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `set` is initialised; `old` and `pending` are written by the
    // calls before they are read.
    let was_pending = unsafe {
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, old.as_mut_ptr());
        libc::sigpending(pending.as_mut_ptr());
        libc::sigismember(pending.as_ptr(), libc::SIGPIPE) == 1
    };
    let result = write();
    let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `set` and `zero` are initialised; a null info pointer is
    // allowed; `old` was written by pthread_sigmask above. A SIGPIPE that was
    // pending before is someone else's and stays.
    unsafe {
        if !was_pending {
            libc::sigtimedwait(&set, std::ptr::null_mut(), &zero);
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), std::ptr::null_mut());
    }
    result
}

//! SIGPIPE around pp's own writes to a child's stdin (a `StdinWriter`,
//! `Input::Bytes`). A write to a pipe whose reader is gone raises SIGPIPE
//! on the writing thread, whose default action kills the whole program: std
//! ignores it in Rust binaries, but not every program keeps that (CLIs
//! restore the default for `| head`, and a library loaded into a C program
//! never ran std's start-up). So pp's writes block it: the write fails
//! with `EPIPE` instead.

use std::io;
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
/// takes back the SIGPIPE an `EPIPE` raised, and restores the mask: a gone
/// reader is an `EPIPE` error, never a signal. Two mask calls per write; a
/// third only on `EPIPE`; one alone where the caller blocks SIGPIPE itself
/// (the signal then stays pending, as it would without pp).
pub(crate) fn without_sigpipe(write: impl FnOnce() -> io::Result<usize>) -> io::Result<usize> {
    let set = sigpipe_set();
    let mut old = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `set` is initialised; pthread_sigmask writes `old` before it is read.
    let already_blocked = unsafe {
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, old.as_mut_ptr());
        libc::sigismember(old.as_ptr(), libc::SIGPIPE) == 1
    };
    let result = write();
    if already_blocked {
        return result;
    }
    // SIGPIPE was unblocked until now, so none of this thread's was pending:
    // one pending now is the write's.
    if result.as_ref().is_err_and(|e| e.raw_os_error() == Some(libc::EPIPE)) {
        let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `set` and `zero` are initialised; a null info pointer is allowed.
        unsafe { libc::sigtimedwait(&set, std::ptr::null_mut(), &zero) };
    }
    // SAFETY: `old` was written by pthread_sigmask above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), std::ptr::null_mut()) };
    result
}

//! Handing a worker its end of the socket pair across `exec`, and taking it
//! back on the worker's side. With `remote.rs`, the only `unsafe` of pp-pool.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes `fd` (close-on-exec in this process) survive the `exec` of the
/// child `command` starts, at the same number. Only that child's copy loses
/// close-on-exec: other children started meanwhile never inherit it.
///
/// `fd` must stay open until `command` has been spawned.
pub(crate) fn inherit(command: &mut Command, fd: &OwnedFd) {
    let raw: RawFd = fd.as_raw_fd();
    let pre_exec = move || {
        // SAFETY: `raw` is open in the child: the child's descriptor table is
        // a copy of ours at fork, and the caller keeps `fd` open until spawn
        // returns. The borrow lives for this one call only.
        let fd = unsafe { BorrowedFd::borrow_raw(raw) };
        // fcntl(F_SETFD) is a raw system call: async-signal-safe, no allocation.
        rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty()).map_err(io::Error::from)
    };
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe work is allowed: it makes one system call (fcntl) and
    // touches no lock, no allocator and no shared state (`raw` is a copied integer).
    unsafe {
        command.pre_exec(pre_exec);
    }
}

/// Takes ownership of descriptor `fd`, which this process inherited at exec,
/// if it is open and a socket (read from `/proc/self/fd`, without touching
/// the descriptor). Sets close-on-exec on it, so what tasks start never
/// inherits it. Called once per process (see `worker::init`).
pub(crate) fn adopt_inherited_socket(fd: RawFd) -> Result<OwnedFd, String> {
    if fd < 3 {
        return Err(format!("descriptor {fd} is a standard stream, not a pool connection"));
    }
    let target = std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map_err(|e| format!("descriptor {fd} is not open ({e})"))?;
    if !target.to_string_lossy().starts_with("socket:[") {
        return Err(format!("descriptor {fd} is not a socket (it is {})", target.display()));
    }
    // SAFETY: `fd` is open (its /proc/self/fd entry exists) and was inherited
    // at exec: nothing in this process opened it, so nothing else owns it.
    // `worker::init` calls this once and then ends the process (it runs at
    // the top of `main`, or in a test binary in the one hidden test libtest
    // runs), and nothing else here knows the number: it is claimed only here.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    rustix::io::fcntl_setfd(&owned, rustix::io::FdFlags::CLOEXEC)
        .map_err(|e| format!("cannot set close-on-exec on descriptor {fd}: {e}"))?;
    Ok(owned)
}

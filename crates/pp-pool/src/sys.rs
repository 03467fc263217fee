//! The Linux calls of pp-pool beyond its socket: a worker taking over the
//! descriptor it inherited and an exit hook (with `remote.rs`, the only
//! `unsafe` of pp-pool), and a supervisor's alarm.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;

/// A supervisor's alarm, an eventfd: a cancel, a shutdown or the exit of its
/// worker rings it, and the supervisor waits on it beside the worker's
/// socket, so it is woken at once instead of finding out at its next look.
#[derive(Debug)]
pub(crate) struct Alarm(OwnedFd);

impl Alarm {
    pub(crate) fn new() -> io::Result<Alarm> {
        use rustix::event::{EventfdFlags, eventfd};
        Ok(Alarm(eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?))
    }

    /// Wakes the supervisor now, or at its next wait if it is busy.
    pub(crate) fn ring(&self) {
        // Fails only when the counter would overflow: it is ringing already.
        let _ = rustix::io::write(&self.0, &1u64.to_ne_bytes());
    }

    /// Forgets the rings so far (the supervisor then checks what they were for).
    pub(crate) fn silence(&self) {
        let mut count = [0u8; 8];
        // Fails (EAGAIN) only when it was silent already.
        let _ = rustix::io::read(&self.0, &mut count);
    }
}

impl AsFd for Alarm {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// Every supervisor's alarm, by slot. Held by the pool and (weakly) by each
/// of its tasks, in an allocation of its own: the reference count a task
/// changes is on no cache line the supervisors read.
#[derive(Debug)]
pub(crate) struct Alarms(Vec<Arc<Alarm>>);

impl Alarms {
    /// `count` silent alarms.
    pub(crate) fn new(count: usize) -> io::Result<Alarms> {
        (0..count).map(|_| Alarm::new().map(Arc::new)).collect::<io::Result<_>>().map(Alarms)
    }

    /// The alarm of the supervisor in `slot`.
    pub(crate) fn get(&self, slot: usize) -> Option<&Arc<Alarm>> {
        self.0.get(slot)
    }

    /// Wakes every supervisor.
    pub(crate) fn ring_all(&self) {
        self.0.iter().for_each(|alarm| alarm.ring());
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

/// Runs `hook` at a normal exit of the program (a forked copy that exits
/// runs it too: the hook checks which process it is in).
pub(crate) fn at_exit(hook: extern "C" fn()) {
    // SAFETY: `hook` is a plain function that lives for the whole program;
    // atexit only keeps the pointer. Callers' hooks catch their own panics,
    // so none unwinds into the C runtime.
    unsafe { libc::atexit(hook) };
}

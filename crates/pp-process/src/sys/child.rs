//! The fallback spawn path (std's, where `sys::spawn` cannot run): what a
//! child does between fork and exec — join its cgroup, take its resource
//! limits and niceness, arrange to die with its parent, move its passed
//! descriptors to their numbers — registered with `pre_exec` (which makes
//! std fork).

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;

use rustix::process::{Resource, Rlimit, Signal};

/// The child's setup; empty means none (and std keeps its faster spawn path).
#[derive(Debug, Default)]
pub(crate) struct ChildSetup {
    /// The new cgroup's `cgroup.procs`, open for writing.
    pub(crate) cgroup_procs: Option<File>,
    /// Resource limits: (resource, soft, hard).
    pub(crate) rlimits: Vec<(Resource, u64, u64)>,
    pub(crate) nice: Option<i32>,
    pub(crate) die_with_parent: bool,
    /// Descriptors the child gets at these numbers; each numbered above
    /// every target (see `Command::passed_fds`).
    pub(crate) passed_fds: Vec<(OwnedFd, RawFd)>,
}

impl ChildSetup {
    fn is_empty(&self) -> bool {
        self.cgroup_procs.is_none()
            && self.rlimits.is_empty()
            && self.nice.is_none()
            && !self.die_with_parent
            && self.passed_fds.is_empty()
    }
}

/// Makes `cmd`'s child run `setup` after fork, before exec. A step that
/// fails makes the spawn fail with that step's OS error.
///
/// std's child reports a failed `exec` through a pipe it opens at spawn
/// time, at the lowest free numbers; moving a passed descriptor onto that
/// number would cut the report off. So every target number that is free
/// now is taken here, until the spawn is over, by a close-on-exec
/// placeholder the child's move replaces. (A target held by another
/// descriptor of this program is not free for std's pipe either, unless
/// another thread closes it during the spawn: then a failed `exec` may be
/// reported as a start followed by exit code 1.)
pub(crate) fn install(cmd: &mut std::process::Command, mut setup: ChildSetup) -> io::Result<()> {
    if setup.is_empty() {
        return Ok(());
    }
    let mut placeholders = Vec::new();
    for (fd, target) in &setup.passed_fds {
        let placeholder = super::spawn::copy_fd_above(fd, *target)?;
        if placeholder.as_raw_fd() == *target {
            placeholders.push(placeholder);
        }
    }
    let passed: Vec<(RawFd, RawFd)> =
        setup.passed_fds.iter().map(|(fd, target)| (fd.as_raw_fd(), *target)).collect();
    // Owned by the hook, so they stay open until the spawn is over.
    let keep_open = (std::mem::take(&mut setup.passed_fds), placeholders);
    let parent = rustix::process::getpid();
    let run = move || -> io::Result<()> {
        let _keep_open = &keep_open;
        if let Some(procs) = &setup.cgroup_procs {
            // "0" moves the writer: this child, before it can fork anything.
            rustix::io::write(procs, b"0")?;
        }
        for &(resource, soft, hard) in &setup.rlimits {
            rustix::process::setrlimit(
                resource,
                Rlimit { current: Some(soft), maximum: Some(hard) },
            )?;
        }
        if let Some(nice) = setup.nice {
            rustix::process::setpriority_process(None, nice)?;
        }
        if setup.die_with_parent {
            rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
            // The parent may have died before the line above: then nobody
            // would ever send the signal.
            if rustix::process::getppid() != Some(parent) {
                return Err(io::Error::from_raw_os_error(libc_esrch()));
            }
        }
        // Last, as std has set up the streams by now: each passed
        // descriptor onto its target (replacing a placeholder, if there),
        // without close-on-exec. A source is never a target (all are
        // above), so none is overwritten before it is moved.
        for &(fd, target) in &passed {
            move_fd(fd, target)?;
        }
        Ok(())
    };
    // SAFETY: `pre_exec` runs the closure in the forked child, where only
    // async-signal-safe work is allowed. The closure only makes raw system
    // calls (write, setrlimit, setpriority, prctl, getppid through rustix;
    // dup2), which neither allocate nor take locks; the values it uses were
    // prepared before the fork (the open files, the limits, the parent's
    // pid, the descriptor numbers), and building an `io::Error` from an OS
    // error code does not allocate.
    unsafe {
        cmd.pre_exec(run);
    }
    Ok(())
}

/// `dup2(fd, target)` in a forked child: `target` becomes a copy of `fd`
/// that stays open across exec. One system call; async-signal-safe.
fn move_fd(fd: RawFd, target: RawFd) -> io::Result<()> {
    // SAFETY: dup2 only acts on this process's descriptor table: `fd` is
    // open (the hook owns the descriptor, and the child's table is a copy of
    // the parent's), and `target` is a number the caller asked for, whose
    // previous descriptor, if any, is ours to replace (a placeholder, or one
    // of the parent's, all close-on-exec and so about to close anyway).
    if unsafe { libc::dup2(fd, target) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn libc_esrch() -> i32 {
    rustix::io::Errno::SRCH.raw_os_error()
}

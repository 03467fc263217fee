//! The fallback spawn path (std's, where `sys::spawn` cannot run): what a
//! child does between fork and exec — join its cgroup, take its resource
//! limits and niceness, arrange to die with its parent — registered with
//! `pre_exec` (which makes std fork).

use std::fs::File;
use std::io;
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
}

impl ChildSetup {
    fn is_empty(&self) -> bool {
        self.cgroup_procs.is_none()
            && self.rlimits.is_empty()
            && self.nice.is_none()
            && !self.die_with_parent
    }
}

/// Makes `cmd`'s child run `setup` after fork, before exec. A step that
/// fails makes the spawn fail with that step's OS error.
pub(crate) fn install(cmd: &mut std::process::Command, setup: ChildSetup) {
    if setup.is_empty() {
        return;
    }
    let parent = rustix::process::getpid();
    let run = move || -> io::Result<()> {
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
        Ok(())
    };
    // SAFETY: `pre_exec` runs the closure in the forked child, where only
    // async-signal-safe work is allowed. The closure only makes raw system
    // calls through rustix (write, setrlimit, setpriority, prctl, getppid),
    // which neither allocate nor take locks; the values it uses were prepared
    // before the fork (the open file, the limits, the parent's pid), and
    // building an `io::Error` from an OS error code does not allocate.
    unsafe {
        cmd.pre_exec(run);
    }
}

fn libc_esrch() -> i32 {
    rustix::io::Errno::SRCH.raw_os_error()
}

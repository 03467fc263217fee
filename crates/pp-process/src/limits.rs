//! Resource limits a command runs under: rlimits for any command, cgroup v2
//! limits where pp contains the process in a cgroup with the controller.

use std::time::Duration;

use rustix::process::Resource;

use crate::error::{Error, Result};

/// A resource limit for a command ([`Command::limit`](crate::Command::limit)).
///
/// The rlimits apply to every command (the kernel enforces them per
/// process); the cgroup limits need cgroup containment with the controller
/// delegated to pp's cgroups, and are an error otherwise, never ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// `RLIMIT_AS`: bytes of address space; allocations past it fail.
    AddressSpace(u64),
    /// `RLIMIT_CPU`: CPU time, whole seconds (at least one); the process
    /// gets SIGXCPU when it is used up and SIGKILL a second later.
    CpuTime(Duration),
    /// `RLIMIT_NOFILE`: open file descriptors.
    OpenFiles(u64),
    /// `RLIMIT_NPROC`: processes of the user (not enforced for root).
    Processes(u64),
    /// `RLIMIT_CORE`: bytes of a core dump; 0 writes none.
    CoreSize(u64),
    /// cgroup `memory.max`: bytes of memory for the whole tree; past it the
    /// kernel's OOM killer stops it.
    Memory(u64),
    /// cgroup `pids.max`: processes and threads in the whole tree.
    Pids(u64),
    /// cgroup `cpu.max`: CPU time per period for the whole tree.
    CpuShare {
        /// CPU time allowed per period.
        quota: Duration,
        /// The period (1 ms to 1 s).
        period: Duration,
    },
}

/// Smallest sensible amounts: below them no program starts.
const MIN_MEMORY: u64 = 1 << 20;

impl Limit {
    /// The limit's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Limit::AddressSpace(_) => "address space",
            Limit::CpuTime(_) => "CPU time",
            Limit::OpenFiles(_) => "open files",
            Limit::Processes(_) => "processes",
            Limit::CoreSize(_) => "core size",
            Limit::Memory(_) => "memory",
            Limit::Pids(_) => "pids",
            Limit::CpuShare { .. } => "CPU share",
        }
    }

    /// The cgroup controller the limit needs, if it is a cgroup limit.
    pub(crate) fn controller(&self) -> Option<&'static str> {
        match self {
            Limit::Memory(_) => Some("memory"),
            Limit::Pids(_) => Some("pids"),
            Limit::CpuShare { .. } => Some("cpu"),
            _ => None,
        }
    }

    /// Checks the value; [`Error::InvalidLimit`] names it and the range.
    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |value: String, reason: &'static str| {
            Err(Error::InvalidLimit { limit: self.name(), value, reason })
        };
        match *self {
            Limit::AddressSpace(bytes) | Limit::Memory(bytes) if bytes < MIN_MEMORY => {
                bad(format!("{bytes} bytes"), "at least 1 MiB is needed to start a program")
            }
            Limit::CpuTime(t) if t.as_secs() == 0 => {
                bad(format!("{t:?}"), "the kernel counts CPU time in whole seconds: at least 1 s")
            }
            Limit::CpuTime(t) if t.as_secs() > u32::MAX as u64 => {
                bad(format!("{t:?}"), "at most u32::MAX seconds")
            }
            Limit::OpenFiles(n) if n < 3 => {
                bad(n.to_string(), "at least 3 (stdin, stdout, stderr)")
            }
            Limit::OpenFiles(n) if n > 1 << 30 => bad(n.to_string(), "at most 2^30"),
            Limit::Processes(0) | Limit::Pids(0) => bad("0".into(), "at least 1"),
            Limit::CpuShare { period, .. }
                if period < Duration::from_millis(1) || period > Duration::from_secs(1) =>
            {
                bad(format!("period {period:?}"), "the period must be 1 ms to 1 s")
            }
            Limit::CpuShare { quota, .. } if quota < Duration::from_millis(1) => {
                bad(format!("quota {quota:?}"), "the quota must be at least 1 ms")
            }
            _ => Ok(()),
        }
    }

    /// The rlimit (resource, soft, hard) this limit sets, if it is one.
    pub(crate) fn rlimit(&self) -> Option<(Resource, u64, u64)> {
        Some(match *self {
            Limit::AddressSpace(b) => (Resource::As, b, b),
            // SIGXCPU at the soft limit, so the end is reported as a CPU limit;
            // SIGKILL a second later if the program ignores it.
            Limit::CpuTime(t) => (Resource::Cpu, t.as_secs(), t.as_secs() + 1),
            Limit::OpenFiles(n) => (Resource::Nofile, n, n),
            Limit::Processes(n) => (Resource::Nproc, n, n),
            Limit::CoreSize(b) => (Resource::Core, b, b),
            _ => return None,
        })
    }

    /// The cgroup file and value this limit writes, if it is a cgroup limit.
    pub(crate) fn cgroup_file(&self) -> Option<(&'static str, String)> {
        Some(match *self {
            Limit::Memory(b) => ("memory.max", b.to_string()),
            Limit::Pids(n) => ("pids.max", n.to_string()),
            Limit::CpuShare { quota, period } => {
                ("cpu.max", format!("{} {}", quota.as_micros(), period.as_micros()))
            }
            _ => return None,
        })
    }
}

/// Checks a niceness value: -20 (most favoured) to 19.
pub(crate) fn validate_nice(nice: i32) -> Result<()> {
    if (-20..=19).contains(&nice) {
        Ok(())
    } else {
        Err(Error::InvalidLimit {
            limit: "niceness",
            value: nice.to_string(),
            reason: "niceness runs from -20 to 19",
        })
    }
}

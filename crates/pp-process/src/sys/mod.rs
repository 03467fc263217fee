//! Linux calls: pidfds, process groups, epoll, eventfd, non-blocking pipes.
//!
//! Everything OS-specific in pp-process goes through here, so a port to
//! another OS replaces this module and the reactor's event loop.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use rustix::event::{EventfdFlags, Timespec, epoll};
use rustix::process::{Pid, PidfdFlags, Signal};

pub(crate) mod cgroup;
pub(crate) mod child;
pub(crate) mod sigpipe;
pub(crate) mod spawn;

pub(crate) use rustix::event::epoll::{Event, EventData, EventFlags};

/// Whether this process (by its effective ids) may enter directory `dir`.
pub(crate) fn can_enter(dir: &std::path::Path) -> io::Result<()> {
    use rustix::fs::{Access, AtFlags, CWD};
    Ok(rustix::fs::accessat(CWD, dir, Access::EXEC_OK, AtFlags::EACCESS)?)
}

/// Opens a pidfd for a child we have not reaped yet (so the pid cannot have been reused).
pub(crate) fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = to_pid(pid)?;
    Ok(rustix::process::pidfd_open(pid, PidfdFlags::empty())?)
}

/// The three outcomes of signalling a process group.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum GroupSignal {
    Sent,
    /// No process is left in the group.
    Gone,
}

/// Sends `signal` to every process of the group `pgid`.
pub(crate) fn signal_group(pgid: u32, kill: bool) -> io::Result<GroupSignal> {
    let signal = if kill { Signal::KILL } else { Signal::TERM };
    match rustix::process::kill_process_group(to_pid(pgid)?, signal) {
        Ok(()) => Ok(GroupSignal::Sent),
        Err(rustix::io::Errno::SRCH) => Ok(GroupSignal::Gone),
        Err(e) => Err(e.into()),
    }
}

/// Sends SIGTERM (or SIGKILL) to one process; a process already gone is fine.
pub(crate) fn signal_pid(pid: u32, kill: bool) {
    let signal = if kill { Signal::KILL } else { Signal::TERM };
    if let Ok(pid) = to_pid(pid) {
        let _ = rustix::process::kill_process(pid, signal);
    }
}

/// Makes this process the reaper of its orphaned descendants.
pub(crate) fn set_child_subreaper() -> io::Result<()> {
    Ok(rustix::process::set_child_subreaper(Some(rustix::process::getpid()))?)
}

/// A zombie child of this process.
pub(crate) struct Zombie {
    pub(crate) pid: u32,
    pub(crate) pgid: u32,
    /// Its cgroup v2 path (`0::` line of `/proc/<pid>/cgroup`), if readable.
    pub(crate) cgroup: Option<String>,
}

/// This process's children that are zombies now.
pub(crate) fn zombie_children() -> Vec<Zombie> {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (state, ppid, pgid) = parse_stat(&stat)?;
            if state != 'Z' || ppid != me {
                return None;
            }
            let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
                .ok()
                .and_then(|c| c.lines().find_map(|l| l.strip_prefix("0::")).map(str::to_owned));
            Some(Zombie { pid, pgid, cgroup })
        })
        .collect()
}

/// Collects the exit status of zombie child `pid` (only that one); true if it did.
pub(crate) fn reap_zombie(pid: u32) -> bool {
    let Ok(pid) = to_pid(pid) else { return false };
    matches!(rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG), Ok(Some(_)))
}

/// Whether the calling thread is the process's main thread (which lives as
/// long as the process).
pub(crate) fn on_main_thread() -> bool {
    rustix::thread::gettid() == rustix::process::getpid()
}

/// Whether a live (not zombie) process is left in the group `pgid`.
///
/// Zombies do not count: an orphaned descendant that died stays a zombie
/// until init reaps it, and some inits (containers, microVMs) never do.
pub(crate) fn group_alive(pgid: u32) -> bool {
    let Ok(pid) = to_pid(pgid) else { return false };
    if rustix::process::test_kill_process_group(pid) == Err(rustix::io::Errno::SRCH) {
        return false;
    }
    // Some member exists: look for one that is not a zombie.
    let Ok(dir) = std::fs::read_dir("/proc") else { return true };
    dir.flatten().any(|entry| {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { return false };
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{name}/stat")) else { return false };
        match parse_stat(&stat) {
            Some((state, _, group)) => group == pgid && state != 'Z' && state != 'X',
            None => false,
        }
    })
}

/// Parses `/proc/<pid>/stat` into (state, parent pid, process group).
pub(crate) fn parse_stat(stat: &str) -> Option<(char, u32, u32)> {
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, ppid, pgrp))
}

fn to_pid(pid: u32) -> io::Result<Pid> {
    i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("bad pid {pid}")))
}

pub(crate) fn set_nonblocking(fd: impl AsFd) -> io::Result<()> {
    Ok(rustix::io::ioctl_fionbio(fd, true)?)
}

pub(crate) fn eventfd() -> io::Result<OwnedFd> {
    Ok(rustix::event::eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?)
}

pub(crate) fn eventfd_signal(fd: impl AsFd) {
    // EAGAIN means the counter is saturated: the reactor is already due to wake.
    let _ = rustix::io::write(fd, &1u64.to_ne_bytes());
}

pub(crate) fn eventfd_drain(fd: impl AsFd) {
    let mut buf = [0u8; 8];
    let _ = rustix::io::read(fd, &mut buf);
}

pub(crate) fn epoll_create() -> io::Result<OwnedFd> {
    Ok(epoll::create(epoll::CreateFlags::CLOEXEC)?)
}

pub(crate) fn epoll_add(
    ep: impl AsFd,
    fd: impl AsFd,
    token: u64,
    flags: EventFlags,
) -> io::Result<()> {
    Ok(epoll::add(ep, fd, EventData::new_u64(token), flags)?)
}

pub(crate) fn epoll_delete(ep: impl AsFd, fd: impl AsFd) {
    // Failing to delete only means the fd was never added; closing it removes it anyway.
    let _ = epoll::delete(ep, fd);
}

/// Arms `fd` in `ep` for one event (`EPOLLONESHOT`) under `token`: added
/// the first time (`added` false), re-armed after. Level-triggered, so a
/// pipe already ready when armed reports at once.
pub(crate) fn epoll_arm_once(
    ep: impl AsFd,
    fd: impl AsFd,
    token: u64,
    flags: EventFlags,
    added: bool,
) -> io::Result<()> {
    let flags = flags | EventFlags::ONESHOT;
    let data = EventData::new_u64(token);
    Ok(if added { epoll::modify(ep, fd, data, flags) } else { epoll::add(ep, fd, data, flags) }?)
}

/// Which way a pipe end is waited on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Readable: data, end of file or an error.
    Read,
    /// Writable: room, or the reader gone.
    Write,
}

impl Direction {
    pub(crate) fn epoll_flags(self) -> EventFlags {
        match self {
            Direction::Read => EventFlags::IN,
            Direction::Write => EventFlags::OUT,
        }
    }
}

/// Waits until `fd` is ready in `direction` (hang-up and errors count as
/// ready: the next call reports them); `None` waits forever. Returns
/// whether it is ready, `false` once `timeout` has passed.
pub(crate) fn wait_ready(
    fd: impl AsFd,
    direction: Direction,
    timeout: Option<Duration>,
) -> io::Result<bool> {
    use rustix::event::{PollFd, PollFlags};
    let flags = match direction {
        Direction::Read => PollFlags::IN,
        Direction::Write => PollFlags::OUT,
    };
    let timeout = timeout.map(|t| Timespec {
        tv_sec: t.as_secs().min(i32::MAX as u64) as _,
        tv_nsec: t.subsec_nanos() as _,
    });
    let mut fds = [PollFd::new(&fd, flags)];
    match rustix::event::poll(&mut fds, timeout.as_ref()) {
        Ok(n) => Ok(n > 0),
        // Interrupted: the caller loops and works out what time is left.
        Err(rustix::io::Errno::INTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Waits for events; `None` waits forever. Interrupted waits return no events.
pub(crate) fn epoll_wait(
    ep: impl AsFd,
    events: &mut Vec<Event>,
    timeout: Option<Duration>,
) -> io::Result<()> {
    events.clear();
    let timeout = timeout.map(|t| Timespec {
        tv_sec: t.as_secs().min(i32::MAX as u64) as _,
        tv_nsec: t.subsec_nanos() as _,
    });
    match epoll::wait(ep, rustix::buffer::spare_capacity(events), timeout.as_ref()) {
        Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The number of threads of this process, from `/proc/self/status`.
pub fn thread_count() -> io::Result<usize> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| io::Error::other("no Threads: line in /proc/self/status"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_parse_past_odd_names() {
        let line = "42 (a) b (c)) S 7 42 42 0 -1 4194560";
        assert_eq!(parse_stat(line), Some(('S', 7, 42)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn our_own_group_is_alive() {
        let pgid = rustix::process::getpgrp().as_raw_pid() as u32;
        assert!(group_alive(pgid));
    }
}

//! The terminal calls `pp run` needs: handing the foreground to the
//! command's process group and taking it back. Every child pp starts leads
//! a group of its own, so without this a command reading the terminal
//! would be stopped by SIGTTIN, and Ctrl-C would reach only pp.

use std::io::IsTerminal;

/// The terminal on stdin, given to a command's process group until dropped.
#[derive(Debug)]
pub(crate) struct Foreground {
    /// pp's own process group, which had the terminal before.
    previous: libc::pid_t,
}

/// Gives the terminal on stdin to process group `pgid` when pp holds it in
/// the foreground; `None` when stdin is no terminal or pp is in the background.
pub(crate) fn give_terminal(pgid: u32) -> Option<Foreground> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    let pgid = libc::pid_t::try_from(pgid).ok()?;
    // SAFETY: tcgetpgrp and getpgrp only read process state; descriptor 0 is open (a terminal).
    let (holder, ours) = unsafe { (libc::tcgetpgrp(0), libc::getpgrp()) };
    if holder != ours {
        return None;
    }
    if !set_foreground(pgid) {
        return None;
    }
    // The command may have read the terminal before it was its own, and been
    // stopped by SIGTTIN: let it go on.
    // SAFETY: killpg with a group pp just started; a stale group only fails (ESRCH).
    unsafe { libc::killpg(pgid, libc::SIGCONT) };
    Some(Foreground { previous: ours })
}

impl Drop for Foreground {
    fn drop(&mut self) {
        set_foreground(self.previous);
    }
}

/// `tcsetpgrp(0, pgid)` with SIGTTOU blocked in this thread: a background
/// group's call would otherwise stop pp (pp is in the background when it
/// takes the terminal back). Blocking it here changes nothing children inherit.
fn set_foreground(pgid: libc::pid_t) -> bool {
    // SAFETY: sigset_t is plain data, initialised by sigemptyset before use;
    // the old mask is restored before returning; tcsetpgrp only acts on fd 0.
    unsafe {
        let mut block: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut block);
        libc::sigaddset(&mut block, libc::SIGTTOU);
        libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old);
        let done = libc::tcsetpgrp(0, pgid) == 0;
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        done
    }
}

//! Starting a child the way `posix_spawn` does — `clone3` with `CLONE_VM |
//! CLONE_VFORK`, so no page tables are copied — and straight into its
//! cgroup (`CLONE_INTO_CGROUP`), so it never runs outside it. std cannot do
//! either once a pre-exec step is needed: it falls back to `fork`, which
//! made a contained `/bin/true` run a third slower.
//!
//! The child runs on a stack of its own in the parent's memory while the
//! parent waits (vfork semantics) until it execs or exits. It does only raw
//! system calls on data prepared before the clone — no allocation, no lock —
//! and reports a failed step through that shared memory.
//!
//! x86_64 only (the clone needs three instructions of assembly); elsewhere,
//! and on kernels without `clone3`/`CLONE_INTO_CGROUP`, pp uses std's spawn
//! with a `pre_exec` hook (`child.rs`).

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// A started child: through std (the fallback) or through this module.
#[derive(Debug)]
pub(crate) enum Child {
    Std(std::process::Child),
    Raw(RawChild),
}

impl Child {
    pub(crate) fn id(&self) -> u32 {
        match self {
            Child::Std(child) => child.id(),
            Child::Raw(child) => child.pid,
        }
    }

    /// Its exit status if it has exited (reaping it), `None` while it runs.
    pub(crate) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        match self {
            Child::Std(child) => child.try_wait(),
            Child::Raw(child) => child.try_wait(),
        }
    }

    /// Waits for it to exit and reaps it.
    pub(crate) fn wait(&mut self) -> io::Result<ExitStatus> {
        match self {
            Child::Std(child) => child.wait(),
            Child::Raw(child) => child.wait(),
        }
    }
}

/// A started child that this module (not std) created.
#[derive(Debug)]
pub(crate) struct RawChild {
    pub(crate) pid: u32,
}

impl RawChild {
    /// Its exit status if it has exited (reaping it), `None` while it runs.
    pub(crate) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.wait_with(rustix::process::WaitOptions::NOHANG)
    }

    /// Waits for it to exit and reaps it.
    pub(crate) fn wait(&mut self) -> io::Result<ExitStatus> {
        loop {
            if let Some(status) = self.wait_with(rustix::process::WaitOptions::empty())? {
                return Ok(status);
            }
        }
    }

    fn wait_with(
        &mut self,
        options: rustix::process::WaitOptions,
    ) -> io::Result<Option<ExitStatus>> {
        let pid = rustix::process::Pid::from_raw(self.pid as i32)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ECHILD))?;
        loop {
            match rustix::process::waitpid(Some(pid), options) {
                Ok(Some((_, status))) => return Ok(Some(ExitStatus::from_raw(status.as_raw()))),
                Ok(None) => return Ok(None),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Where a standard stream of the child comes from.
#[derive(Debug)]
pub(crate) enum ChildStdio {
    /// The parent's own.
    Inherit,
    /// This descriptor, moved onto the stream.
    Fd(OwnedFd),
}

/// Everything the child needs, prepared in the parent.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The program, resolved against `PATH` already.
    pub(crate) program: CString,
    pub(crate) argv: Vec<CString>,
    pub(crate) envp: Vec<CString>,
    pub(crate) cwd: Option<CString>,
    pub(crate) stdio: [ChildStdio; 3],
    pub(crate) cgroup_dir: Option<OwnedFd>,
    pub(crate) rlimits: Vec<(rustix::process::Resource, u64, u64)>,
    pub(crate) nice: Option<i32>,
    pub(crate) die_with_parent: bool,
    /// Descriptors the child gets at these numbers; each numbered above
    /// every target (see `Command::passed_fds`).
    pub(crate) passed_fds: Vec<(OwnedFd, RawFd)>,
}

static UNAVAILABLE: AtomicBool = AtomicBool::new(false);

/// Set (to anything) in the environment, pp spawns through std only: for
/// systems whose seccomp filters kill rather than refuse `clone3`, and for
/// testing the fallback.
pub(crate) const NO_CLONE3_ENV: &str = "PP_PROCESS_NO_CLONE3";

/// Whether this module can spawn here (else use std's spawn).
pub(crate) fn available() -> bool {
    static DISABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    cfg!(target_arch = "x86_64")
        && !UNAVAILABLE.load(Ordering::Relaxed)
        && !*DISABLED.get_or_init(|| std::env::var_os(NO_CLONE3_ENV).is_some())
}

/// The steps of the child, for error messages.
const STEP_SIGNALS: i32 = 1;
const STEP_GROUP: i32 = 2;
const STEP_STDIO: i32 = 3;
const STEP_CWD: i32 = 4;
const STEP_LIMITS: i32 = 5;
const STEP_PARENT: i32 = 6;
const STEP_EXEC: i32 = 7;
const STEP_FDS: i32 = 8;

/// Why a spawn failed: `step` names what failed, in the parent
/// ("preparing") or in the child (`step_name`).
#[derive(Debug)]
pub(crate) struct SpawnError {
    pub(crate) step: &'static str,
    pub(crate) source: io::Error,
}

/// The step names the parent maps to specific errors.
pub(crate) const STEP_EXEC_NAME: &str = "executing the program";
pub(crate) const STEP_CWD_NAME: &str = "entering its working directory";

fn step_name(step: i32) -> &'static str {
    match step {
        STEP_SIGNALS => "resetting signals",
        STEP_GROUP => "creating its process group",
        STEP_STDIO => "connecting its standard streams",
        STEP_CWD => STEP_CWD_NAME,
        STEP_LIMITS => "applying its limits",
        STEP_PARENT => "tying it to its parent",
        STEP_EXEC => STEP_EXEC_NAME,
        STEP_FDS => "giving it its passed descriptors",
        _ => "starting it",
    }
}

/// The child's view of the plan: plain pointers into the parent's memory.
#[repr(C)]
struct Shared {
    program: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    cwd: *const libc::c_char,
    stdio: [RawFd; 3],
    /// (descriptor, target) pairs; every descriptor is above every target.
    passed_fds: *const [RawFd; 2],
    passed_fds_len: usize,
    rlimits: *const (rustix::process::Resource, u64, u64),
    rlimits_len: usize,
    nice: Option<i32>,
    parent: Option<rustix::process::Pid>,
    /// Set by the child when a step fails: the step, then the errno.
    failed_step: AtomicI32,
    errno: AtomicI32,
    /// Set by the child's first instruction: a child that never ran was
    /// killed by the kernel as it was created (see `spawn`).
    ran: AtomicBool,
}

/// The kernel's `struct clone_args` (version 2, with `cgroup`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_VM: u64 = 0x100;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_PIDFD: u64 = 0x1000;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
const STACK_SIZE: usize = 64 * 1024;

/// Starts the child of `plan`; returns it and its pidfd. `Ok(None)` when
/// this kernel lacks what the fast path needs (the caller then uses std's spawn, and so does every
/// later spawn).
pub(crate) fn spawn(plan: &Plan) -> Result<Option<(RawChild, OwnedFd)>, SpawnError> {
    if !available() {
        return Ok(None);
    }
    let parent_error = |source: io::Error| SpawnError { step: "preparing", source };
    let argv: Vec<*const libc::c_char> =
        plan.argv.iter().map(|a| a.as_ptr()).chain(std::iter::once(std::ptr::null())).collect();
    let envp: Vec<*const libc::c_char> =
        plan.envp.iter().map(|e| e.as_ptr()).chain(std::iter::once(std::ptr::null())).collect();
    let passed_fds: Vec<[RawFd; 2]> =
        plan.passed_fds.iter().map(|(fd, target)| [fd.as_raw_fd(), *target]).collect();
    let fd = |s: &ChildStdio| match s {
        ChildStdio::Inherit => -1,
        ChildStdio::Fd(fd) => fd.as_raw_fd(),
    };
    let shared = Shared {
        program: plan.program.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        cwd: plan.cwd.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
        stdio: [fd(&plan.stdio[0]), fd(&plan.stdio[1]), fd(&plan.stdio[2])],
        passed_fds: passed_fds.as_ptr(),
        passed_fds_len: passed_fds.len(),
        rlimits: plan.rlimits.as_ptr(),
        rlimits_len: plan.rlimits.len(),
        nice: plan.nice,
        parent: plan.die_with_parent.then(rustix::process::getpid),
        failed_step: AtomicI32::new(0),
        errno: AtomicI32::new(0),
        ran: AtomicBool::new(false),
    };
    // The child's stack, 16-byte aligned at both ends.
    let mut stack = vec![0u128; STACK_SIZE / 16];
    let mut pidfd: RawFd = -1;
    let mut args = CloneArgs {
        // CLONE_CLEAR_SIGHAND: the child starts with every handler reset to
        // the default (ignored signals stay ignored), so no handler of ours
        // can run in it, and it need not call `sigaction` (which takes a
        // lock shared with our other threads in glibc ≥ 2.41).
        flags: CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_CLEAR_SIGHAND,
        pidfd: &mut pidfd as *mut RawFd as u64,
        exit_signal: libc::SIGCHLD as u64,
        stack: stack.as_mut_ptr() as u64,
        stack_size: STACK_SIZE as u64,
        ..CloneArgs::default()
    };
    if let Some(dir) = &plan.cgroup_dir {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = dir.as_raw_fd() as u64;
    }
    // Every signal blocked while the child shares our memory: a handler of
    // ours must never run in it. The child resets handlers, then unblocks.
    let mut all = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    let mut old = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigfillset initialises `all`; pthread_sigmask reads it and
    // writes the previous mask into `old`, both valid locals.
    let masked = unsafe {
        libc::sigfillset(all.as_mut_ptr());
        libc::pthread_sigmask(libc::SIG_SETMASK, all.as_ptr(), old.as_mut_ptr())
    };
    if masked != 0 {
        return Err(parent_error(io::Error::from_raw_os_error(masked)));
    }
    // SAFETY: `args` describes a stack we own that outlives the child's use
    // of it (CLONE_VFORK suspends us until the child execs or exits), and
    // `shared` with everything it points to stays alive and unmoved until
    // then too. The child runs `child_main`, which upholds vfork rules.
    let ret = unsafe { clone3_vfork(&mut args, &shared) };
    // SAFETY: `old` was initialised by the successful pthread_sigmask above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), std::ptr::null_mut()) };
    drop(stack);
    if ret < 0 {
        let errno = (-ret) as i32;
        if matches!(errno, libc::ENOSYS | libc::EINVAL | libc::E2BIG | libc::EPERM) {
            // No clone3, no CLONE_INTO_CGROUP, or a seccomp filter: std's way.
            UNAVAILABLE.store(true, Ordering::Relaxed);
            tracing::debug!(errno, "clone3 unavailable; spawning through std");
            return Ok(None);
        }
        return Err(parent_error(io::Error::from_raw_os_error(errno)));
    }
    // SAFETY: CLONE_PIDFD made the kernel store a new descriptor we now own.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    let mut child = RawChild { pid: ret as u32 };
    if !shared.ran.load(Ordering::Acquire) {
        // Killed before its first instruction. Some kernels (seen on 6.18)
        // compare the kill sequence of the parent's cgroup with the target's
        // for CLONE_INTO_CGROUP and SIGKILL the child when they differ:
        // spawning into a cgroup that ever had `cgroup.kill` written, or
        // from one, fails so. std's path (join by writing cgroup.procs) is
        // not affected; use it from now on.
        let _ = child.wait();
        UNAVAILABLE.store(true, Ordering::Relaxed);
        tracing::debug!("a clone3 child was killed before it ran; spawning through std");
        return Ok(None);
    }
    let step = shared.failed_step.load(Ordering::Acquire);
    if step != 0 {
        let errno = shared.errno.load(Ordering::Acquire);
        let _ = child.wait();
        return Err(SpawnError {
            step: step_name(step),
            source: io::Error::from_raw_os_error(errno),
        });
    }
    Ok(Some((child, pidfd)))
}

/// `clone3` whose child calls `child_main(shared)` on the new stack.
///
/// # Safety
/// `args` must carry `CLONE_VM | CLONE_VFORK` and a 16-byte aligned stack
/// that stays valid while the child uses it; `shared` must stay valid and
/// unmoved until this returns.
#[cfg(target_arch = "x86_64")]
unsafe fn clone3_vfork(args: &mut CloneArgs, shared: &Shared) -> isize {
    let ret: isize;
    // SAFETY: the caller's contract. In the child, the kernel starts at the
    // instruction after `syscall` with rax = 0 and rsp at the top of the new
    // (16-byte aligned) stack; r12 and r13 keep their values, so the child
    // calls `child_main(shared)` with a properly aligned stack and never
    // comes back (it execs or exits). The parent only sees rax.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp", // the child's outermost frame, for unwinders
            "mov rdi, r12",
            "call r13",
            "ud2",
            "2:",
            inlateout("rax") libc::SYS_clone3 as isize => ret,
            in("rdi") args as *mut CloneArgs,
            in("rsi") std::mem::size_of::<CloneArgs>(),
            in("r12") shared as *const Shared,
            in("r13") child_main as *const () as usize,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn clone3_vfork(_args: &mut CloneArgs, _shared: &Shared) -> isize {
    -(libc::ENOSYS as isize)
}

/// The child: make its group, connect its streams and passed descriptors, enter its directory,
/// apply limits, tie it to its parent, reset SIGPIPE and unblock signals, exec. On a failure it
/// records the step and errno in the shared memory and exits with 127.
///
/// # Safety
/// Only as the entry of a `CLONE_VM | CLONE_VFORK` child (see
/// [`clone3_vfork`]), with `shared` valid: the parent is suspended and keeps
/// it alive until this execs or exits.
unsafe extern "C" fn child_main(shared: *const Shared) -> ! {
    // SAFETY: the caller's contract: `shared` is valid while we run.
    let shared = unsafe { &*shared };
    shared.ran.store(true, Ordering::Release);
    let fail = |step: i32, errno: i32| -> ! {
        shared.errno.store(errno, Ordering::Release);
        shared.failed_step.store(step, Ordering::Release);
        // SAFETY: ends this child only; nothing of the parent is touched.
        unsafe { libc::_exit(127) }
    };
    // errno after a failed libc call; rustix returns its errors instead.
    let errno = || io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
    // SAFETY: every call below is a raw system call, or a libc wrapper that
    // is only a system call, on values the parent prepared; none allocates,
    // takes a lock, or touches state the parent would see, beyond errno,
    // which the parent does not read. (Handlers were reset by the kernel:
    // CLONE_CLEAR_SIGHAND; glibc's `sigaction` would take a lock shared with
    // the parent's other threads.)
    unsafe {
        if libc::setpgid(0, 0) != 0 {
            fail(STEP_GROUP, errno());
        }
        for (target, &fd) in shared.stdio.iter().enumerate() {
            let target = target as RawFd;
            if fd < 0 {
                continue;
            }
            let moved = if fd == target {
                libc::fcntl(fd, libc::F_SETFD, 0) // keep it open across exec
            } else {
                libc::dup2(fd, target)
            };
            if moved < 0 {
                fail(STEP_STDIO, errno());
            }
        }
        // After the streams (whose sources may sit at a target's number),
        // each passed descriptor onto its target, without close-on-exec. A
        // source is never a target (all are above), so none is overwritten
        // before it is moved.
        for i in 0..shared.passed_fds_len {
            let [fd, target] = *shared.passed_fds.add(i);
            if libc::dup2(fd, target) < 0 {
                fail(STEP_FDS, errno());
            }
        }
        if !shared.cwd.is_null() && libc::chdir(shared.cwd) != 0 {
            fail(STEP_CWD, errno());
        }
        for i in 0..shared.rlimits_len {
            let &(resource, soft, hard) = &*shared.rlimits.add(i);
            let limit = rustix::process::Rlimit { current: Some(soft), maximum: Some(hard) };
            if let Err(e) = rustix::process::setrlimit(resource, limit) {
                fail(STEP_LIMITS, e.raw_os_error());
            }
        }
        if let Some(nice) = shared.nice
            && let Err(e) = rustix::process::setpriority_process(None, nice)
        {
            fail(STEP_LIMITS, e.raw_os_error());
        }
        if let Some(parent) = shared.parent {
            let signal = Some(rustix::process::Signal::KILL);
            if let Err(e) = rustix::process::set_parent_process_death_signal(signal) {
                fail(STEP_PARENT, e.raw_os_error());
            }
            // The parent may have died before the line above.
            if rustix::process::getppid() != Some(parent) {
                fail(STEP_PARENT, libc::ESRCH);
            }
        }
        // Signals last, as glibc does: SIGPIPE back to the default (Rust
        // programs ignore it; std resets it too), through the raw system
        // call, then every signal unblocked.
        let default = KernelSigaction { handler: libc::SIG_DFL, flags: 0, restorer: 0, mask: 0 };
        let reset = libc::syscall(
            libc::SYS_rt_sigaction,
            libc::SIGPIPE,
            &default as *const KernelSigaction,
            std::ptr::null_mut::<KernelSigaction>(),
            8usize,
        );
        if reset != 0 {
            fail(STEP_SIGNALS, errno());
        }
        let none: u64 = 0;
        let unblocked = libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &none as *const u64,
            std::ptr::null_mut::<u64>(),
            8usize,
        );
        if unblocked != 0 {
            fail(STEP_SIGNALS, errno());
        }
        libc::execve(shared.program, shared.argv, shared.envp);
        fail(STEP_EXEC, errno())
    }
}

/// The kernel's `struct sigaction` for `rt_sigaction` on x86_64.
#[repr(C)]
struct KernelSigaction {
    handler: libc::sighandler_t,
    flags: u64,
    restorer: usize,
    mask: u64,
}

/// Finds `program` as `execvp` would: as given when it has a slash, else the
/// first executable file of that name in `path` (the child's `PATH`).
pub(crate) fn resolve_program(program: &OsStr, path: Option<&OsStr>) -> Option<CString> {
    if program.as_bytes().contains(&b'/') {
        return CString::new(program.as_bytes()).ok();
    }
    // glibc's default when PATH is unset.
    let path = path.map(OsStr::as_bytes).unwrap_or(b"/bin:/usr/bin");
    path.split(|&b| b == b':').find_map(|dir| {
        let dir = if dir.is_empty() { b".".as_slice() } else { dir };
        let mut candidate = dir.to_vec();
        candidate.push(b'/');
        candidate.extend_from_slice(program.as_bytes());
        let candidate = CString::new(candidate).ok()?;
        let executable = rustix::fs::accessat(
            rustix::fs::CWD,
            candidate.as_c_str(),
            rustix::fs::Access::EXEC_OK,
            rustix::fs::AtFlags::EACCESS,
        )
        .is_ok()
            && std::fs::metadata(OsStr::from_bytes(candidate.as_bytes()))
                .is_ok_and(|m| m.is_file());
        executable.then_some(candidate)
    })
}

/// `KEY=VALUE` strings of the child's environment.
pub(crate) fn environment(
    clear: bool,
    changes: &[(OsString, Option<OsString>)],
) -> (Vec<CString>, Option<OsString>) {
    let mut vars: Vec<(OsString, OsString)> =
        if clear { Vec::new() } else { std::env::vars_os().collect() };
    for (key, value) in changes {
        vars.retain(|(k, _)| k != key);
        if let Some(value) = value {
            vars.push((key.clone(), value.clone()));
        }
    }
    let path = vars.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.clone());
    let envp = vars
        .into_iter()
        .filter_map(|(k, v)| {
            let mut entry = k.into_vec();
            entry.push(b'=');
            entry.extend_from_slice(v.as_bytes());
            CString::new(entry).ok()
        })
        .collect();
    (envp, path)
}

/// A pipe whose both ends close on exec: (read end, write end).
pub(crate) fn pipe() -> io::Result<(File, File)> {
    let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    Ok((File::from(read), File::from(write)))
}

/// `/dev/null`, for reading or writing, closed on exec.
pub(crate) fn dev_null(write: bool) -> io::Result<OwnedFd> {
    let mode = if write { rustix::fs::OFlags::WRONLY } else { rustix::fs::OFlags::RDONLY };
    Ok(rustix::fs::open(
        c"/dev/null",
        mode | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?)
}

/// A copy of `fd` numbered `floor` or more, closed on exec.
pub(crate) fn copy_fd_above(fd: impl AsFd, floor: RawFd) -> io::Result<OwnedFd> {
    Ok(rustix::io::fcntl_dupfd_cloexec(fd, floor)?)
}

/// Opens a cgroup directory for `CLONE_INTO_CGROUP`.
pub(crate) fn open_cgroup_dir(dir: &std::path::Path) -> io::Result<OwnedFd> {
    let flags =
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC;
    Ok(rustix::fs::open(dir, flags, rustix::fs::Mode::empty())?)
}

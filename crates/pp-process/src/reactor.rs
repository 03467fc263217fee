//! The reactor: one thread that reads every pipe, feeds every stdin, enforces
//! every timeout and reaps every child, however many processes run.
//!
//! Each process registers a pidfd and its pipes with one epoll instance.
//! Requests (register, stop) arrive over a channel plus an eventfd wake-up.
//! Timers (timeouts, kill deadlines, group re-checks) live in a binary heap.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::command::Callback;
use crate::error::{Error, Result};
use crate::handle::Shared;
use crate::sys::{self, EventFlags, GroupSignal};
use crate::types::{ProcessOutput, ProcessStatus};

/// How often a stopping process group is re-checked for leftover members.
const GROUP_RECHECK: Duration = Duration::from_millis(10);
/// How long after SIGKILL we wait for the group to vanish and pipes to close
/// before reporting anyway (a descendant that left the group may hold a pipe).
const AFTER_KILL: Duration = Duration::from_secs(1);
/// Bytes read or written per system call.
const CHUNK: usize = 64 * 1024;
/// System calls per pipe per wake-up, so one chatty child cannot starve the rest.
const CALLS_PER_EVENT: usize = 16;
/// The longest single epoll wait; keeps timeouts within what every kernel accepts.
const MAX_WAIT: Duration = Duration::from_secs(3600);

const WAKER: u64 = u64::MAX;
const PIDFD: u64 = 0;
const STDOUT: u64 = 1;
const STDERR: u64 = 2;
const STDIN: u64 = 3;

/// The process-wide reactor, started on first use.
pub(crate) fn reactor() -> Result<&'static Reactor> {
    static REACTOR: OnceLock<std::result::Result<Reactor, String>> = OnceLock::new();
    REACTOR.get_or_init(|| Reactor::start().map_err(|e| e.to_string())).as_ref().map_err(|reason| {
        tracing::error!(%reason, "pp-process reactor failed to start");
        Error::ReactorStopped
    })
}

pub(crate) enum Request {
    Register(Box<Proc>),
    Stop { key: u64, grace: Duration },
}

/// Where requests for an event loop go: a channel plus an eventfd that wakes it.
pub(crate) struct Mailbox {
    requests: Mutex<Sender<Request>>,
    waker: OwnedFd,
}

/// The event loop's end of a [`Mailbox`].
pub(crate) struct Inbox {
    waker: OwnedFd,
    requests: Receiver<Request>,
}

impl Mailbox {
    pub(crate) fn new() -> io::Result<(Mailbox, Inbox)> {
        let waker = sys::eventfd()?;
        let (tx, rx) = channel();
        let inbox = Inbox { waker: waker.try_clone()?, requests: rx };
        Ok((Mailbox { requests: Mutex::new(tx), waker }, inbox))
    }

    /// Fails once the event loop has ended.
    fn send(&self, request: Request) -> Result<()> {
        let sent = self.requests.lock().unwrap_or_else(|e| e.into_inner()).send(request);
        sent.map_err(|_| Error::ReactorStopped)?;
        sys::eventfd_signal(&self.waker);
        Ok(())
    }

    pub(crate) fn stop(&self, key: u64, grace: Duration) -> Result<()> {
        self.send(Request::Stop { key, grace })
    }
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox").finish_non_exhaustive()
    }
}

/// The process-wide reactor thread's mailbox.
#[derive(Debug)]
pub(crate) struct Reactor {
    mailbox: Mailbox,
    next_key: AtomicU64,
}

impl Reactor {
    fn start() -> io::Result<Reactor> {
        let (mailbox, inbox) = Mailbox::new()?;
        let event_loop = EventLoop::new(Some(inbox))?;
        std::thread::Builder::new()
            .name("pp-process-reactor".into())
            .spawn(move || event_loop.run())?;
        Ok(Reactor { mailbox, next_key: AtomicU64::new(1) })
    }

    pub(crate) fn next_key(&self) -> u64 {
        self.next_key.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn register(&self, proc: Proc) -> Result<()> {
        self.mailbox.send(Request::Register(Box::new(proc)))
    }

    pub(crate) fn stop(&self, key: u64, grace: Duration) -> Result<()> {
        self.mailbox.stop(key, grace)
    }
}

/// Drives one process to completion on the calling thread, with an event loop
/// of its own: no hand-off to the reactor thread, so a blocking `run` costs
/// what `std` does. Stop requests arrive through `inbox`.
pub(crate) fn drive_here(proc: Proc, inbox: Inbox) -> Result<()> {
    let mut event_loop = match EventLoop::new(Some(inbox)) {
        Ok(event_loop) => event_loop,
        Err(source) => {
            complete_lost(proc);
            return Err(Error::Io { what: "creating an event loop", source });
        }
    };
    event_loop.add(proc);
    let mut events = Vec::with_capacity(8);
    while !event_loop.procs.is_empty() {
        if let Err(source) = event_loop.turn(&mut events) {
            for (_, proc) in event_loop.procs.drain() {
                complete_lost(proc);
            }
            return Err(Error::Io { what: "waiting for process events", source });
        }
    }
    Ok(())
}

/// A pipe the child writes and we capture.
struct Capture {
    pipe: File,
    buf: Vec<u8>,
    dropped: u64,
    eof: bool,
}

/// Why a process is being stopped, and how far that has gone.
struct Stopping {
    timed_out: bool,
    /// The leader had already exited when the stop began: it exited by itself.
    exited_before: bool,
    kill_at: Instant,
    killed_at: Option<Instant>,
    group_gone: bool,
    /// When the pending stop check is due; older timers for this process are stale.
    check_at: Option<Instant>,
}

/// The reactor's side of one process.
pub(crate) struct Proc {
    shared: Arc<Shared>,
    child: Child,
    pidfd: Option<OwnedFd>,
    stdin: Option<(File, Arc<[u8]>, usize)>,
    stdout: Option<Capture>,
    stderr: Option<Capture>,
    cap: usize,
    exit: Option<Option<ExitStatus>>,
    stopping: Option<Stopping>,
    on_exit: Option<Callback>,
}

impl Proc {
    #[allow(clippy::too_many_arguments)] // reason: one private constructor, called once
    pub(crate) fn new(
        shared: Arc<Shared>,
        child: Child,
        pidfd: OwnedFd,
        stdin: Option<(File, Arc<[u8]>)>,
        stdout: Option<File>,
        stderr: Option<File>,
        cap: usize,
        on_exit: Option<Callback>,
    ) -> Proc {
        let capture = |pipe| Capture { pipe, buf: Vec::new(), dropped: 0, eof: false };
        Proc {
            shared,
            child,
            pidfd: Some(pidfd),
            stdin: stdin.map(|(pipe, bytes)| (pipe, bytes, 0)),
            stdout: stdout.map(capture),
            stderr: stderr.map(capture),
            cap,
            exit: None,
            stopping: None,
            on_exit,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn pipes_done(&self) -> bool {
        self.stdout.as_ref().is_none_or(|c| c.eof) && self.stderr.as_ref().is_none_or(|c| c.eof)
    }

    fn is_finished(&self) -> bool {
        if self.exit.is_none() || !self.pipes_done() {
            return false;
        }
        match &self.stopping {
            None => true,
            Some(s) => s.exited_before || s.group_gone,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    Timeout,
    StopCheck,
}

struct EventLoop {
    epoll: OwnedFd,
    /// Where requests arrive (register, stop).
    inbox: Option<Inbox>,
    procs: HashMap<u64, Proc>,
    timers: BinaryHeap<Reverse<(Instant, u64, TimerKind)>>,
    scratch: Vec<u8>,
}

impl EventLoop {
    fn new(inbox: Option<Inbox>) -> io::Result<EventLoop> {
        let epoll = sys::epoll_create()?;
        if let Some(inbox) = &inbox {
            sys::epoll_add(&epoll, &inbox.waker, WAKER, EventFlags::IN)?;
        }
        Ok(EventLoop {
            epoll,
            inbox,
            procs: HashMap::new(),
            timers: BinaryHeap::new(),
            scratch: vec![0; CHUNK],
        })
    }

    /// The reactor thread's life: turn until epoll itself fails.
    fn run(mut self) {
        let mut events = Vec::with_capacity(256);
        while let Ok(()) = self.turn(&mut events) {}
    }

    /// Waits for the next event or timer and handles everything that is due.
    fn turn(&mut self, events: &mut Vec<sys::Event>) -> io::Result<()> {
        let timeout = self
            .timers
            .peek()
            .map(|Reverse((at, _, _))| at.saturating_duration_since(Instant::now()).min(MAX_WAIT));
        let waited = sys::epoll_wait(&self.epoll, events, timeout);
        if let Err(e) = &waited {
            tracing::error!(error = %e, "epoll_wait failed; pp-process event loop stops");
        }
        for event in events.iter() {
            let token = event.data.u64();
            if token == WAKER {
                self.handle_requests();
            } else {
                self.handle_event(token >> 2, token & 3);
            }
        }
        self.fire_timers();
        waited
    }

    fn handle_requests(&mut self) {
        let Some(inbox) = &self.inbox else { return };
        sys::eventfd_drain(&inbox.waker);
        let pending: Vec<Request> = inbox.requests.try_iter().collect();
        for request in pending {
            self.handle_request(request);
        }
    }

    fn handle_request(&mut self, request: Request) {
        match request {
            Request::Register(proc) => self.add(*proc),
            Request::Stop { key, grace } => self.stop(key, grace, false),
        }
    }

    fn add(&mut self, proc: Proc) {
        let key = proc.shared.key;
        let registered = (|| -> io::Result<()> {
            if let Some(pidfd) = &proc.pidfd {
                sys::epoll_add(&self.epoll, pidfd, key << 2 | PIDFD, EventFlags::IN)?;
            }
            if let Some(c) = &proc.stdout {
                sys::epoll_add(&self.epoll, &c.pipe, key << 2 | STDOUT, EventFlags::IN)?;
            }
            if let Some(c) = &proc.stderr {
                sys::epoll_add(&self.epoll, &c.pipe, key << 2 | STDERR, EventFlags::IN)?;
            }
            if let Some((pipe, _, _)) = &proc.stdin {
                sys::epoll_add(&self.epoll, pipe, key << 2 | STDIN, EventFlags::OUT)?;
            }
            Ok(())
        })();
        if let Err(e) = registered {
            tracing::error!(process_id = %proc.shared.id, error = %e, "cannot watch process");
            complete_lost(proc);
            return;
        }
        if let Some(limit) = proc.shared.timeout {
            self.timers.push(Reverse((proc.shared.started + limit, key, TimerKind::Timeout)));
        }
        self.procs.insert(key, proc);
    }

    fn handle_event(&mut self, key: u64, kind: u64) {
        let Some(proc) = self.procs.get_mut(&key) else { return };
        match kind {
            PIDFD => reap(&self.epoll, proc),
            STDOUT | STDERR => {
                let capture = if kind == STDOUT { &mut proc.stdout } else { &mut proc.stderr };
                if let Some(c) = capture {
                    drain(&self.epoll, c, proc.cap, &mut self.scratch);
                }
            }
            _ => feed(&self.epoll, &mut proc.stdin),
        }
        if proc.exit.is_some() {
            self.after_exit(key);
        }
    }

    /// Once the leader is reaped: close stdin, re-check a stopping group, maybe complete.
    fn after_exit(&mut self, key: u64) {
        let Some(proc) = self.procs.get_mut(&key) else { return };
        if let Some((pipe, _, _)) = proc.stdin.take() {
            sys::epoll_delete(&self.epoll, &pipe);
        }
        let pgid = proc.pid();
        if let Some(s) = &mut proc.stopping {
            if !s.group_gone && !sys::group_alive(pgid) {
                s.group_gone = true;
            }
        }
        if proc.is_finished() {
            let proc = self.procs.remove(&key).expect("present");
            self.complete(proc);
        }
    }

    /// Starts (or hurries) stopping process `key`: SIGTERM to its group now,
    /// SIGKILL once `grace` has passed (at once when it is zero).
    fn stop(&mut self, key: u64, grace: Duration, timed_out: bool) {
        let Some(proc) = self.procs.get_mut(&key) else { return };
        let now = Instant::now();
        let pgid = proc.pid();
        match &mut proc.stopping {
            Some(s) => s.kill_at = s.kill_at.min(now + grace),
            None => {
                if timed_out {
                    tracing::warn!(process_id = %proc.shared.id, pid = pgid, "process timed out; stopping its group");
                }
                let group_gone = !grace.is_zero() && send(pgid, false);
                proc.stopping = Some(Stopping {
                    timed_out,
                    exited_before: proc.exit.is_some(),
                    kill_at: now + grace,
                    killed_at: None,
                    group_gone,
                    check_at: None,
                });
            }
        }
        self.check_stopping(key, now);
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(&Reverse((at, key, kind))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(proc) = self.procs.get(&key) else { continue };
            match (kind, &proc.stopping) {
                (TimerKind::Timeout, None) if proc.exit.is_none() => {
                    let grace = proc.shared.grace;
                    self.stop(key, grace, true);
                }
                // Only the latest scheduled check counts; earlier ones are stale.
                (TimerKind::StopCheck, Some(s)) if s.check_at == Some(at) => {
                    self.check_stopping(key, now)
                }
                _ => {}
            }
        }
    }

    /// Advances a stop: notices an empty group, sends SIGKILL when the grace
    /// period is over, gives up waiting a while after SIGKILL, schedules the next check.
    fn check_stopping(&mut self, key: u64, now: Instant) {
        let Some(proc) = self.procs.get_mut(&key) else { return };
        let pgid = proc.pid();
        let exited = proc.exit.is_some();
        let Some(s) = &mut proc.stopping else { return };
        if !s.group_gone && exited && !sys::group_alive(pgid) {
            s.group_gone = true;
        }
        if !s.group_gone && s.killed_at.is_none() && now >= s.kill_at {
            tracing::warn!(process_id = %proc.shared.id, pid = pgid, "killing the process group");
            s.killed_at = Some(now);
            s.group_gone = send(pgid, true);
        }
        if let Some(killed_at) = s.killed_at
            && now >= killed_at + AFTER_KILL
        {
            // Whatever is left are zombies nobody reaps, or descendants that left
            // the group holding our pipes: report now rather than never.
            s.group_gone = true;
            for c in [&mut proc.stdout, &mut proc.stderr].into_iter().flatten() {
                sys::epoll_delete(&self.epoll, &c.pipe);
                c.eof = true;
            }
        }
        s.check_at = None;
        if !s.group_gone {
            let next = match s.killed_at {
                Some(killed_at) => (now + GROUP_RECHECK).min(killed_at + AFTER_KILL),
                None => (now + GROUP_RECHECK).min(s.kill_at),
            };
            s.check_at = Some(next);
            self.timers.push(Reverse((next, key, TimerKind::StopCheck)));
        }
        if exited {
            self.after_exit(key);
        }
    }

    fn complete(&mut self, proc: Proc) {
        for c in [&proc.stdout, &proc.stderr].into_iter().flatten() {
            sys::epoll_delete(&self.epoll, &c.pipe);
        }
        publish(proc);
    }
}

/// Publishes a finished process's result, wakes waiters and runs the callback.
fn publish(mut proc: Proc) {
    let status = proc.exit.flatten();
    let (outcome, forced) = match &proc.stopping {
        None => (ProcessStatus::Completed, false),
        Some(s) if s.exited_before => (ProcessStatus::Completed, false),
        Some(s) if s.timed_out => (ProcessStatus::TimedOut, s.killed_at.is_some()),
        Some(s) if s.killed_at.is_some() => (ProcessStatus::Killed, true),
        Some(_) => (ProcessStatus::Terminated, false),
    };
    let take = |c: Option<Capture>| c.map(|c| (c.buf, c.dropped)).unwrap_or_default();
    let (stdout, stdout_dropped) = take(proc.stdout.take());
    let (stderr, stderr_dropped) = take(proc.stderr.take());
    let output = Arc::new(ProcessOutput {
        process_id: proc.shared.id.clone(),
        pid: proc.pid(),
        command: proc.shared.command.clone(),
        status: outcome,
        code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        stdout,
        stderr,
        stdout_dropped,
        stderr_dropped,
        started_at: proc.shared.started_at,
        duration: proc.shared.started.elapsed(),
    });
    match outcome {
        ProcessStatus::Completed => tracing::debug!(
            process_id = %output.process_id, pid = output.pid, code = ?output.code,
            signal = ?output.signal, duration = ?output.duration, "process exited"
        ),
        _ => tracing::warn!(
            process_id = %output.process_id, pid = output.pid, status = %outcome,
            signal = ?output.signal, "process stopped"
        ),
    }
    proc.shared.finish(output.clone(), forced);
    if let Some(callback) = proc.on_exit.take()
        && catch_unwind(AssertUnwindSafe(|| callback(&output))).is_err()
    {
        tracing::error!(process_id = %output.process_id, "on_exit callback panicked");
    }
}

/// A process we can no longer watch: kill its group rather than leave it
/// untracked, reap it, and report it killed.
fn complete_lost(mut proc: Proc) {
    let _ = sys::signal_group(proc.pid(), true);
    let status = proc.child.wait().ok();
    proc.exit = Some(status);
    proc.stdout = None;
    proc.stderr = None;
    let now = Instant::now();
    proc.stopping = Some(Stopping {
        timed_out: false,
        exited_before: false,
        kill_at: now,
        killed_at: Some(now),
        group_gone: true,
        check_at: None,
    });
    publish(proc);
}

/// Signals the group; true if no process is left in it.
fn send(pgid: u32, kill: bool) -> bool {
    match sys::signal_group(pgid, kill) {
        Ok(GroupSignal::Gone) => true,
        Ok(GroupSignal::Sent) => false,
        Err(e) => {
            tracing::error!(pgid, error = %e, "cannot signal process group");
            false
        }
    }
}

fn reap(epoll: &OwnedFd, proc: &mut Proc) {
    match proc.child.try_wait() {
        Ok(None) => {}
        Ok(Some(status)) => proc.exit = Some(Some(status)),
        Err(e) => {
            // ECHILD: someone else reaped it (SIGCHLD ignored, or a foreign waitpid(-1)).
            tracing::warn!(process_id = %proc.shared.id, error = %e, "exit status lost");
            proc.exit = Some(None);
        }
    }
    if proc.exit.is_some()
        && let Some(pidfd) = proc.pidfd.take()
    {
        sys::epoll_delete(epoll, &pidfd);
    }
}

fn drain(epoll: &OwnedFd, c: &mut Capture, cap: usize, scratch: &mut [u8]) {
    for _ in 0..CALLS_PER_EVENT {
        match c.pipe.read(scratch) {
            Ok(0) => {
                c.eof = true;
                break;
            }
            Ok(n) => {
                let keep = n.min(cap.saturating_sub(c.buf.len()));
                c.buf.extend_from_slice(&scratch[..keep]);
                c.dropped += (n - keep) as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) => {
                tracing::warn!(error = %e, "reading a child's pipe failed; treating it as closed");
                c.eof = true;
                break;
            }
        }
    }
    if c.eof {
        sys::epoll_delete(epoll, &c.pipe);
    }
}

fn feed(epoll: &OwnedFd, stdin: &mut Option<(File, Arc<[u8]>, usize)>) {
    let Some((pipe, bytes, offset)) = stdin else { return };
    let mut done = false;
    for _ in 0..CALLS_PER_EVENT {
        if *offset >= bytes.len() {
            done = true;
            break;
        }
        let end = (*offset + CHUNK).min(bytes.len());
        match pipe.write(&bytes[*offset..end]) {
            Ok(n) => *offset += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            // EPIPE: the child closed its stdin; the rest of the input is not wanted.
            Err(_) => {
                done = true;
                break;
            }
        }
    }
    if done || *offset >= bytes.len() {
        if let Some((pipe, _, _)) = stdin.take() {
            sys::epoll_delete(epoll, pipe.as_fd());
        }
    }
}

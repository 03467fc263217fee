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
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::background::in_background;
use crate::command::Callback;
use crate::error::{Error, Result};
use crate::orphans;
use crate::shared::Shared;
use crate::sys::spawn::Child;
use crate::sys::{self, EventFlags};
use crate::tree::Tree;
use crate::types::{Leftovers, ProcessOutput, ProcessStatus, StoppedBy};

/// How often a stopping process group is re-checked for leftover members.
const GROUP_RECHECK: Duration = Duration::from_millis(10);
/// How long after SIGKILL we wait for the group to vanish and pipes to close
/// before reporting anyway (a descendant that left the group may hold a pipe).
const AFTER_KILL: Duration = Duration::from_secs(1);
/// How long pipes are still read once nothing of the group is left to stop
/// (or descendants are left running on request): output already written is
/// collected, and a descendant that escaped the group holding a pipe cannot
/// keep the call from returning.
const DRAIN: Duration = Duration::from_millis(250);
/// Consecutive panics of an event loop's turn after which it gives up (every
/// watched process is then reported lost rather than left waiting).
const MAX_PANICS: u32 = 100;
/// How often a tree whose leader exited is checked for leftovers (`Leftovers::Wait`).
const TREE_RECHECK: Duration = Duration::from_millis(50);
/// When finished trees' orphans are looked for once more.
const REAP_AGAIN: Duration = Duration::from_millis(200);
/// The timer key of orphan reaping (no process has it: keys count up from 1).
const REAPER: u64 = u64::MAX >> 2;
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
        let event_loop = EventLoop::new(Some(inbox), Callbacks::Elsewhere)?;
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
/// what `std` does. Stop requests arrive through `inbox`. Its exit callback
/// runs here too, before `run` returns.
pub(crate) fn drive_here(proc: Proc, inbox: Inbox) -> Result<()> {
    // On an error the loop (or `proc`) is dropped, which reports it lost.
    let mut event_loop = EventLoop::new(Some(inbox), Callbacks::Inline)
        .map_err(|source| Error::Io { what: "creating an event loop", source })?;
    event_loop.add(proc);
    let mut events = Vec::with_capacity(8);
    while !event_loop.procs.is_empty() {
        event_loop
            .turn(&mut events)
            .map_err(|source| Error::Io { what: "waiting for process events", source })?;
    }
    Ok(())
}

/// Where an event loop runs exit callbacks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Callbacks {
    /// On the loop's own thread (a blocking `run`: the caller's thread).
    Inline,
    /// On the background thread, so a callback that waits for another process
    /// (which needs the reactor) cannot stall the reactor.
    Elsewhere,
}

/// A pipe the child writes and we capture.
struct Capture {
    pipe: File,
    buf: Vec<u8>,
    dropped: u64,
    eof: bool,
}

/// Why a stop began.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StopCause {
    /// The timeout passed: reported `TimedOut`.
    Timeout,
    /// Someone asked (`terminate`, `kill`): reported `Terminated` or `Killed`.
    Request,
    /// The leader exited by itself and what it left is stopped (or, with
    /// `Leftovers::Leave`, only drained): reported `Completed`.
    LeaderExited,
}

/// Why a process is being stopped, and how far that has gone.
struct Stopping {
    /// Why the stop began (what the process is reported as).
    cause: StopCause,
    /// When SIGKILL follows SIGTERM; `None`: never (an unbounded grace period).
    kill_at: Option<Instant>,
    killed_at: Option<Instant>,
    group_gone: bool,
    /// Once nothing is left to stop, pipes still open are read until then.
    drain_until: Option<Instant>,
    /// Pipes were given up on at `drain_until` while something still held them.
    pipes_abandoned: bool,
    /// When the pending stop check is due; older timers for this process are stale.
    check_at: Option<Instant>,
}

impl Stopping {
    /// The leader exited by itself and nothing is to be stopped: only its
    /// pipes are drained a while (descendants left running, or outside the tree).
    fn drain_only() -> Stopping {
        Stopping {
            cause: StopCause::LeaderExited,
            kill_at: None,
            killed_at: None,
            group_gone: true,
            drain_until: None,
            pipes_abandoned: false,
            check_at: None,
        }
    }
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
    /// What contains the process's tree: its cgroup or its process group.
    tree: Tree,
    /// Whether the result was published; a process dropped before that is
    /// reported lost (see `Drop`), so no waiter is ever stranded.
    published: bool,
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
        tree: Tree,
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
            tree,
            published: false,
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
            Some(s) => s.group_gone,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    /// Reap the orphans of finished trees (key [`REAPER`]).
    Reap,
    Timeout,
    StopCheck,
    /// A leader exited while its tree lives on (`Leftovers::Wait`): is it gone yet?
    TreeCheck,
}

struct EventLoop {
    epoll: OwnedFd,
    callbacks: Callbacks,
    /// Where requests arrive (register, stop).
    inbox: Option<Inbox>,
    procs: HashMap<u64, Proc>,
    timers: BinaryHeap<Reverse<(Instant, u64, TimerKind)>>,
    scratch: Vec<u8>,
}

impl EventLoop {
    fn new(inbox: Option<Inbox>, callbacks: Callbacks) -> io::Result<EventLoop> {
        let epoll = sys::epoll_create()?;
        if let Some(inbox) = &inbox {
            sys::epoll_add(&epoll, &inbox.waker, WAKER, EventFlags::IN)?;
        }
        Ok(EventLoop {
            epoll,
            callbacks,
            inbox,
            procs: HashMap::new(),
            timers: BinaryHeap::new(),
            scratch: vec![0; CHUNK],
        })
    }

    /// The reactor thread's life: turn until epoll itself fails. A panic in a
    /// turn is logged and the loop goes on, so one bad input cannot strand
    /// every caller; when the loop ends, dropping it reports every process it
    /// still watched (and every registration still queued) as lost.
    fn run(mut self) {
        let mut events = Vec::with_capacity(256);
        let mut panics = 0;
        loop {
            match catch_unwind(AssertUnwindSafe(|| self.turn(&mut events))) {
                Ok(Ok(())) => panics = 0,
                Ok(Err(_)) => break,
                Err(_) => {
                    panics += 1;
                    tracing::error!(panics, "pp-process event loop panicked; carrying on");
                    if panics >= MAX_PANICS {
                        break;
                    }
                }
            }
        }
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
            Request::Stop { key, grace } => self.stop(key, grace, StopCause::Request),
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
            drop(proc); // reported lost
            return;
        }
        // A limit too large to add to a clock reading is no limit.
        if let Some(at) =
            proc.shared.timeout.and_then(|limit| proc.shared.started.checked_add(limit))
        {
            self.timers.push(Reverse((at, key, TimerKind::Timeout)));
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

    /// Once the leader is reaped: close stdin; if descendants remain (in the
    /// tree, or holding our pipes), stop them, wait for them, or leave them
    /// after a drain, as the command's [`Leftovers`] says; complete when finished.
    fn after_exit(&mut self, key: u64) {
        let Some(proc) = self.procs.get_mut(&key) else { return };
        if let Some((pipe, _, _)) = proc.stdin.take() {
            sys::epoll_delete(&self.epoll, &pipe);
        }
        let pgid = proc.pid();
        if proc.stopping.is_none() && (!proc.pipes_done() || proc.tree.alive(pgid)) {
            match proc.shared.leftovers {
                Leftovers::Stop => {
                    tracing::debug!(process_id = %proc.shared.id, "leader exited; stopping what it left");
                    let grace = proc.shared.grace;
                    return self.stop(key, grace, StopCause::LeaderExited);
                }
                Leftovers::Leave => {
                    proc.stopping = Some(Stopping::drain_only());
                    return self.check_stopping(key, Instant::now());
                }
                // Watched until the tree is gone (checked on a timer: a
                // process group has no event for "empty").
                Leftovers::Wait => {
                    if !proc.tree.alive(pgid) {
                        // Only pipes held open by a descendant outside the
                        // tree: drain them a while, as after a stop.
                        proc.stopping = Some(Stopping::drain_only());
                        return self.check_stopping(key, Instant::now());
                    }
                    let at = Instant::now() + TREE_RECHECK;
                    self.timers.push(Reverse((at, key, TimerKind::TreeCheck)));
                    return;
                }
            }
        }
        if proc.is_finished() {
            let mut proc = self.procs.remove(&key).expect("present");
            self.complete(&mut proc);
        }
    }

    /// Starts (or hurries) stopping process `key`: SIGTERM to its tree now,
    /// SIGKILL once `grace` has passed (at once when it is zero).
    fn stop(&mut self, key: u64, grace: Duration, cause: StopCause) {
        let Some(proc) = self.procs.get_mut(&key) else { return };
        let now = Instant::now();
        let pgid = proc.pid();
        // A grace period too large to add to a clock reading never ends.
        let kill_at = now.checked_add(grace);
        match &mut proc.stopping {
            Some(s) => {
                s.kill_at = match (s.kill_at, kill_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                if s.cause == StopCause::LeaderExited && cause != StopCause::LeaderExited {
                    // Leftovers being drained (or left) are asked to stop after all.
                    s.group_gone = !grace.is_zero() && proc.tree.signal(pgid, false);
                }
            }
            None => {
                if cause == StopCause::Timeout {
                    tracing::warn!(process_id = %proc.shared.id, pid = pgid, "process timed out; stopping its tree");
                }
                let group_gone = !grace.is_zero() && proc.tree.signal(pgid, false);
                proc.stopping = Some(Stopping {
                    cause,
                    kill_at,
                    killed_at: None,
                    group_gone,
                    drain_until: None,
                    pipes_abandoned: false,
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
            if kind == TimerKind::Reap {
                orphans::reap();
                continue;
            }
            let Some(proc) = self.procs.get(&key) else { continue };
            match (kind, &proc.stopping) {
                // Also after the leader exited, while its tree is waited for.
                (TimerKind::Timeout, None) => {
                    let grace = proc.shared.grace;
                    self.stop(key, grace, StopCause::Timeout);
                }
                (TimerKind::TreeCheck, None) => {
                    if proc.tree.alive(proc.pid()) {
                        let next = now + TREE_RECHECK;
                        self.timers.push(Reverse((next, key, TimerKind::TreeCheck)));
                    } else {
                        self.after_exit(key);
                    }
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
    /// period is over, stops waiting for pipes a while after SIGKILL or once
    /// nothing is left to stop, schedules the next check.
    fn check_stopping(&mut self, key: u64, now: Instant) {
        let Some(proc) = self.procs.get_mut(&key) else { return };
        let pgid = proc.pid();
        let exited = proc.exit.is_some();
        let pipes_done = proc.pipes_done();
        let Some(s) = &mut proc.stopping else { return };
        if !s.group_gone && exited && !proc.tree.alive(pgid) {
            s.group_gone = true;
        }
        if !s.group_gone && s.killed_at.is_none() && s.kill_at.is_some_and(|at| now >= at) {
            tracing::warn!(process_id = %proc.shared.id, pid = pgid, "killing the process group");
            s.killed_at = Some(now);
            s.group_gone = proc.tree.signal(pgid, true);
        }
        if let Some(killed_at) = s.killed_at
            && now >= killed_at + AFTER_KILL
        {
            // Whatever is left are zombies nobody reaps, or descendants that left
            // the group: report now rather than never.
            s.group_gone = true;
            s.drain_until = Some(s.drain_until.map_or(now, |d| d.min(now)));
        }
        if s.group_gone && !pipes_done && s.drain_until.is_none() {
            s.drain_until = Some(now + DRAIN);
        }
        if let Some(until) = s.drain_until
            && now >= until
        {
            // A descendant outside the group (setsid, or left running) still
            // holds a pipe: keep what was read, stop waiting for its end.
            for c in [&mut proc.stdout, &mut proc.stderr].into_iter().flatten() {
                if !c.eof {
                    sys::epoll_delete(&self.epoll, &c.pipe);
                    c.eof = true;
                    s.pipes_abandoned = true;
                }
            }
        }
        s.check_at = None;
        let next = if !s.group_gone {
            let limit = match s.killed_at {
                Some(killed_at) => Some(killed_at + AFTER_KILL),
                None => s.kill_at,
            };
            Some(limit.map_or(now + GROUP_RECHECK, |limit| (now + GROUP_RECHECK).min(limit)))
        } else {
            s.drain_until.filter(|until| *until > now)
        };
        if let Some(next) = next {
            s.check_at = Some(next);
            self.timers.push(Reverse((next, key, TimerKind::StopCheck)));
        }
        if exited {
            self.after_exit(key);
        }
    }

    fn complete(&mut self, proc: &mut Proc) {
        for c in [&proc.stdout, &proc.stderr].into_iter().flatten() {
            sys::epoll_delete(&self.epoll, &c.pipe);
        }
        proc.publish(self.callbacks);
        if orphans::reaping() {
            // The tree's orphans became our zombies as it ended; some may
            // still be on their way: look again a little later.
            orphans::reap();
            self.timers.push(Reverse((Instant::now() + REAP_AGAIN, REAPER, TimerKind::Reap)));
        }
    }
}

impl Proc {
    /// Publishes a finished process's result, wakes waiters and runs the
    /// callback (inline or on the background thread, as `callbacks` says).
    fn publish(&mut self, callbacks: Callbacks) {
        self.published = true;
        let status = self.exit.flatten();
        let (outcome, forced) = match &self.stopping {
            None => (ProcessStatus::Completed, false),
            Some(s) if s.cause == StopCause::LeaderExited => (ProcessStatus::Completed, false),
            Some(s) if s.cause == StopCause::Timeout => {
                (ProcessStatus::TimedOut, s.killed_at.is_some())
            }
            Some(s) if s.killed_at.is_some() => (ProcessStatus::Killed, true),
            Some(_) => (ProcessStatus::Terminated, false),
        };
        let signal = status.and_then(|s| s.signal());
        let stopped_by = if self.shared.memory_limited && self.tree.oom_killed() {
            Some(StoppedBy::OutOfMemory)
        } else if signal == Some(SIGXCPU)
            || (signal == Some(SIGKILL) && self.shared.cpu_limited && !killed_by_pp(&self.stopping))
        {
            Some(StoppedBy::CpuTimeLimit)
        } else {
            None
        };
        let take = |c: Option<Capture>| c.map(|c| (c.buf, c.dropped)).unwrap_or_default();
        let (stdout, stdout_dropped) = take(self.stdout.take());
        let (stderr, stderr_dropped) = take(self.stderr.take());
        let output = Arc::new(ProcessOutput {
            process_id: self.shared.id.clone(),
            pid: self.pid(),
            command: self.shared.command.clone(),
            status: outcome,
            code: status.and_then(|s| s.code()),
            signal,
            stdout,
            stderr,
            stdout_dropped,
            stderr_dropped,
            started_at: self.shared.started_at,
            duration: self.shared.started.elapsed(),
            containment: self.tree.contained(),
            stopped_by,
            held_open_by_escapee: self.shared.leftovers != Leftovers::Leave
                && self.stopping.as_ref().is_some_and(|s| s.pipes_abandoned),
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
        self.shared.finish(output.clone(), forced);
        let Some(callback) = self.on_exit.take() else { return };
        let job = move || {
            if catch_unwind(AssertUnwindSafe(|| callback(&output))).is_err() {
                tracing::error!(process_id = %output.process_id, "on_exit callback panicked");
            }
        };
        match callbacks {
            Callbacks::Elsewhere => in_background(Box::new(job)),
            Callbacks::Inline => job(),
        }
    }

    /// A process nobody can watch any more: kill its group rather than leave
    /// it untracked, reap it, and report it killed.
    fn lose(&mut self) {
        self.tree.signal(self.pid(), true);
        let status = self.child.wait().ok();
        orphans::reaped(self.pid());
        self.exit = Some(status);
        self.stdout = None;
        self.stderr = None;
        let now = Instant::now();
        self.stopping = Some(Stopping {
            cause: StopCause::Request,
            kill_at: Some(now),
            killed_at: Some(now),
            group_gone: true,
            drain_until: None,
            pipes_abandoned: false,
            check_at: None,
        });
        self.publish(Callbacks::Elsewhere);
    }
}

const SIGXCPU: i32 = 24;
const SIGKILL: i32 = 9;

/// Whether pp sent SIGKILL to the process. A SIGKILL pp did not send, with
/// a CPU limit set, came from the kernel at the hard limit.
fn killed_by_pp(stopping: &Option<Stopping>) -> bool {
    matches!(stopping, Some(s) if s.killed_at.is_some())
}

impl Drop for Proc {
    fn drop(&mut self) {
        if !self.published {
            self.lose();
        }
    }
}

fn reap(epoll: &OwnedFd, proc: &mut Proc) {
    match proc.child.try_wait() {
        Ok(None) => {}
        Ok(Some(status)) => {
            proc.exit = Some(Some(status));
            orphans::reaped(proc.pid());
        }
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
        // A child that closed its stdin is EPIPE here, never a SIGPIPE that
        // would kill a program which does not ignore it (on the reactor or
        // on a thread driving its own `run`).
        match sys::sigpipe::without_sigpipe(|| pipe.write(&bytes[*offset..end])) {
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
    if (done || *offset >= bytes.len())
        && let Some((pipe, _, _)) = stdin.take()
    {
        sys::epoll_delete(epoll, pipe.as_fd());
    }
}

/// Runs an event loop with `proc` on it and drops the loop, as epoll failing
/// or too many panics would: what the processes on a lost loop go through.
#[cfg(test)]
pub(crate) fn abandon(proc: Proc, inbox: Inbox) {
    let mut event_loop = EventLoop::new(Some(inbox), Callbacks::Inline).expect("an event loop");
    event_loop.add(proc);
    drop(event_loop);
}

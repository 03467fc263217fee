//! What the event loop watching a process and every handle to it share: the
//! process's fixed facts and its state, with a condition variable for
//! blocked waiters and a list of wakers for async ones.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::{Duration, Instant, SystemTime};

use crate::id::ProcessId;
use crate::types::{Contained, Leftovers, ProcessInfo, ProcessOutput, ProcessStatus};

/// What the reactor and every handle share about one process.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) id: ProcessId,
    pub(crate) pid: Option<u32>,
    pub(crate) command: Vec<String>,
    pub(crate) started_at: SystemTime,
    pub(crate) started: Instant,
    pub(crate) timeout: Option<Duration>,
    pub(crate) grace: Duration,
    /// What happens to descendants still running when the leader exits.
    pub(crate) leftovers: Leftovers,
    /// What contains its tree.
    pub(crate) contained: Contained,
    /// Whether it runs under an `RLIMIT_CPU` (to report a kill by the kernel).
    pub(crate) cpu_limited: bool,
    /// Whether its cgroup has `memory.max` (only then is an OOM kill looked for).
    pub(crate) memory_limited: bool,
    /// The event loop's key for this process (0: never registered).
    pub(crate) key: u64,
    pub(crate) state: Mutex<State>,
    /// Notified once `state` has a finished status.
    pub(crate) finished: Condvar,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) status: ProcessStatus,
    /// Whether stopping it took SIGKILL.
    pub(crate) forced: bool,
    pub(crate) code: Option<i32>,
    pub(crate) signal: Option<i32>,
    pub(crate) duration: Option<Duration>,
    pub(crate) output: Option<Arc<ProcessOutput>>,
    /// The async waits pending on it, woken by [`Shared::finish`].
    pub(crate) wakers: Wakers,
}

impl State {
    /// The state of a process that has just started.
    pub(crate) fn running() -> State {
        State {
            status: ProcessStatus::Running,
            forced: false,
            code: None,
            signal: None,
            duration: None,
            output: None,
            wakers: Wakers::default(),
        }
    }
}

/// The wakers of pending async waits, each under the token its future holds,
/// so a dropped future takes its waker out (no growth while a long process runs).
#[derive(Debug, Default)]
pub(crate) struct Wakers {
    next_token: u64,
    entries: Vec<(u64, Waker)>,
}

impl Wakers {
    /// Registers `waker` for the future holding `token` (a new token if `None`); returns the token.
    pub(crate) fn register(&mut self, token: Option<u64>, waker: &Waker) -> u64 {
        if let Some(token) = token
            && let Some((_, old)) = self.entries.iter_mut().find(|(t, _)| *t == token)
        {
            if !old.will_wake(waker) {
                old.clone_from(waker);
            }
            return token;
        }
        let token = self.next_token;
        self.next_token += 1;
        self.entries.push((token, waker.clone()));
        token
    }

    /// Takes out the waker of the future holding `token`, if still there.
    pub(crate) fn remove(&mut self, token: u64) {
        if let Some(at) = self.entries.iter().position(|(t, _)| *t == token) {
            self.entries.swap_remove(at);
        }
    }

    /// How many async waits are pending.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn take(&mut self) -> Vec<(u64, Waker)> {
        std::mem::take(&mut self.entries)
    }
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere never leaves State half-written: every write is one assignment.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the final state and wakes every waiter. Called once, by the reactor.
    pub(crate) fn finish(&self, output: Arc<ProcessOutput>, forced: bool) {
        let mut state = self.lock();
        state.status = output.status;
        state.forced = forced;
        state.code = output.code;
        state.signal = output.signal;
        state.duration = Some(output.duration);
        state.output = Some(output);
        let wakers = state.wakers.take();
        drop(state);
        self.finished.notify_all();
        // Woken outside the lock: a waker may run its task's poll at once.
        for (_, waker) in wakers {
            waker.wake();
        }
    }

    pub(crate) fn wait_finished(&self) -> MutexGuard<'_, State> {
        let mut state = self.lock();
        while !state.status.is_finished() {
            state = self.finished.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        state
    }

    pub(crate) fn wait_finished_until(&self, deadline: Instant) -> Option<MutexGuard<'_, State>> {
        let mut state = self.lock();
        while !state.status.is_finished() {
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            state = self
                .finished
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        Some(state)
    }

    pub(crate) fn info(&self) -> ProcessInfo {
        let state = self.lock();
        ProcessInfo {
            process_id: self.id.clone(),
            pid: self.pid,
            command: self.command.clone(),
            status: state.status,
            started_at: self.started_at,
            duration: state.duration.unwrap_or_else(|| self.started.elapsed()),
            code: state.code,
            signal: state.signal,
            containment: self.contained.clone(),
        }
    }
}

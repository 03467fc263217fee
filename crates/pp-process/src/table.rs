//! The process table: every process started through it, by id.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::command::Command;
use crate::error::{Error, Result};
use crate::handle::{Driver, Local, ProcessHandle, failed_record, start};
use crate::reactor::drive_here;
use crate::text::shorten;
use crate::types::{ProcessInfo, ProcessOutput, TerminateOutcome};

/// Tracks processes by id: status, start time, duration, return code.
///
/// Finished entries stay until [`cleanup`](Self::cleanup) removes them.
/// Dropping the table does not stop its processes (use
/// [`terminate_all`](Self::terminate_all)); they are still reaped.
#[derive(Debug, Default)]
pub struct ProcessTable {
    entries: Mutex<HashMap<crate::ProcessId, ProcessHandle>>,
    /// Ids being started now: claimed under the entries' lock, which is not
    /// held across the spawn itself, so threads start processes in parallel.
    starting: Mutex<HashSet<crate::ProcessId>>,
}

impl ProcessTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<crate::ProcessId, ProcessHandle>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts `cmd` and tracks it; returns at once.
    ///
    /// A command that fails to start is still recorded, with status `failed`,
    /// unless its id was invalid or already taken.
    pub fn spawn(&self, cmd: &Command) -> Result<ProcessHandle> {
        self.start(cmd, Driver::Reactor).map(|(handle, _)| handle)
    }

    /// Runs `cmd` to completion and returns its output; the process stays in
    /// the table, and other threads can stop it by id meanwhile.
    ///
    /// The calling thread watches the process itself, as [`Command::run`] does.
    pub fn run(&self, cmd: &Command) -> Result<ProcessOutput> {
        let (handle, local) = self.start(cmd, Driver::Here)?;
        if let Some((proc, inbox)) = local {
            drive_here(proc, inbox)?;
        }
        handle.into_output()
    }

    fn start(&self, cmd: &Command, driver: Driver) -> Result<(ProcessHandle, Local)> {
        let id = cmd.process_id()?;
        {
            // Lock order: entries, then starting.
            let entries = self.entries();
            let mut starting = self.starting.lock().unwrap_or_else(PoisonError::into_inner);
            if entries.contains_key(&id) || !starting.insert(id.clone()) {
                return Err(Error::DuplicateProcessId { id });
            }
        }
        let started = start(cmd, id.clone(), driver);
        let mut entries = self.entries();
        self.starting.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
        match started {
            Ok((handle, local)) => {
                entries.insert(id, handle.clone());
                Ok((handle, local))
            }
            Err(e) => {
                entries.insert(id.clone(), failed_record(cmd, id));
                Err(e)
            }
        }
    }

    /// The record of process `id`, if tracked.
    pub fn get(&self, id: &str) -> Option<ProcessInfo> {
        self.entries().get(id).map(ProcessHandle::info)
    }

    /// A handle to process `id`, if tracked.
    pub fn handle(&self, id: &str) -> Option<ProcessHandle> {
        self.entries().get(id).cloned()
    }

    /// Every tracked process, oldest first.
    pub fn list(&self) -> Vec<ProcessInfo> {
        let handles: Vec<ProcessHandle> = self.entries().values().cloned().collect();
        let mut infos: Vec<ProcessInfo> = handles.iter().map(ProcessHandle::info).collect();
        infos.sort_by(|a, b| a.started_at.cmp(&b.started_at).then(a.process_id.cmp(&b.process_id)));
        infos
    }

    /// How many processes are tracked.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether no process is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes finished entries; returns how many were removed.
    pub fn cleanup(&self) -> usize {
        let mut entries = self.entries();
        let before = entries.len();
        entries.retain(|_, handle| !handle.status().is_finished());
        before - entries.len()
    }

    /// Stops process `id` and its whole tree (SIGTERM, `grace` or the
    /// command's own grace period, SIGKILL).
    pub fn terminate(&self, id: &str, grace: Option<Duration>) -> Result<TerminateOutcome> {
        let handle = self.handle(id).ok_or_else(|| Error::UnknownProcess { id: shorten(id) })?;
        match grace {
            Some(grace) => handle.terminate_with_grace(grace),
            None => handle.terminate(),
        }
    }

    /// Stops every running process at once (SIGTERM to all, then SIGKILL to
    /// whatever outlives `grace`); returns how many were stopped.
    pub fn terminate_all(&self, grace: Duration) -> usize {
        let running: Vec<ProcessHandle> = self
            .entries()
            .values()
            .filter(|handle| !handle.status().is_finished())
            .cloned()
            .collect();
        // Ask for every stop first, so the grace periods run side by side.
        let stopping: Vec<&ProcessHandle> =
            running.iter().filter(|handle| handle.request_stop(grace).is_ok()).collect();
        stopping
            .into_iter()
            .filter(|handle| {
                matches!(
                    handle.stop_outcome(),
                    TerminateOutcome::Terminated | TerminateOutcome::Killed
                )
            })
            .count()
    }
}

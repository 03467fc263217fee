//! Processes: run, start, look up, stop, list.

use pp_process::{Command, ProcessTable, TerminateOutcome};

use super::{ProcessManager, TERMINATE_GRACE};
use crate::error::Result;
use crate::records::{ProcessRecord, ProcessResult};

impl ProcessManager {
    /// Runs `cmd` and waits for it. A timeout stops its whole process tree and
    /// returns `ManagerError::Process(pp_process::Error::Timeout { .. })`.
    pub fn run_process(&self, cmd: &Command) -> Result<ProcessResult> {
        tracing::debug!(command = ?cmd.argv_lossy(), "run_process");
        Ok(self.processes.run(cmd)?.into())
    }

    /// Starts `cmd` and returns its id at once.
    pub fn run_process_async(&self, cmd: &Command) -> Result<pp_process::ProcessId> {
        tracing::debug!(command = ?cmd.argv_lossy(), "run_process_async");
        Ok(self.processes.spawn(cmd)?.id().clone())
    }

    /// The status of process `id`; `None` if no such process is tracked.
    pub fn get_process_status(&self, id: &str) -> Option<ProcessRecord> {
        self.processes.get(id).map(ProcessRecord::from)
    }

    /// Stops process `id` and its whole tree (SIGTERM, 5 s, SIGKILL). True if
    /// it was running and was stopped; false if unknown or already finished.
    pub fn terminate_process(&self, id: &str) -> bool {
        let running = self.processes.get(id).is_some_and(|p| !p.status.is_finished());
        running
            && matches!(
                self.processes.terminate(id, Some(TERMINATE_GRACE)),
                Ok(TerminateOutcome::Terminated | TerminateOutcome::Killed)
            )
    }

    /// Every tracked process, oldest first.
    pub fn list_processes(&self) -> Vec<ProcessRecord> {
        self.processes.list().into_iter().map(ProcessRecord::from).collect()
    }

    /// Forgets finished processes; returns how many.
    pub fn cleanup_processes(&self) -> usize {
        self.processes.cleanup()
    }

    /// Stops every running process (and its tree); returns how many.
    pub fn terminate_all_processes(&self) -> usize {
        self.processes.terminate_all(TERMINATE_GRACE)
    }

    /// The underlying process table, for what the seed's API does not cover.
    pub fn process_table(&self) -> &ProcessTable {
        &self.processes
    }
}

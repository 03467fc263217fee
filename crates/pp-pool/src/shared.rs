//! What a process pool shares with its supervisors.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::options::ProcessPoolOptions;
use crate::remote::Identity;
use crate::sys::{Alarm, Alarms};

/// A process pool's state, beyond its queue.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) options: ProcessPoolOptions,
    /// The worker executable.
    pub(crate) exe: PathBuf,
    /// Who this program is: workers must prove they are the same.
    pub(crate) identity: Identity,
    /// One per supervisor, by slot.
    alarms: Arc<Alarms>,
    /// Set by a shutdown that cancels: running tasks are stopped too.
    stopping: AtomicBool,
    /// Pids of live workers (for `worker_pids`).
    pids: Mutex<Vec<u32>>,
}

impl Shared {
    /// The state of a pool with one supervisor per alarm.
    pub(crate) fn new(
        options: ProcessPoolOptions,
        exe: PathBuf,
        identity: Identity,
        alarms: Arc<Alarms>,
    ) -> Shared {
        Shared {
            options,
            exe,
            identity,
            alarms,
            stopping: AtomicBool::new(false),
            pids: Mutex::new(Vec::new()),
        }
    }

    /// The alarm of the supervisor in `slot`.
    pub(crate) fn alarm(&self, slot: usize) -> Option<&Arc<Alarm>> {
        self.alarms.get(slot)
    }

    /// Every supervisor's alarm, for a task to ring when it is cancelled
    /// while running (its own supervisor acts, the others sleep again).
    pub(crate) fn alarms(&self) -> &Arc<Alarms> {
        &self.alarms
    }

    /// Tells every supervisor to stop its worker and cancel its tasks.
    pub(crate) fn begin_stopping(&self) {
        self.stopping.store(true, Ordering::Release);
        self.alarms.ring_all();
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    fn lock_pids(&self) -> std::sync::MutexGuard<'_, Vec<u32>> {
        self.pids.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn worker_started(&self, pid: u32) {
        self.lock_pids().push(pid);
    }

    pub(crate) fn worker_gone(&self, pid: u32) {
        self.lock_pids().retain(|p| *p != pid);
    }

    pub(crate) fn worker_pids(&self) -> Vec<u32> {
        self.lock_pids().clone()
    }
}

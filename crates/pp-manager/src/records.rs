//! Plain records the facade returns; they serialize to JSON with the seed's field names.

use std::fmt;
use std::time::UNIX_EPOCH;

use pp_process::Contained;
use serde::{Deserialize, Serialize};

use crate::status::{ContainmentKind, ExecutorKind, ProcessState, TaskState, returncode};

/// The result of [`run_process`](crate::ProcessManager::run_process): the seed's dict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProcessResult {
    /// The manager's id of the process.
    pub process_id: String,
    /// The OS process id.
    pub pid: u32,
    /// The command line.
    pub command: Vec<String>,
    /// `completed`, `timeout`, `terminated` or `killed`.
    pub status: ProcessState,
    /// Exit code, or minus the signal number (Python's convention).
    pub returncode: i32,
    /// Captured standard output (lossy UTF-8).
    pub stdout: String,
    /// Captured standard error (lossy UTF-8).
    pub stderr: String,
    /// Run time in seconds.
    pub duration: f64,
}

impl From<pp_process::ProcessOutput> for ProcessResult {
    fn from(out: pp_process::ProcessOutput) -> Self {
        ProcessResult {
            process_id: out.process_id.to_string(),
            pid: out.pid,
            command: out.command.clone(),
            status: out.status.into(),
            // -1 only if neither is known, which pp-process never reports for a finished process.
            returncode: returncode(out.code, out.signal).unwrap_or(-1),
            stdout: out.stdout_str().into_owned(),
            stderr: out.stderr_str().into_owned(),
            duration: out.duration.as_secs_f64(),
        }
    }
}

/// A tracked process's status: what [`get_process_status`](crate::ProcessManager::get_process_status) returns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProcessRecord {
    /// The manager's id of the process.
    pub process_id: String,
    /// The OS process id (none if it failed to start).
    pub pid: Option<u32>,
    /// The command line.
    pub command: Vec<String>,
    /// `running`, `completed`, `failed`, `timeout`, `terminated` or `killed`.
    pub status: ProcessState,
    /// Exit code (or minus the signal), once finished.
    pub returncode: Option<i32>,
    /// Start time, seconds since the Unix epoch.
    pub start_time: f64,
    /// Run time so far, or in total, in seconds.
    pub duration: f64,
    /// What a stop reaches: `"cgroup"` (every descendant), `"process group"`
    /// (descendants that left the group escape) or `"none"` (never started).
    pub containment: ContainmentKind,
    /// The process's own cgroup, under cgroup containment.
    pub cgroup: Option<String>,
}

impl From<pp_process::ProcessInfo> for ProcessRecord {
    fn from(info: pp_process::ProcessInfo) -> Self {
        ProcessRecord {
            process_id: info.process_id.to_string(),
            pid: info.pid,
            returncode: returncode(info.code, info.signal),
            command: info.command,
            status: info.status.into(),
            start_time: info.started_at.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()),
            duration: info.duration.as_secs_f64(),
            containment: ContainmentKind::from(&info.containment),
            cgroup: match &info.containment {
                Contained::Cgroup(path) => Some(path.display().to_string()),
                _ => None,
            },
        }
    }
}

/// A task's status: what [`get_task_status`](crate::ProcessManager::get_task_status) returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskRecord {
    /// The task's id.
    pub task_id: String,
    /// The executor running it.
    pub executor_id: String,
    /// `pending`, `running`, `completed`, `failed`, `cancelled`, `timeout` or `worker_died`.
    pub status: TaskState,
}

/// An executor: what [`list_executors`](crate::ProcessManager::list_executors) returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExecutorInfo {
    /// The executor's id.
    pub executor_id: String,
    /// `process`, `thread` or `remote`.
    pub kind: ExecutorKind,
    /// Its workers (a remote pool's are wherever they run: 0).
    pub max_workers: usize,
}

/// A shared value's content, whatever its type.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// A signed integer (typecodes `i`, `l`).
    Int(i64),
    /// An unsigned integer (typecodes `I`, `L`).
    UInt(u64),
    /// A boolean (typecode `b`).
    Bool(bool),
    /// A double (typecode `d`).
    Float(f64),
}

impl Scalar {
    /// The value as an i64, if it is an integer that fits.
    pub fn as_i64(self) -> Option<i64> {
        match self {
            Scalar::Int(v) => Some(v),
            Scalar::UInt(v) => i64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as an f64 (integers converted).
    pub fn as_f64(self) -> Option<f64> {
        match self {
            Scalar::Float(v) => Some(v),
            Scalar::Int(v) => Some(v as f64),
            Scalar::UInt(v) => Some(v as f64),
            Scalar::Bool(_) => None,
        }
    }

    /// The value as a bool, if it is one.
    pub fn as_bool(self) -> Option<bool> {
        match self {
            Scalar::Bool(v) => Some(v),
            _ => None,
        }
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Int(v) => write!(f, "{v}"),
            Scalar::UInt(v) => write!(f, "{v}"),
            Scalar::Bool(v) => write!(f, "{v}"),
            Scalar::Float(v) => write!(f, "{v}"),
        }
    }
}

macro_rules! scalar_from {
    ($($t:ty => $variant:ident as $as:ty),*) => {$(
        impl From<$t> for Scalar {
            fn from(v: $t) -> Self {
                Scalar::$variant(v as $as)
            }
        }
    )*};
}
scalar_from!(i32 => Int as i64, i64 => Int as i64, u32 => UInt as u64, u64 => UInt as u64, f64 => Float as f64);

impl From<bool> for Scalar {
    fn from(v: bool) -> Self {
        Scalar::Bool(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Serialize + for<'de> Deserialize<'de> + PartialEq + fmt::Debug>(record: T) {
        let json = serde_json::to_string(&record).unwrap();
        let back: T = serde_json::from_str(&json).unwrap();
        assert_eq!(back, record, "{json}");
    }

    #[test]
    fn every_record_round_trips_through_json() {
        let output = pp_process::Command::new("echo").arg("hi").run().unwrap();
        let info = pp_process::ProcessTable::new();
        let handle = info.spawn(&pp_process::Command::new("true")).unwrap();
        handle.wait().unwrap();
        let record = ProcessRecord::from(info.get(handle.id().as_str()).unwrap());
        assert_eq!(serde_json::to_value(&record).unwrap()["status"], "completed");
        round_trip(record);
        round_trip(ProcessResult::from(output));
        round_trip(TaskRecord {
            task_id: "task-1-2".into(),
            executor_id: "pool".into(),
            status: TaskState::Running,
        });
        round_trip(ExecutorInfo {
            executor_id: "pool".into(),
            kind: ExecutorKind::Thread,
            max_workers: 2,
        });
        for scalar in
            [Scalar::Int(-3), Scalar::UInt(u64::MAX), Scalar::Bool(true), Scalar::Float(0.5)]
        {
            round_trip(scalar);
        }
    }
}

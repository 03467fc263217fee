//! The seed's vocabulary, here and nowhere below the facade: statuses, kinds
//! and containment as enums that print and serialize as the seed's strings
//! (`"timeout"`, `"worker_died"`), and the seed's `returncode`.
//!
//! Each enum compares equal to its string (`record.status == "running"`), so
//! code written against the seed's dicts reads the same.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Defines a facade enum whose variants print, compare and serialize as the seed's strings.
macro_rules! seed_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant,)*
        }

        impl $name {
            /// The seed's string for this value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

seed_enum! {
    /// A process's status in the seed's words.
    ProcessState {
        /// Started and not yet finished.
        Running = "running",
        /// Exited by itself, with any code.
        Completed = "completed",
        /// Could not be started.
        Failed = "failed",
        /// Ran past its timeout; its tree was stopped.
        Timeout = "timeout",
        /// Stopped on request within its grace period.
        Terminated = "terminated",
        /// Stopped with SIGKILL.
        Killed = "killed",
    }
}

seed_enum! {
    /// A task's status in the seed's words.
    TaskState {
        /// Waiting for a worker.
        Pending = "pending",
        /// A worker is running it.
        Running = "running",
        /// It returned a value.
        Completed = "completed",
        /// It panicked, or its argument or result could not be (de)serialized.
        Failed = "failed",
        /// It was cancelled.
        Cancelled = "cancelled",
        /// It ran past its timeout and was stopped.
        Timeout = "timeout",
        /// Its worker process died under it.
        WorkerDied = "worker_died",
    }
}

seed_enum! {
    /// What kind of executor a pool is.
    ExecutorKind {
        /// Worker processes (a [`pp_pool::ProcessPool`]).
        Process = "process",
        /// Threads (a [`pp_pool::ThreadPool`]).
        Thread = "thread",
        /// Workers on other hosts, through a NATS JetStream server (a
        /// [`pp_remote::RemotePool`]).
        Remote = "remote",
    }
}

seed_enum! {
    /// What a stop of a process reaches.
    ContainmentKind {
        /// Its own cgroup: every descendant.
        Cgroup = "cgroup",
        /// Its process group: descendants that left the group escape.
        ProcessGroup = "process group",
        /// Nothing: it never started.
        None = "none",
    }
}

impl From<pp_process::ProcessStatus> for ProcessState {
    fn from(status: pp_process::ProcessStatus) -> Self {
        use pp_process::ProcessStatus as S;
        match status {
            S::Running => ProcessState::Running,
            S::Completed => ProcessState::Completed,
            S::TimedOut => ProcessState::Timeout,
            S::Terminated => ProcessState::Terminated,
            S::Killed => ProcessState::Killed,
            // FailedToStart and any status a later pp-process adds.
            _ => ProcessState::Failed,
        }
    }
}

impl From<pp_pool::TaskStatus> for TaskState {
    fn from(status: pp_pool::TaskStatus) -> Self {
        use pp_pool::TaskStatus as S;
        match status {
            S::Pending => TaskState::Pending,
            S::Running => TaskState::Running,
            S::Completed => TaskState::Completed,
            S::Cancelled => TaskState::Cancelled,
            S::TimedOut => TaskState::Timeout,
            S::WorkerDied => TaskState::WorkerDied,
            // Failed and any status a later pp-pool adds.
            _ => TaskState::Failed,
        }
    }
}

impl From<&pp_process::Contained> for ContainmentKind {
    fn from(contained: &pp_process::Contained) -> Self {
        match contained {
            pp_process::Contained::Cgroup(_) => ContainmentKind::Cgroup,
            pp_process::Contained::ProcessGroup => ContainmentKind::ProcessGroup,
            _ => ContainmentKind::None,
        }
    }
}

/// Python subprocess's `returncode`: the exit code, or minus the number of
/// the signal that ended the process; `None` while it runs.
pub(crate) fn returncode(code: Option<i32>, signal: Option<i32>) -> Option<i32> {
    match (code, signal) {
        (Some(code), _) => Some(code),
        (None, Some(signal)) => Some(-signal),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_print_compare_and_serialize_as_the_seed() {
        assert_eq!(ProcessState::from(pp_process::ProcessStatus::TimedOut), "timeout");
        assert_eq!(TaskState::from(pp_pool::TaskStatus::WorkerDied).to_string(), "worker_died");
        assert_eq!(
            serde_json::to_string(&ContainmentKind::ProcessGroup).unwrap(),
            "\"process group\""
        );
        let back: TaskState = serde_json::from_str("\"cancelled\"").unwrap();
        assert_eq!(back, TaskState::Cancelled);
        assert!(
            serde_json::from_str::<ExecutorKind>("\"Thread\"").is_err(),
            "only the seed's names"
        );
        assert_ne!(ProcessState::Killed, "terminated");
    }

    #[test]
    fn returncode_is_pythons() {
        assert_eq!(returncode(Some(3), None), Some(3));
        assert_eq!(returncode(None, Some(9)), Some(-9));
        assert_eq!(returncode(None, None), None);
    }
}

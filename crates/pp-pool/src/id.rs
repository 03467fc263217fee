//! Task ids: `task-<pid>-<n>`, printed, parsed and (de)serialized as that text.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::shorten::{SHOWN, shorten};

/// The id of a task, printed `task-<pid>-<n>`: unique among the tasks of
/// this OS process (and, through the pid, among processes alive together).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId {
    pid: u32,
    n: u64,
}

impl TaskId {
    /// A fresh id, never given before in this process (for a layer that
    /// keeps tasks of its own beside a pool's, such as a remote pool's).
    pub fn next() -> TaskId {
        TaskId::generate()
    }

    pub(crate) fn generate() -> TaskId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        // getpid is a system call; pp never forks without exec, so it is read once.
        static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
        TaskId { pid: *PID.get_or_init(std::process::id), n: NEXT.fetch_add(1, Ordering::Relaxed) }
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task-{}-{}", self.pid, self.n)
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Why a text is not a task id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TaskIdError {
    /// The text is not `task-<pid>-<n>` with decimal numbers in range, written
    /// as [`TaskId`]'s `Display` writes them.
    #[error("not a task id: {input:?} ({reason}; expected task-<pid>-<n>)")]
    Malformed {
        /// The text, shortened to 64 characters (then `…`) if longer.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// A canonical decimal number: digits only, no sign, no leading zero.
fn canonical_number<T: std::str::FromStr>(text: &str) -> Result<T, &'static str> {
    if text.is_empty() {
        return Err("a number is missing");
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a number has a character other than 0-9");
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err("a number has a leading zero");
    }
    text.parse().map_err(|_| "a number is out of range")
}

/// Serialized as its string form (`task-<pid>-<n>`), parsed back with
/// [`FromStr`](std::str::FromStr)'s checks.
impl serde::Serialize for TaskId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for TaskId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for TaskId {
    type Err = TaskIdError;

    /// Parses `task-<pid>-<n>`, exactly as [`TaskId`] prints.
    fn from_str(s: &str) -> Result<Self, TaskIdError> {
        let parse = || -> Result<TaskId, &'static str> {
            let rest = s.strip_prefix("task-").ok_or("it does not start with \"task-\"")?;
            let (pid, n) = rest.split_once('-').ok_or("the second '-' is missing")?;
            Ok(TaskId { pid: canonical_number(pid)?, n: canonical_number(n)? })
        };
        parse().map_err(|reason| TaskIdError::Malformed { input: shorten(s, SHOWN), reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_print_and_parse() {
        let id = TaskId::generate();
        let text = id.to_string();
        assert!(text.starts_with(&format!("task-{}-", std::process::id())));
        assert_eq!(text.parse::<TaskId>().unwrap(), id);
        assert!(matches!(
            "task-x-1".parse::<TaskId>(),
            Err(TaskIdError::Malformed { input, .. }) if input == "task-x-1"
        ));
        assert_ne!(TaskId::generate(), id);
    }

    #[test]
    fn task_ids_round_trip_through_serde_as_their_text() {
        let id = TaskId::generate();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<TaskId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<TaskId>("\"task-01-2\"").is_err());
    }
}

//! Typed ids: each prints and parses as a string, and may be chosen by the caller.

use std::fmt;
use std::str::FromStr;

use pp_ipc::ObjectId;

use crate::error::ManagerError;

pub use pp_pool::TaskId;
pub use pp_process::ProcessId;

macro_rules! object_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        ///
        /// It is the object's OS name (`pp-…`): hand it to another process
        /// (argv, env, a file) and the facade there opens the same object.
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(ObjectId);

        impl $name {
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// The pp-ipc object id.
            pub fn object_id(&self) -> &ObjectId {
                &self.0
            }

            pub(crate) const KIND: &'static str = $kind;
        }

        impl From<ObjectId> for $name {
            fn from(id: ObjectId) -> Self {
                $name(id)
            }
        }

        impl FromStr for $name {
            type Err = ManagerError;
            fn from_str(s: &str) -> Result<Self, ManagerError> {
                ObjectId::new(s).map($name).map_err(|e| ManagerError::InvalidId {
                    kind: $kind,
                    id: s.to_owned(),
                    reason: e.to_string(),
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

object_id!(
    /// The id of a queue.
    QueueId,
    "queue"
);
object_id!(
    /// The id of a shared value.
    ValueId,
    "shared value"
);
object_id!(
    /// The id of an event.
    EventId,
    "event"
);
object_id!(
    /// The id of a lock.
    LockId,
    "lock"
);

/// The id of an executor (a process or thread pool) in one manager.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExecutorId(String);

impl ExecutorId {
    pub(crate) fn from_str_unchecked(id: String) -> ExecutorId {
        ExecutorId(id)
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ExecutorId {
    type Err = ManagerError;
    fn from_str(s: &str) -> Result<Self, ManagerError> {
        if s.is_empty() || s.chars().any(char::is_control) {
            return Err(ManagerError::InvalidId {
                kind: "executor",
                id: s.to_owned(),
                reason: "it must be non-empty, without control characters".into(),
            });
        }
        Ok(ExecutorId(s.to_owned()))
    }
}

impl fmt::Display for ExecutorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ExecutorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl serde::Serialize for ExecutorId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

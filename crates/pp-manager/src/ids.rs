//! Typed ids: each prints and parses as a string, and may be chosen by the caller.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;
use std::sync::{Arc, OnceLock, Weak};

use pp_ipc::ObjectId;

use crate::error::ManagerError;

pub use pp_pool::TaskId;
pub use pp_process::ProcessId;

/// The handle an IPC id last resolved to, shared by the id's clones: a hot
/// path (a queue used by id in a loop) skips the manager's map. Weak, so a
/// deleted object is not kept alive by ids that name it.
type HandleCache<T> = Arc<OnceLock<Weak<T>>>;

/// An id that remembers the handle it last resolved to.
pub(crate) trait CachedId<T>: Clone + Eq + std::hash::Hash {
    /// The handle this id last resolved to, if it is still alive.
    fn cached(&self) -> Option<Arc<T>>;
    /// Remembers `handle` for the next use of this id (and its clones).
    fn remember(&self, handle: &Arc<T>);
    /// The object's OS name.
    fn name(&self) -> &ObjectId;
}

macro_rules! object_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $handle:ty) => {
        $(#[$doc])*
        ///
        /// It is the object's OS name (`pp-…`): hand it to another process
        /// (argv, env, a file) and the facade there opens the same object.
        #[derive(Clone)]
        pub struct $name {
            id: ObjectId,
            cache: HandleCache<$handle>,
        }

        impl $name {
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                self.id.as_str()
            }

            /// The pp-ipc object id.
            pub fn object_id(&self) -> &ObjectId {
                &self.id
            }

            pub(crate) const KIND: &'static str = $kind;

        }

        impl CachedId<$handle> for $name {
            fn cached(&self) -> Option<Arc<$handle>> {
                self.cache.get()?.upgrade()
            }

            fn remember(&self, handle: &Arc<$handle>) {
                let _ = self.cache.set(Arc::downgrade(handle));
            }

            fn name(&self) -> &ObjectId {
                &self.id
            }
        }

        impl From<ObjectId> for $name {
            fn from(id: ObjectId) -> Self {
                $name { id, cache: Arc::default() }
            }
        }

        impl FromStr for $name {
            type Err = ManagerError;
            fn from_str(s: &str) -> Result<Self, ManagerError> {
                ObjectId::new(s).map($name::from).map_err(|e| {
                    let reason = match e {
                        // pp-ipc's message repeats the id whole: keep only the reason.
                        pp_ipc::Error::InvalidId { reason, .. } => reason.to_owned(),
                        other => other.to_string(),
                    };
                    ManagerError::invalid_id($kind, s, reason)
                })
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.id == other.id
            }
        }

        impl Eq for $name {}

        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.id.hash(state)
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $name {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.id.cmp(&other.id)
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

        /// Parsed with the checks of [`FromStr`]: a bad id is an error.
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

object_id!(
    /// The id of a queue.
    QueueId,
    "queue",
    pp_ipc::AnyQueue
);
object_id!(
    /// The id of a shared value.
    ValueId,
    "shared value",
    crate::values::AnyValue
);
object_id!(
    /// The id of an event.
    EventId,
    "event",
    pp_ipc::Event
);
object_id!(
    /// The id of a lock.
    LockId,
    "lock",
    pp_ipc::Lock
);

/// A task's id that knows the type `R` its function returns
/// ([`submit_typed_task`](crate::ProcessManager::submit_typed_task)). It
/// prints, parses and serializes as the plain [`TaskId`].
pub struct TypedTaskId<R> {
    id: TaskId,
    result: PhantomData<fn() -> R>,
}

impl<R> TypedTaskId<R> {
    pub(crate) fn new(id: TaskId) -> Self {
        TypedTaskId { id, result: PhantomData }
    }

    /// The plain task id, for the functions that take one.
    pub fn id(&self) -> &TaskId {
        &self.id
    }
}

// By hand: derives would require `R: Clone` etc., which the id does not need.
impl<R> Clone for TypedTaskId<R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<R> Copy for TypedTaskId<R> {}
impl<R> PartialEq for TypedTaskId<R> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl<R> Eq for TypedTaskId<R> {}
impl<R> std::hash::Hash for TypedTaskId<R> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}
impl<R> fmt::Display for TypedTaskId<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.id, f)
    }
}
impl<R> fmt::Debug for TypedTaskId<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TypedTaskId<{}>({})", std::any::type_name::<R>(), self.id)
    }
}
impl<R> From<TypedTaskId<R>> for TaskId {
    fn from(typed: TypedTaskId<R>) -> TaskId {
        typed.id
    }
}
impl<R> FromStr for TypedTaskId<R> {
    type Err = pp_pool::TaskIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(TypedTaskId::new)
    }
}
impl<R> serde::Serialize for TypedTaskId<R> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.id.serialize(s)
    }
}
impl<'de, R> serde::Deserialize<'de> for TypedTaskId<R> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        TaskId::deserialize(d).map(TypedTaskId::new)
    }
}

/// The id of an executor (a process or thread pool) in one manager: at most
/// [`ExecutorId::MAX_LEN`] bytes, non-empty, without control characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExecutorId(String);

impl ExecutorId {
    /// The longest id accepted, in bytes (as for process ids).
    pub const MAX_LEN: usize = 255;

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
        let reason = if s.is_empty() {
            Some("it is empty")
        } else if s.len() > Self::MAX_LEN {
            Some("it is longer than 255 bytes")
        } else if s.chars().any(char::is_control) {
            Some("it contains a control character")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(ManagerError::invalid_id("executor", s, reason)),
            None => Ok(ExecutorId(s.to_owned())),
        }
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

/// Parsed with the checks of [`FromStr`]: a bad id is an error.
impl<'de> serde::Deserialize<'de> for ExecutorId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod serde_tests {
    use super::*;

    /// Every id goes through JSON and back unchanged, as a plain string.
    fn round_trip<T>(id: T)
    where
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + fmt::Debug + fmt::Display,
    {
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""), "serialized as its string");
        let back: T = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
    }

    #[test]
    fn every_id_round_trips_through_json_and_bad_ones_are_refused() {
        round_trip::<QueueId>("pp-queue-a".parse().unwrap());
        round_trip::<ValueId>("pp-value-b".parse().unwrap());
        round_trip::<EventId>("pp-event-c".parse().unwrap());
        round_trip::<LockId>("pp-lock-d".parse().unwrap());
        round_trip::<ExecutorId>("my-pool".parse().unwrap());
        round_trip::<ProcessId>("job-1".parse().unwrap());
        round_trip::<TaskId>("task-12-34".parse().unwrap());
        round_trip::<TypedTaskId<String>>("task-12-35".parse().unwrap());
        round_trip::<pp_ipc::ObjectId>("pp-any".parse().unwrap());
        // Deserializing checks as parsing does: the error says why.
        let err = serde_json::from_str::<QueueId>("\"no-prefix\"").unwrap_err().to_string();
        assert!(err.contains("pp-"), "{err}");
        assert!(serde_json::from_str::<TaskId>("\"task-x\"").is_err());
        assert!(serde_json::from_str::<ProcessId>("\"\"").is_err());
        assert!(serde_json::from_str::<ExecutorId>(&format!("\"{}\"", "x".repeat(300))).is_err());
        assert!(serde_json::from_str::<pp_ipc::ObjectId>("\"pp-a/b\"").is_err());
    }
}

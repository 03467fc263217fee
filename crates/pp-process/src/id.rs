//! The id of a process in pp, and the one error of parsing it.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::text::shorten;

/// The id of a process in pp: chosen by the caller or generated.
///
/// It prints and parses as a plain string.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProcessId(Arc<str>);

impl ProcessId {
    /// The longest id accepted, in bytes.
    pub const MAX_LEN: usize = 255;

    /// Validates a caller-chosen id: non-empty, at most [`Self::MAX_LEN`] bytes,
    /// no control characters.
    pub fn new(id: impl Into<String>) -> Result<Self, ProcessIdError> {
        let id = id.into();
        let reason = if id.is_empty() {
            Some("it is empty")
        } else if id.len() > Self::MAX_LEN {
            Some("it is longer than 255 bytes")
        } else if id.chars().any(char::is_control) {
            Some("it contains a control character")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(ProcessIdError { id: shorten(&id), reason }),
            None => Ok(ProcessId(id.into())),
        }
    }

    /// A fresh id, unique within this OS process: `proc-<our pid>-<n>`.
    pub fn generate() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        ProcessId(format!("proc-{}-{n}", std::process::id()).into())
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProcessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ProcessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl FromStr for ProcessId {
    type Err = ProcessIdError;
    fn from_str(s: &str) -> Result<Self, ProcessIdError> {
        ProcessId::new(s)
    }
}

/// Serialized as its string; deserializing checks it as [`ProcessId::new`] does.
#[cfg(feature = "serde")]
impl serde::Serialize for ProcessId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for ProcessId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ProcessId::new(text).map_err(serde::de::Error::custom)
    }
}

impl AsRef<str> for ProcessId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for ProcessId {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

/// A text that is not a valid [`ProcessId`]: what was given (shortened if
/// long) and why it was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid process id {id:?}: {reason}")]
pub struct ProcessIdError {
    id: String,
    reason: &'static str,
}

impl ProcessIdError {
    /// The id as given (shortened when long).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Why it was refused.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_validated() {
        assert!(ProcessId::new("job-1").is_ok());
        assert_eq!(ProcessId::new("").unwrap_err().reason(), "it is empty");
        assert_eq!(ProcessId::new("a\nb").unwrap_err().reason(), "it contains a control character");
        let long = ProcessId::new("x".repeat(256)).unwrap_err();
        assert_eq!(long.reason(), "it is longer than 255 bytes");
        assert!(long.id().len() < 100, "the error keeps a shortened id: {long}");
        assert_ne!(ProcessId::generate(), ProcessId::generate());
        assert_eq!("abc".parse::<ProcessId>().unwrap().to_string(), "abc");
    }
}

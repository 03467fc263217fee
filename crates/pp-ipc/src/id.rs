//! [`ObjectId`]: the name of every pp-ipc object, checked when made or parsed.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result, shorten};
use crate::sys;

/// The name of a pp-ipc object: its OS name, always starting with `pp-`.
///
/// Prints and parses as a string; hand it to another process (argv, env, a
/// file) and `open` it there.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(String);

impl ObjectId {
    /// The longest id accepted, in bytes.
    pub const MAX_LEN: usize = 200;

    /// Validates a caller-chosen id: `pp-` then ASCII letters, digits, `.`, `_`, `-`.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        let reason = if !id.starts_with("pp-") {
            Some("it must start with \"pp-\"")
        } else if id.len() <= 3 {
            Some("it has nothing after \"pp-\"")
        } else if id.len() > Self::MAX_LEN {
            Some("it is longer than 200 bytes")
        } else if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
            Some("only ASCII letters, digits, '.', '_' and '-' are allowed")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidId { id: shorten(&id), reason }),
            None => Ok(ObjectId(id)),
        }
    }

    /// A fresh unguessable id, `pp-<kind>-<128 random bits in hex>`; `kind`
    /// follows the rules of [`new`](Self::new) and is at most 32 bytes.
    pub fn generate(kind: &str) -> Result<Self> {
        if kind.is_empty()
            || kind.len() > 32
            || !kind.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(Error::InvalidId {
                id: shorten(&format!("pp-{kind}-…")),
                reason: "the kind of a generated id must be 1 to 32 ASCII letters, digits, '.', '_' or '-'",
            });
        }
        let mut bytes = [0u8; 16];
        sys::random_bytes(&mut bytes).map_err(|source| Error::Io {
            what: "generating an id for a",
            id: kind.into(),
            source,
        })?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ok(ObjectId(format!("pp-{kind}-{hex}")))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl FromStr for ObjectId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        ObjectId::new(s)
    }
}

/// Serialized as its string form; deserializing checks it as [`ObjectId::new`] does.
impl serde::Serialize for ObjectId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for ObjectId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ObjectId::new(text).map_err(serde::de::Error::custom)
    }
}

impl AsRef<str> for ObjectId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_validated_and_generated() {
        assert!(ObjectId::new("pp-my-queue_1.x").is_ok());
        for bad in ["queue", "pp-", "pp-a/b", "pp-a b", &format!("pp-{}", "x".repeat(200))] {
            assert!(matches!(ObjectId::new(bad), Err(Error::InvalidId { .. })), "{bad:?}");
        }
        let a = ObjectId::generate("lock").unwrap();
        assert!(a.as_str().starts_with("pp-lock-") && a.as_str().len() == 8 + 32);
        assert_ne!(a, ObjectId::generate("lock").unwrap());
    }
}

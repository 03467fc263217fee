//! Items as bytes: postcard, through one scratch buffer per thread, and a
//! decode that takes only a whole record.
//!
//! postcard stops reading once a value is complete, so a record put as
//! `(u32, u32)` would read as a `u32` and silently drop the rest. Every
//! decode here requires the value to use up the record: bytes left over
//! mean the item was put as another type.

use std::cell::RefCell;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::id::ObjectId;

/// The largest scratch buffer a thread keeps between calls.
const SCRATCH_KEEP: usize = 1 << 20;

thread_local! {
    /// Serialization scratch space, reused across puts and gets.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's scratch buffer, emptied. [`Error::Serialization`]
/// if the buffer is in use: a put or get called from inside an item's
/// (de)serialization on this thread.
pub(crate) fn with_scratch<R>(
    id: &ObjectId,
    f: impl FnOnce(&mut Vec<u8>) -> Result<R>,
) -> Result<R> {
    SCRATCH.with(|scratch| {
        let mut buf = scratch.try_borrow_mut().map_err(|_| Error::Serialization {
            id: id.to_string(),
            reason: "a put or get was called from inside (de)serialization".into(),
        })?;
        buf.clear();
        let result = f(&mut buf);
        if buf.capacity() > SCRATCH_KEEP {
            *buf = Vec::new();
        }
        result
    })
}

/// Runs `f` on `item` serialized, in this thread's scratch buffer.
pub(crate) fn with_encoded<U: Serialize + ?Sized, R>(
    id: &ObjectId,
    item: &U,
    f: impl FnOnce(&[u8]) -> Result<R>,
) -> Result<R> {
    with_scratch(id, |buf| {
        let taken = std::mem::take(buf);
        let encoded = postcard::to_extend(item, taken)
            .map_err(|e| Error::Serialization { id: id.to_string(), reason: e.to_string() })?;
        let result = f(&encoded);
        *buf = encoded;
        result
    })
}

/// `item` serialized into a vector of its own.
pub(crate) fn encode<U: Serialize + ?Sized>(id: &ObjectId, item: &U) -> Result<Vec<u8>> {
    postcard::to_allocvec(item)
        .map_err(|e| Error::Serialization { id: id.to_string(), reason: e.to_string() })
}

/// Decodes a whole record as a `U`: [`Error::WrongItemType`] if it is not
/// one, or leaves bytes over.
pub(crate) fn decode_whole<U: DeserializeOwned>(id: &ObjectId, bytes: &[u8]) -> Result<U> {
    let wrong = |reason: String| Error::WrongItemType {
        id: id.to_string(),
        expected: std::any::type_name::<U>(),
        reason,
    };
    match postcard::take_from_bytes(bytes) {
        Ok((item, [])) => Ok(item),
        Ok((_, rest)) => Err(wrong(format!(
            "it is {} bytes, of which a {} takes only {}: it was put as another type",
            bytes.len(),
            std::any::type_name::<U>(),
            bytes.len() - rest.len()
        ))),
        Err(e) => Err(wrong(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> ObjectId {
        "pp-test-codec".parse().unwrap()
    }

    #[test]
    fn a_whole_record_decodes() {
        let bytes = encode(&id(), &(7u32, "x".to_owned())).unwrap();
        assert_eq!(decode_whole::<(u32, String)>(&id(), &bytes).unwrap(), (7, "x".to_owned()));
    }

    #[test]
    fn bytes_left_over_are_another_type_not_a_shorter_value() {
        let bytes = encode(&id(), &(1u32, 2u32)).unwrap();
        assert_eq!(postcard::from_bytes::<u32>(&bytes).unwrap(), 1, "postcard alone accepts it");
        let err = decode_whole::<u32>(&id(), &bytes).unwrap_err();
        assert!(
            matches!(&err, Error::WrongItemType { expected: "u32", reason, .. }
                if reason.contains("another type")),
            "{err}"
        );
    }

    #[test]
    fn bytes_that_are_no_value_of_the_type_are_the_wrong_type() {
        let bytes = encode(&id(), &"text").unwrap();
        assert!(matches!(decode_whole::<bool>(&id(), &bytes), Err(Error::WrongItemType { .. })));
    }

    #[test]
    fn the_scratch_buffer_refuses_reentry() {
        let nested = with_scratch(&id(), |_| Ok(with_scratch(&id(), |_| Ok(())).is_err()));
        assert!(nested.unwrap());
    }
}

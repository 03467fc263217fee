//! Property tests over what another process may write into shared memory:
//! random headers and random queue state words. Whatever the bytes, pp-ipc
//! answers with a value or a typed error — no panic, no wild access (a wild
//! access would crash this test binary). Case counts are bounded so CI runs
//! them in seconds; `PROPTEST_CASES` raises them for a longer hunt.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;

use pp_ipc::{
    Error, Event, Lock, ObjectId, Queue, QueueOptions, Semaphore, SharedValue, ValueKind,
};

const HEADER: u64 = 64;

fn scribble(id: &ObjectId, offset: u64, bytes: &[u8]) {
    let file = OpenOptions::new().write(true).open(Path::new("/dev/shm").join(id.as_str()));
    file.unwrap().write_all_at(bytes, offset).unwrap();
}

/// Errors that describe bad shared memory (or an honest outcome of it).
fn acceptable(e: &Error) -> bool {
    matches!(
        e,
        Error::Corrupt { .. }
            | Error::Empty { .. }
            | Error::Full { .. }
            | Error::Timeout { .. }
            | Error::WrongItemType { .. }
            | Error::WrongKind { .. }
            | Error::WrongValueType { .. }
            | Error::NotInitialized { .. }
    )
}

fn check<T>(result: Result<T, Error>) -> Result<(), TestCaseError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if acceptable(&e) => Ok(()),
        Err(e) => Err(TestCaseError::fail(format!("unexpected error: {e}"))),
    }
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Values a hostile writer likes: edges and anything at all.
fn word() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(u64::MAX),
        Just(u32::MAX as u64),
        0u64..256,
        (0u32..200, 0u32..64).prop_map(|(offset, count)| (count as u64) << 32 | offset as u64),
        any::<u64>(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_queue_state_is_a_value_or_a_typed_error(
        put_state in word(),
        get_state in word(),
        prefix in prop_oneof![Just(0u32), Just(u32::MAX), 0u32..200, any::<u32>()],
        at in 0u64..128,
    ) {
        let q = Queue::<u32>::create_with(QueueOptions::default().capacity_bytes(128).maxsize(16)).unwrap();
        q.try_put(1).unwrap();
        q.try_put(2).unwrap();
        scribble(q.id(), HEADER + 80, &put_state.to_ne_bytes());
        scribble(q.id(), HEADER + 88, &get_state.to_ne_bytes());
        scribble(q.id(), HEADER + 128 + at.min(124), &prefix.to_le_bytes());
        let limit = Duration::from_millis(1);
        check(q.try_get().map_err(|e| e.into_error(q.id())))?;
        check(q.try_put(3).map_err(|e| e.into_error(q.id())))?;
        check(q.get_timeout(limit).map_err(|e| e.into_error(q.id(), limit)))?;
        check(q.put_timeout(4, limit).map_err(|e| e.into_error(q.id(), limit)))?;
        prop_assert!(q.len() <= 128 / 4);
        let _ = q.is_full();
        check(q.clear())?;
    }

    #[test]
    fn any_header_is_refused_or_opened_never_a_crash(
        header in proptest::collection::vec(any::<u8>(), 64),
        keep_magic in any::<bool>(),
        kind in 1u32..7,
        payload_len in word(),
        consistent_sizes in any::<bool>(),
        tag in prop_oneof![Just(6u32), Just(1u32), 0u32..8, any::<u32>()],
    ) {
        let event = Event::create().unwrap();
        let mut header = header;
        if keep_magic {
            header[0..8].copy_from_slice(b"pp-ipc\0\x01");
            header[8..12].copy_from_slice(&3u32.to_ne_bytes()); // layout version
            header[12..16].copy_from_slice(&kind.to_ne_bytes());
            // Sizes that agree with the file (an event's: 64 + 8), so the
            // kind-specific checks behind the size check are reached too.
            let payload_len = if consistent_sizes { 8 } else { payload_len };
            header[24..32].copy_from_slice(&64u64.wrapping_add(payload_len).to_ne_bytes());
            header[32..40].copy_from_slice(&payload_len.to_ne_bytes());
            header[40..44].copy_from_slice(&tag.to_ne_bytes());
        }
        header[16..20].copy_from_slice(&1u32.to_ne_bytes()); // ready
        scribble(event.id(), 0, &header);
        check(Lock::open(event.id()))?;
        check(Event::open(event.id()))?;
        check(Semaphore::open(event.id()))?;
        check(SharedValue::<f64>::open(event.id()))?;
        check(ValueKind::of(event.id()))?;
        check(Queue::<u32>::open(event.id()))?;
    }
}

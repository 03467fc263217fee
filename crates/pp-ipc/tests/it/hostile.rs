//! Threats from outside the process: names planted in `/dev/shm` by another
//! user or as links and FIFOs, shared memory scribbled on by anyone, a mutex
//! held by a stuck or hostile process. Each test asserts the typed error and
//! that this process carries on (a fresh object still works afterwards).

use std::fs::OpenOptions;
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pp_ipc::{
    Error, Event, Lock, ObjectId, Queue, QueueOptions, Semaphore, SharedValue, TimeoutError,
    TryAcquireError, TryGetError, ValueKind,
};

use pp_tests::{OTHER_UID, effective_uid};

use crate::support::{exists, helper_command, this_exe, watchdog};

const LIMIT: Duration = Duration::from_secs(60);
/// Bytes before an object's payload.
const HEADER: u64 = 64;

fn unique(tag: &str) -> ObjectId {
    ObjectId::new(format!("pp-test-{tag}-{}", std::process::id())).unwrap()
}

fn shm_path(id: &ObjectId) -> PathBuf {
    Path::new("/dev/shm").join(id.as_str())
}

/// Removes a planted name whatever it is; a test leaves nothing behind.
struct Planted(PathBuf);

impl Drop for Planted {
    fn drop(&mut self) {
        // Not followed: a planted link goes, not what it points to.
        match std::fs::symlink_metadata(&self.0) {
            Ok(meta) if meta.is_dir() => {
                let _ = std::fs::remove_dir_all(&self.0);
            }
            _ => {
                let _ = std::fs::remove_file(&self.0);
            }
        }
    }
}

/// Every kind's `open` of `id`, each of which must fail as `check` says.
fn every_open_refuses(id: &ObjectId, check: impl Fn(&Error) -> bool) {
    let results: Vec<(&str, Result<(), Error>)> = vec![
        ("lock", Lock::open(id).map(drop)),
        ("event", Event::open(id).map(drop)),
        ("semaphore", Semaphore::open(id).map(drop)),
        ("value", SharedValue::<i64>::open(id).map(drop)),
        ("queue", Queue::<u32>::open(id).map(drop)),
    ];
    for (kind, result) in results {
        match result {
            Err(e) if check(&e) => {}
            Err(e) => panic!("{kind} open of {id}: unexpected error {e}"),
            Ok(()) => panic!("{kind} open of {id} succeeded on a planted name"),
        }
    }
}

/// The process still works: a fresh queue round-trips an item.
fn still_alive() {
    let q = Queue::<u32>::create(4).unwrap();
    q.try_put(7).unwrap();
    assert_eq!(q.try_get().unwrap(), 7);
}

fn untrusted(file_type: &'static str) -> impl Fn(&Error) -> bool {
    move |e| matches!(e, Error::Untrusted { file_type: t, .. } if *t == file_type)
}

#[test]
fn a_symlink_squatting_on_a_pp_name_is_refused_by_open_and_sweep() {
    watchdog(LIMIT, || {
        // The link points at a real object of ours: following it would work,
        // and is exactly what a squatter wants.
        let target = Event::create().unwrap();
        let id = unique("squat-link");
        let _planted = Planted(shm_path(&id));
        std::os::unix::fs::symlink(shm_path(target.id()), shm_path(&id)).unwrap();
        every_open_refuses(&id, untrusted("symbolic link"));
        let err = Event::open(&id).unwrap_err().to_string();
        assert!(err.contains(id.as_str()) && err.contains("symbolic link"), "{err}");
        let swept = pp_ipc::sweep().unwrap();
        assert!(swept.skipped.iter().any(|(name, _)| name == id.as_str()), "{swept:?}");
        assert!(shm_path(&id).symlink_metadata().is_ok(), "sweep leaves what is not ours");
        let listing = pp_ipc::list().unwrap();
        assert!(
            listing
                .skipped
                .iter()
                .any(|(name, why)| name == id.as_str() && why.contains("symbolic link"))
        );
        assert!(listing.objects.iter().all(|o| o.id != id.as_str()), "list does not describe it");
        still_alive();
    });
}

#[test]
fn a_fifo_squatting_on_a_pp_name_never_hangs_open_or_sweep() {
    watchdog(LIMIT, || {
        let id = unique("squat-fifo");
        let _planted = Planted(shm_path(&id));
        let made = std::process::Command::new("mkfifo").arg(shm_path(&id)).status().unwrap();
        assert!(made.success());
        every_open_refuses(&id, untrusted("FIFO"));
        let swept = pp_ipc::sweep().unwrap();
        assert!(
            swept.skipped.iter().any(|(name, why)| name == id.as_str() && why.contains("FIFO"))
        );
        still_alive();
    });
}

#[test]
fn objects_others_can_read_or_write_are_refused() {
    watchdog(LIMIT, || {
        let id = unique("squat-mode");
        let _planted = Planted(shm_path(&id));
        let file = OpenOptions::new().create_new(true).write(true).mode(0o600).open(shm_path(&id));
        file.unwrap().set_len(4096).unwrap();
        std::fs::set_permissions(shm_path(&id), std::fs::Permissions::from_mode(0o666)).unwrap();
        every_open_refuses(&id, |e| {
            matches!(e, Error::Untrusted { mode: Some(0o666), file_type: "regular file", .. })
        });
        let dir = unique("squat-dir");
        let _dir = Planted(shm_path(&dir));
        std::fs::create_dir(shm_path(&dir)).unwrap();
        every_open_refuses(&dir, |e| matches!(e, Error::Untrusted { .. } | Error::Io { .. }));
        still_alive();
    });
}

/// Runs `command` as [`OTHER_UID`]; `None` (with the reason printed)
/// where this process cannot switch users.
fn as_other_user(mut command: Command) -> Option<std::process::ExitStatus> {
    if effective_uid() != 0 {
        println!("skipped: planting as another user needs root (euid {})", effective_uid());
        return None;
    }
    let status = command.uid(OTHER_UID).gid(OTHER_UID).stdout(Stdio::null()).status().unwrap();
    Some(status)
}

/// A copy of this test binary (the helper) where another user can run it
/// (the build tree may not be).
fn helper_for_other_user() -> (PathBuf, Planted) {
    let dir = std::env::temp_dir().join(format!("pp-test-helper-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let helper = dir.join("pp-ipc-it");
    std::fs::copy(this_exe(), &helper).unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    (helper, Planted(dir))
}

#[test]
fn objects_planted_by_another_user_are_refused_by_open_and_sweep() {
    watchdog(LIMIT, || {
        let (helper, _helper_dir) = helper_for_other_user();
        // A genuine pp event, made by another user whose process then exits:
        // header valid, creator dead — only the owner check stands in the way.
        let id = unique("foreign-event");
        let planted = Planted(shm_path(&id));
        let leak = helper_command(&helper, &["leak-event", id.as_str()]);
        let Some(status) = as_other_user(leak) else { return };
        assert!(status.success(), "the other user created the event");
        assert!(exists(&id));
        every_open_refuses(&id, |e| {
            matches!(e, Error::Untrusted { owner: Some(OTHER_UID), file_type: "regular file", .. })
        });
        let err = Event::open(&id).unwrap_err().to_string();
        assert!(err.contains("54321") && err.contains("0600"), "names owner and mode: {err}");
        let swept = pp_ipc::sweep().unwrap();
        assert!(
            swept.skipped.iter().any(|(name, why)| name == id.as_str() && why.contains("54321"))
        );
        assert!(exists(&id), "sweep does not remove another user's object");

        // Links and FIFOs planted by that user.
        let link = unique("foreign-link");
        let fifo = unique("foreign-fifo");
        let _link = Planted(shm_path(&link));
        let _fifo = Planted(shm_path(&fifo));
        let script = format!(
            "ln -s /etc/passwd {} && mkfifo {}",
            shm_path(&link).display(),
            shm_path(&fifo).display()
        );
        let mut sh = Command::new("/bin/sh");
        sh.args(["-c", &script]);
        assert!(as_other_user(sh).unwrap().success());
        every_open_refuses(&link, untrusted("symbolic link"));
        every_open_refuses(&fifo, untrusted("FIFO"));
        drop(planted);
        still_alive();
    });
}

/// Writes `bytes` at `offset` of object `id`'s file: what any process of
/// the same user can do to the mapping at any time.
fn scribble(id: &ObjectId, offset: u64, bytes: &[u8]) {
    let file = OpenOptions::new().write(true).open(shm_path(id)).unwrap();
    file.write_all_at(bytes, offset).unwrap();
}

fn corrupt_mentioning(field: &'static str) -> impl Fn(&Error) -> bool {
    move |e| matches!(e, Error::Corrupt { reason, .. } if reason.contains(field))
}

/// A small `try_get` error as the rich one naming the queue.
fn rich(id: &ObjectId) -> impl Fn(TryGetError) -> Error + '_ {
    move |e| e.into_error(id)
}

/// A small `_timeout` error as the rich one naming the object.
fn timed(id: &ObjectId) -> impl Fn(TimeoutError) -> Error + '_ {
    move |e| e.into_error(id, ZERO)
}

/// The failure inside a `try_acquire` error (a would-block is no failure).
fn failed(e: TryAcquireError) -> Error {
    match e {
        TryAcquireError::Failed(error) => *error,
        other => panic!("expected a failure, got {other:?}"),
    }
}

const ZERO: Duration = Duration::ZERO;

#[track_caller]
fn assert_err<T: std::fmt::Debug>(result: Result<T, Error>, check: impl Fn(&Error) -> bool) {
    match result {
        Err(e) if check(&e) => {}
        other => panic!("unexpected outcome {other:?}"),
    }
}

/// Queue payload offsets (see queue.rs): the state words and the ring.
const CAPACITY_FIELD: u64 = HEADER + 64;
const PUT_STATE: u64 = HEADER + 80;
const GET_STATE: u64 = HEADER + 88;
const RING: u64 = HEADER + 128;

fn state(offset: u32, count: u32) -> [u8; 8] {
    ((count as u64) << 32 | offset as u64).to_ne_bytes()
}

fn small_queue() -> Queue<u32> {
    Queue::create_with(QueueOptions::default().capacity_bytes(64)).unwrap()
}

#[test]
fn corrupt_ring_offsets_and_counts_are_typed_errors_not_wild_accesses() {
    watchdog(LIMIT, || {
        let cases: Vec<(&str, u64, [u8; 8], &str)> = vec![
            ("tail past the ring", PUT_STATE, state(64 + 5, 1), "tail"),
            ("tail at u32::MAX", PUT_STATE, state(u32::MAX, 1), "tail"),
            ("head past the ring", GET_STATE, state(1000, 0), "head"),
            ("count beyond what fits", PUT_STATE, state(0, 1_000_000), "item count"),
            ("count wrapped below zero", GET_STATE, state(0, 5), "item count"),
            ("empty ring with head away from tail", GET_STATE, state(8, 0), "empty ring"),
        ];
        for (what, offset, bytes, field) in cases {
            let q = small_queue();
            scribble(q.id(), offset, &bytes);
            let check = corrupt_mentioning(field);
            assert_err(q.try_get().map_err(rich(q.id())), &check);
            assert_err(q.try_put(1).map_err(|e| e.into_error(q.id())), &check);
            assert_err(q.get_timeout(Duration::from_millis(10)).map_err(timed(q.id())), &check);
            assert_err(
                q.put_timeout(1, Duration::from_millis(10)).map_err(|e| e.into_error(q.id(), ZERO)),
                &check,
            );
            assert_err(q.clear(), &check);
            // Snapshots stay within what a ring can hold.
            assert!(q.len() <= 64 / 4, "{what}: len {}", q.len());
            let _ = q.is_full();
        }
        still_alive();
    });
}

#[test]
fn a_record_length_past_the_data_is_corrupt() {
    watchdog(LIMIT, || {
        let q = small_queue();
        q.try_put(5).unwrap();
        for length in [u32::MAX, 61, 1_000] {
            scribble(q.id(), RING, &length.to_le_bytes());
            assert_err(q.try_get().map_err(rich(q.id())), corrupt_mentioning("record length"));
        }
        still_alive();
    });
}

#[test]
fn corrupt_sizes_and_headers_are_refused_at_open() {
    watchdog(LIMIT, || {
        for capacity in [0u64, 3, 65, u64::MAX, 1 << 40] {
            let q = small_queue();
            scribble(q.id(), CAPACITY_FIELD, &capacity.to_ne_bytes());
            assert_err(Queue::<u32>::open(q.id()), corrupt_mentioning("sizes disagree"));
        }
        let junk: [(&str, [u8; 64]); 3] = [
            ("zeros", [0; 64]),
            ("all ones", [0xff; 64]),
            ("pattern", std::array::from_fn(|i| (i as u8).wrapping_mul(37))),
        ];
        for (what, header) in junk {
            let event = Event::create().unwrap();
            // Keep `ready` (bytes 16..20) at 1 so open reads the rest.
            let mut header = header;
            header[16..20].copy_from_slice(&1u32.to_ne_bytes());
            scribble(event.id(), 0, &header);
            match Event::open(event.id()) {
                Err(Error::Corrupt { .. } | Error::WrongKind { .. }) => {}
                other => panic!("{what}: {other:?}"),
            }
        }
        still_alive();
    });
}

/// Header offset of a shared value's type tag (see segment.rs).
const VALUE_TAG: u64 = 40;

#[test]
fn a_value_type_tag_no_kind_has_is_corrupt_not_a_type() {
    watchdog(LIMIT, || {
        for tag in [0u32, 7, 'd' as u32, u32::MAX] {
            let value = SharedValue::<i64>::create(5).unwrap();
            scribble(value.id(), VALUE_TAG, &tag.to_ne_bytes());
            let mentions_tag = |e: &Error| {
                matches!(e, Error::Corrupt { reason, .. }
                    if reason.contains(&format!("value type tag {tag}")))
            };
            assert_err(ValueKind::of(value.id()), mentions_tag);
            assert_err(SharedValue::<i64>::open(value.id()), mentions_tag);
            assert_err(SharedValue::<f64>::open(value.id()), mentions_tag);
            assert_eq!(value.get(), 5, "the creating handle is unaffected");
        }
        // A known tag of another kind is a mismatch, named both ways.
        let value = SharedValue::<i64>::create(5).unwrap();
        scribble(value.id(), VALUE_TAG, &6u32.to_ne_bytes());
        assert_eq!(ValueKind::of(value.id()).unwrap(), ValueKind::F64);
        assert_err(SharedValue::<i64>::open(value.id()), |e| {
            matches!(e, Error::WrongValueType { expected: "i64", found: "f64", .. })
        });
        still_alive();
    });
}

#[test]
fn an_event_flag_that_is_neither_set_nor_clear_is_corrupt_not_a_busy_loop() {
    watchdog(LIMIT, || {
        let event = Event::create().unwrap();
        scribble(event.id(), HEADER, &7u32.to_ne_bytes());
        assert_err(
            event.wait_timeout(Duration::from_secs(5)),
            corrupt_mentioning("event flag is 7"),
        );
        assert_err(event.wait(), corrupt_mentioning("event flag"));
        event.set();
        assert!(event.wait_timeout(Duration::ZERO).unwrap(), "set repairs the flag");
    });
}

#[test]
fn calls_that_do_not_wait_give_up_on_a_mutex_held_forever() {
    watchdog(LIMIT, || {
        let q = small_queue();
        q.try_put(1).unwrap();
        // A live process "holds" the ring's mutex: its lock word names that
        // process's tid, as a hostile or stuck holder would leave it.
        let mut holder = std::process::Command::new("sleep").arg("60").spawn().unwrap();
        scribble(q.id(), HEADER, &holder.id().to_ne_bytes());
        let started = Instant::now();
        assert_err(q.try_get().map_err(rich(q.id())), |e| matches!(e, Error::Busy { .. }));
        assert!(started.elapsed() >= Duration::from_millis(900), "it waited a while first");
        assert_err(q.try_put(2).map_err(|e| e.into_error(q.id())), |e| {
            matches!(e, Error::Busy { .. })
        });
        assert_err(q.clear(), |e| matches!(e, Error::Busy { .. }));
        assert!(q.get_timeout(Duration::from_millis(50)).unwrap_err().is_timeout());
        scribble(q.id(), HEADER, &0u32.to_ne_bytes());
        assert_eq!(q.try_get().unwrap(), 1, "nothing was lost");
        holder.kill().unwrap();
        holder.wait().unwrap();
    });
}

#[test]
fn a_scribbled_mutex_is_corrupt_and_a_scribbled_semaphore_is_harmless() {
    watchdog(LIMIT, || {
        // Zeros make glibc see a plain mutex that would no longer survive
        // its holder's death; other fills are kinds glibc refuses.
        for fill in [0x00u8, 0x01, 0x5a, 0xff] {
            let lock = Lock::create().unwrap();
            scribble(lock.id(), HEADER, &[fill; 40]);
            let corrupt = |e: &Error| matches!(e, Error::Corrupt { .. });
            assert_err(lock.try_acquire().map_err(failed), corrupt);
            assert_err(
                lock.acquire_timeout(Duration::from_millis(50)).map_err(timed(lock.id())),
                corrupt,
            );
            assert_err(lock.acquire(), corrupt);
            let q = small_queue();
            scribble(q.id(), HEADER, &[fill; 40]);
            assert_err(q.try_get().map_err(rich(q.id())), corrupt);
            assert_err(
                q.put_timeout(1, Duration::from_millis(50)).map_err(|e| e.into_error(q.id(), ZERO)),
                corrupt,
            );
            // A semaphore's count is any number: wrong, but never unsafe.
            let sem = Semaphore::create(0).unwrap();
            scribble(sem.id(), HEADER, &[fill; 8]);
            let _ = sem.try_acquire();
            let _ = sem.acquire_timeout(Duration::from_millis(10));
            let _ = sem.release();
        }
        still_alive();
    });
}

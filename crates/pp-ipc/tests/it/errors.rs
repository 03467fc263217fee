//! Every error variant, produced by the bad input that causes it.

use std::time::Duration;

use pp_ipc::{Error, Event, Lock, ObjectId, Semaphore, SharedValue, TryAcquireError};

use crate::support::Helper;

#[test]
fn unknown_ids_are_not_found() {
    let id = ObjectId::new("pp-test-never-created").unwrap();
    let err = Lock::open(&id).unwrap_err();
    assert!(matches!(&err, Error::NotFound { id } if id == "pp-test-never-created"), "{err}");
    assert!(err.to_string().contains("pp-test-never-created"));
}

#[test]
fn opening_as_the_wrong_kind_is_refused_in_another_process_too() {
    let event = Event::create().unwrap();
    let err = Lock::open(event.id()).unwrap_err();
    assert!(matches!(err, Error::WrongKind { expected: "lock", found: "event", .. }), "{err}");
    let mut helper = Helper::start(&["open-as", "semaphore", event.id().as_str()]);
    assert!(helper.line().contains("is of kind event, not semaphore"));
}

#[test]
fn opening_a_value_as_another_type_is_refused() {
    let value = SharedValue::<i64>::create(1).unwrap();
    let err = SharedValue::<f64>::open(value.id()).unwrap_err();
    assert!(matches!(err, Error::WrongValueType { expected: "f64", found: "i64", .. }), "{err}");
    let mut helper = Helper::start(&["open-as", "f64", value.id().as_str()]);
    assert!(helper.line().contains("holds i64, not f64"));
    let mut helper = Helper::start(&["open-as", "i64", value.id().as_str()]);
    assert_eq!(helper.line(), "ok");
}

#[test]
fn invalid_ids_are_refused() {
    for bad in ["no-prefix", "pp-", "pp-has/slash", "pp-has space"] {
        let err = ObjectId::new(bad).unwrap_err();
        assert!(matches!(&err, Error::InvalidId { id, .. } if id == bad), "{err}");
    }
}

#[test]
fn creating_an_existing_id_is_refused_and_loses_nothing() {
    let id = ObjectId::new(format!("pp-test-exists-{}", std::process::id())).unwrap();
    let first = SharedValue::<i64>::create_with_id(id.clone(), 7).unwrap();
    let err = SharedValue::<i64>::create_with_id(id.clone(), 9).unwrap_err();
    assert!(matches!(&err, Error::AlreadyExists { id: found } if found == id.as_str()), "{err}");
    assert_eq!(first.get(), 7, "the existing object was not touched");
    assert!(matches!(Event::create_with_id(id), Err(Error::AlreadyExists { .. })));
}

#[test]
fn a_corrupt_header_is_an_error_not_undefined_behaviour() {
    let id = ObjectId::new(format!("pp-test-corrupt-{}", std::process::id())).unwrap();
    let path = std::path::Path::new("/dev/shm").join(id.as_str());
    // Made as pp makes objects (ours, 0600), so only the contents are wrong.
    let write = |bytes: &[u8]| {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut options = std::fs::OpenOptions::new();
        options.create_new(true).write(true).mode(0o600);
        options.open(&path).unwrap().write_all(bytes).unwrap();
    };
    write(&[0xAB; 4096]);
    let err = Event::open(&id);
    std::fs::remove_file(&path).unwrap();
    let err = err.unwrap_err();
    assert!(matches!(&err, Error::NotInitialized { .. } | Error::Corrupt { .. }), "{err}");

    write(&[0u8; 10]);
    let err = Lock::open(&id);
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(err.unwrap_err(), Error::NotInitialized { .. }));
}

#[test]
fn timeouts_and_overflow_name_the_object() {
    let sem = Semaphore::create(0).unwrap();
    let limit = Duration::from_millis(50);
    let err = sem.acquire_timeout(limit).unwrap_err().into_error(sem.id(), limit);
    assert!(matches!(&err, Error::Timeout { limit: l, .. } if *l == limit), "{err}");
    assert!(err.to_string().contains(sem.id().as_str()), "{err}");
    let full = Semaphore::create(Semaphore::MAX).unwrap();
    assert!(matches!(full.release(), Err(Error::Overflow { .. })));
    assert!(matches!(Semaphore::create(u32::MAX), Err(Error::Overflow { .. })));
}

#[test]
fn release_under_a_live_guard_is_refused_and_the_guard_stays_valid() {
    let lock = Lock::create().unwrap();
    let guard = lock.acquire_timeout(Duration::from_secs(1)).unwrap();
    let err = lock.release().unwrap_err();
    assert!(matches!(&err, Error::GuardAlive { id } if id == lock.id().as_str()), "{err}");
    // Still held by the guard: another handle cannot take it.
    let other = Lock::open(lock.id()).unwrap();
    let in_thread = std::thread::scope(|s| s.spawn(|| other.try_acquire().is_ok()).join());
    assert!(!in_thread.unwrap(), "the guard still holds the lock");
    drop(guard);
    // The seed's style still works: keep, then release.
    lock.acquire_timeout(Duration::from_secs(1)).unwrap().keep();
    lock.release().unwrap();
    assert!(matches!(lock.release(), Err(Error::NotOwner { .. })));
}

#[test]
fn generated_ids_check_their_kind_and_huge_ids_make_short_messages() {
    for bad in ["", "a/b", "with space", &"k".repeat(33)] {
        let err = ObjectId::generate(bad).unwrap_err();
        assert!(matches!(err, Error::InvalidId { .. }), "{bad:?}: {err}");
    }
    assert!(ObjectId::generate("queue").is_ok());
    let huge = format!("pp-{}", "x/".repeat(500_000));
    let message = ObjectId::new(huge).unwrap_err().to_string();
    assert!(message.len() < 300, "a 1 MB id made a {}-byte message", message.len());
    assert!(message.contains("1000003 bytes"), "{message}");
}

#[test]
fn an_owned_guard_holds_the_lock_past_the_borrow_and_releases_on_drop() {
    let lock = std::sync::Arc::new(Lock::create().unwrap());
    let guard = lock.acquire_owned().unwrap();
    assert!(!guard.previous_owner_died());
    // Held: another handle in another thread cannot take it.
    let other = Lock::open(lock.id()).unwrap();
    let taken = std::thread::scope(|s| s.spawn(|| other.try_acquire().is_ok()).join());
    assert!(!taken.unwrap(), "the owned guard holds the lock");
    assert!(matches!(lock.release(), Err(Error::GuardAlive { .. })), "not pulled from under it");
    let held = lock.try_acquire_owned();
    assert!(matches!(held, Err(TryAcquireError::WouldBlock)), "this thread holds it already");
    drop(held);
    drop(guard);
    let again = lock.acquire_owned_timeout(Duration::from_secs(1)).unwrap();
    drop(again);
    drop(lock.acquire_owned_deadline(std::time::Instant::now() + Duration::from_secs(1)).unwrap());
    let free = std::thread::scope(|s| s.spawn(|| other.try_acquire().is_ok()).join());
    assert!(free.unwrap(), "dropping the owned guard released the lock");
}

//! Each kind of object, opened by id and used from other processes.

use std::time::{Duration, Instant};

use pp_ipc::{Event, Lock, ObjectId, Semaphore, SharedValue, ValueKind};

use crate::support::{Helper, exists, helper_command, this_exe, watchdog};

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn a_lock_whose_holder_is_killed_is_recovered_fifty_times() {
    watchdog(LIMIT, || {
        let lock = Lock::create().unwrap();
        for round in 0..50 {
            let mut holder = Helper::start(&["hold-lock", lock.id().as_str()]);
            assert_eq!(holder.line(), "held", "round {round}");
            assert!(lock.try_acquire().is_err(), "held by the helper");
            holder.kill();
            let guard = lock
                .acquire_timeout(Duration::from_secs(10))
                .expect("acquire after the holder died");
            assert!(guard.previous_owner_died(), "round {round}: the death was not reported");
            drop(guard);
            let again = lock.acquire_timeout(Duration::from_secs(10)).unwrap();
            assert!(!again.previous_owner_died(), "a clean release is not a death");
        }
    });
}

#[test]
fn a_lock_excludes_other_processes() {
    watchdog(LIMIT, || {
        let lock = Lock::create().unwrap();
        let value = SharedValue::<i64>::create(0).unwrap();
        let helpers: Vec<_> = (0..3)
            .map(|_| {
                Helper::start(&[
                    "count-under-lock",
                    lock.id().as_str(),
                    value.id().as_str(),
                    "3000",
                ])
            })
            .collect();
        for helper in helpers {
            assert!(helper.success());
        }
        assert_eq!(value.get(), 9000, "increments were lost: the lock did not exclude");
    });
}

#[test]
fn acquire_times_out_on_the_monotonic_clock_while_another_process_holds_it() {
    watchdog(LIMIT, || {
        let lock = Lock::create().unwrap();
        let mut holder = Helper::start(&["hold-lock", lock.id().as_str()]);
        assert_eq!(holder.line(), "held");
        let started = Instant::now();
        let err = lock.acquire_timeout(Duration::from_millis(700)).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(700));
        assert!(err.is_timeout(), "{err}");
    });
}

#[test]
fn explicit_release_for_the_seed_style() {
    let lock = Lock::create().unwrap();
    lock.acquire_timeout(Duration::from_secs(1)).unwrap().keep();
    assert!(lock.try_acquire().is_err(), "still held by this thread");
    let err = lock.acquire_timeout(Duration::from_secs(1)).unwrap_err();
    assert!(
        matches!(&err, pp_ipc::TimeoutError::Failed(e) if matches!(**e, pp_ipc::Error::AlreadyHeld { .. })),
        "waiting would deadlock: {err}"
    );
    assert!(matches!(lock.acquire(), Err(pp_ipc::Error::AlreadyHeld { .. })));
    lock.release().unwrap();
    let err = lock.release().unwrap_err();
    assert!(matches!(err, pp_ipc::Error::NotOwner { .. }), "{err}");
    assert!(lock.try_acquire().is_ok());
}

#[test]
fn set_wakes_waiters_in_every_process_even_after_a_waiter_was_killed() {
    watchdog(LIMIT, || {
        let event = Event::create().unwrap();
        let mut doomed = Helper::start(&["wait-event", event.id().as_str(), "60000"]);
        assert_eq!(doomed.line(), "waiting");
        std::thread::sleep(Duration::from_millis(100));
        doomed.kill();
        let mut waiters: Vec<_> =
            (0..3).map(|_| Helper::start(&["wait-event", event.id().as_str(), "60000"])).collect();
        for w in &mut waiters {
            assert_eq!(w.line(), "waiting");
        }
        assert!(!event.is_set());
        assert!(Helper::start(&["set-event", event.id().as_str()]).success());
        for mut w in waiters {
            assert_eq!(w.line(), "set");
        }
        assert!(event.is_set());
        event.clear();
        let started = Instant::now();
        assert!(!event.wait_timeout(Duration::from_millis(200)).unwrap());
        assert!(started.elapsed() >= Duration::from_millis(200));
        let mut late = Helper::start(&["wait-event", event.id().as_str(), "100"]);
        assert_eq!(late.line(), "waiting");
        assert_eq!(late.line(), "timeout");
    });
}

#[test]
fn shared_values_are_atomic_across_processes() {
    watchdog(LIMIT, || {
        let value = SharedValue::<i64>::create(5).unwrap();
        let helpers: Vec<_> =
            (0..2).map(|_| Helper::start(&["add", value.id().as_str(), "20000"])).collect();
        for helper in helpers {
            assert!(helper.success());
        }
        assert_eq!(value.get(), 40005);
        assert_eq!(value.compare_exchange(40005, 1), Ok(40005));
        assert_eq!(value.compare_exchange(40005, 2), Err(1));

        let flag = SharedValue::<bool>::create(false).unwrap();
        flag.set(true);
        assert!(SharedValue::<bool>::open(flag.id()).unwrap().get());
        let ratio = SharedValue::<f64>::create(2.5).unwrap();
        assert_eq!(SharedValue::<f64>::open(ratio.id()).unwrap().get(), 2.5);
        assert_eq!(ValueKind::of(ratio.id()).unwrap(), ValueKind::F64);
        assert_eq!(ValueKind::of(flag.id()).unwrap(), ValueKind::Bool);
        let small = SharedValue::<i32>::create(i32::MAX).unwrap();
        assert_eq!(small.fetch_add(1), i32::MAX);
        assert_eq!(small.get(), i32::MIN, "wraps at 32 bits");
    });
}

#[test]
fn a_semaphore_hands_out_permits_across_processes() {
    watchdog(LIMIT, || {
        let sem = Semaphore::create(1).unwrap();
        let mut first = Helper::start(&["acquire-sem", sem.id().as_str(), "5000"]);
        assert_eq!(first.line(), "acquired");
        assert_eq!(sem.value(), 0);
        let mut second = Helper::start(&["acquire-sem", sem.id().as_str(), "20000"]);
        std::thread::sleep(Duration::from_millis(100));
        sem.release().unwrap();
        assert_eq!(second.line(), "acquired");
        let mut starved = Helper::start(&["acquire-sem", sem.id().as_str(), "100"]);
        assert!(starved.line().contains("timed out"));
        assert!(sem.try_acquire().is_err());
    });
}

#[test]
fn the_creator_removes_the_name_and_open_handles_keep_working() {
    let event = Event::create().unwrap();
    let id = event.id().clone();
    let other = Event::open(&id).unwrap();
    assert!(exists(&id));
    drop(event);
    assert!(!exists(&id), "the creator's drop removes the name");
    other.set();
    assert!(other.is_set(), "an opened handle outlives the name");
    assert!(matches!(Event::open(&id), Err(pp_ipc::Error::NotFound { .. })));

    let lock = Lock::create_with_id(
        ObjectId::new(format!("pp-test-delete-{}", std::process::id())).unwrap(),
    )
    .unwrap();
    let id = lock.id().clone();
    lock.delete().unwrap();
    assert!(!exists(&id));
}

#[test]
fn sweep_removes_objects_of_dead_creators_only() {
    watchdog(LIMIT, || {
        let mine = Event::create().unwrap();
        // A helper creates nothing, so fake an orphan: an object whose creator
        // pid is dead, made by a process that exits without dropping it.
        let orphan = ObjectId::new(format!("pp-test-orphan-{}", std::process::id())).unwrap();
        let status = helper_command(&this_exe(), &["leak-event", orphan.as_str()])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        assert!(exists(&orphan));
        assert!(!pp_ipc::sweep().unwrap().removed.is_empty());
        assert!(!exists(&orphan), "the dead creator's object was swept");
        assert!(exists(mine.id()), "a live creator's object stays");
    });
}

#[test]
fn list_shows_kind_size_creator_and_staleness_without_changing_anything() {
    watchdog(LIMIT, || {
        let queue = pp_ipc::Queue::<u32>::create(8).unwrap();
        let event = Event::create().unwrap();
        let orphan = ObjectId::new(format!("pp-test-list-orphan-{}", std::process::id())).unwrap();
        let status = helper_command(&this_exe(), &["leak-event", orphan.as_str()])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let listing = pp_ipc::list().unwrap();
        let find = |id: &ObjectId| listing.objects.iter().find(|o| o.id == id.as_str()).cloned();
        let q = find(queue.id()).expect("the queue is listed");
        assert_eq!(
            (q.kind, q.creator_pid, q.stale),
            (pp_ipc::ObjectKind::Queue, Some(std::process::id()), false)
        );
        assert!(q.size > 64, "{q:?}");
        assert_eq!(find(event.id()).expect("the event is listed").kind, pp_ipc::ObjectKind::Event);
        let o = find(&orphan).expect("the orphan is listed");
        assert!(o.stale && o.creator_pid.is_some_and(|pid| pid != std::process::id()), "{o:?}");
        assert!(exists(&orphan), "list removes nothing");
        pp_ipc::unlink(&orphan).unwrap();
        drop(queue);
        assert!(pp_ipc::list().unwrap().objects.iter().all(|o| o.id != orphan.as_str()));
    });
}

#[test]
fn open_or_create_gives_both_racers_the_same_object() {
    watchdog(LIMIT, || {
        for round in 0..50 {
            let id = ObjectId::new(format!("pp-test-race-{}-{round}", std::process::id())).unwrap();
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
            let racers: Vec<_> = (0..2)
                .map(|_| {
                    let (id, barrier) = (id.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        SharedValue::<i64>::open_or_create(&id, 0).unwrap()
                    })
                })
                .collect();
            let values: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
            values[0].fetch_add(1);
            values[1].fetch_add(1);
            assert_eq!(values[0].get(), 2, "both racers hold the same object");
        }
        // Every kind has it; an existing object keeps its state.
        let id = ObjectId::new(format!("pp-test-ooc-{}", std::process::id())).unwrap();
        let sem = Semaphore::open_or_create(&id, 3).unwrap();
        assert_eq!(Semaphore::open_or_create(&id, 9).unwrap().value(), 3);
        drop(sem);
        let queue = pp_ipc::Queue::<u32>::open_or_create(&id, Default::default()).unwrap();
        queue.try_put(5).unwrap();
        let again = pp_ipc::Queue::<u32>::open_or_create(&id, Default::default()).unwrap();
        assert_eq!(again.try_get().unwrap(), 5);
        drop((queue, again));
        let lock = Lock::open_or_create(&id).unwrap();
        drop(Lock::open_or_create(&id).unwrap());
        drop(lock);
        let event = Event::open_or_create(&id).unwrap();
        event.set();
        assert!(Event::open_or_create(&id).unwrap().is_set());
        drop(event);
        assert!(!exists(&id), "the creating handle removed the name");
        // Another kind under the name is the wrong kind, not a new object.
        let event = Event::create_with_id(id.clone()).unwrap();
        assert!(matches!(Lock::open_or_create(&id), Err(pp_ipc::Error::WrongKind { .. })));
        drop(event);
    });
}

//! The four waiting forms of every object: `x()` blocks until another thread
//! or process makes the object ready, `try_x()` never waits, `x_timeout(d)`
//! and `x_deadline(t)` give up no earlier than asked and succeed when the
//! object becomes ready in time, and `Duration::MAX` as a timeout means no
//! deadline. Lower bounds on times are exact; upper bounds are hang guards only.
//! Giving up is a small error (`TryGetError::Empty`, `TimeoutError::Timeout`,
//! `TryAcquireError::WouldBlock`, …), or `None` for a pipe's `try_` forms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pp_ipc::{
    AnyQueue, Error, Event, Lock, ObjectId, Pipe, PipeListener, Queue, Semaphore, TimeoutError,
    TryAcquireError, TryGetError, TryPutError,
};

use crate::support::{Helper, watchdog};

/// How long the other side waits before making the object ready, and the
/// timeout the timing-out forms get.
const D: Duration = Duration::from_millis(150);
/// A wait that must succeed long before this (a hang guard, not a measurement).
const GENEROUS: Duration = Duration::from_secs(20);
const LIMIT: Duration = Duration::from_secs(120);

/// Runs `f` on another thread after `delay`.
fn after(delay: Duration, f: impl FnOnce() + Send + 'static) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        f();
    })
}

/// A `_timeout` / `_deadline` form gave up:
/// the small error, which becomes the rich one naming the object on request.
#[track_caller]
fn assert_gave_up<T: std::fmt::Debug>(result: Result<T, TimeoutError>, id: &ObjectId) {
    match result {
        Err(TimeoutError::Timeout) => {
            let rich = TimeoutError::Timeout.into_error(id, D);
            assert!(rich.to_string().contains(id.as_str()), "{rich}");
        }
        other => panic!("expected a timeout on {id}, got {other:?}"),
    }
}

// ----- Queue -----

#[test]
fn queue_put_blocks_until_a_get_makes_room_and_get_until_another_process_puts() {
    watchdog(LIMIT, || {
        let q = Queue::<u32>::create(1).unwrap();
        q.put(1).unwrap();
        let other = Queue::<u32>::open(q.id()).unwrap();
        let started = Instant::now();
        let taker = after(D, move || assert_eq!(other.get().unwrap(), 1));
        q.put(2).unwrap();
        assert!(started.elapsed() >= D, "put returned before there was room");
        taker.join().unwrap();
        assert_eq!(q.try_get().unwrap(), 2);

        let strings = Queue::<String>::create(0).unwrap();
        let helper = Helper::start(&["queue-put", strings.id().as_str(), "from a process"]);
        assert_eq!(strings.get().unwrap(), "from a process");
        assert!(helper.success());
    });
}

#[test]
fn queue_try_forms_never_wait() {
    let q = Queue::<u32>::create(1).unwrap();
    assert!(matches!(q.try_get(), Err(TryGetError::Empty)));
    q.try_put(1).unwrap();
    let refused = q.try_put(2).unwrap_err();
    assert!(matches!(refused, TryPutError::Full(2)), "the item comes back: {refused:?}");
    assert_eq!(q.try_get().unwrap(), 1);
}

#[test]
fn queue_timeout_forms_give_up_after_the_timeout_and_succeed_when_ready() {
    watchdog(LIMIT, || {
        let q = Queue::<u32>::create(1).unwrap();
        let started = Instant::now();
        assert_gave_up(q.get_timeout(D), q.id());
        assert!(started.elapsed() >= D);

        q.put_timeout(1, D).unwrap();
        let started = Instant::now();
        let refused = q.put_timeout(7, D).unwrap_err();
        assert!(started.elapsed() >= D);
        assert!(refused.is_timeout(), "{refused:?}");
        assert_eq!(refused.into_inner(), 7, "a timed-out put hands the item back");

        let other = Queue::<u32>::open(q.id()).unwrap();
        let taker = after(D, move || assert_eq!(other.get().unwrap(), 1));
        q.put_timeout(2, GENEROUS).unwrap();
        taker.join().unwrap();
        assert_eq!(q.get_timeout(GENEROUS).unwrap(), 2);

        let other = Queue::<u32>::open(q.id()).unwrap();
        let started = Instant::now();
        let putter = after(D, move || other.put(3).unwrap());
        assert_eq!(q.get_timeout(GENEROUS).unwrap(), 3);
        assert!(started.elapsed() >= D);
        putter.join().unwrap();
    });
}

#[test]
fn queue_deadline_forms_give_up_at_the_deadline_and_succeed_when_ready() {
    watchdog(LIMIT, || {
        let q = Queue::<u32>::create(1).unwrap();
        let started = Instant::now();
        assert_gave_up(q.get_deadline(started + D), q.id());
        assert!(started.elapsed() >= D);

        q.put_deadline(1, Instant::now() + D).unwrap();
        let started = Instant::now();
        let refused = q.put_deadline(7, started + D).unwrap_err();
        assert!(started.elapsed() >= D);
        assert!(refused.is_timeout(), "{refused:?}");
        assert_eq!(refused.into_inner(), 7);

        // A passed deadline still takes what is ready now.
        assert_eq!(q.get_deadline(started).unwrap(), 1);

        let other = Queue::<u32>::open(q.id()).unwrap();
        let started = Instant::now();
        let putter = after(D, move || other.put(3).unwrap());
        assert_eq!(q.get_deadline(Instant::now() + GENEROUS).unwrap(), 3);
        assert!(started.elapsed() >= D);
        putter.join().unwrap();
    });
}

#[test]
fn queue_duration_max_waits_without_a_deadline() {
    watchdog(LIMIT, || {
        let q = Queue::<u32>::create(1).unwrap();
        let other = Queue::<u32>::open(q.id()).unwrap();
        let putter = after(D, move || other.put(5).unwrap());
        assert_eq!(q.get_timeout(Duration::MAX).unwrap(), 5);
        putter.join().unwrap();

        q.put(1).unwrap();
        let other = Queue::<u32>::open(q.id()).unwrap();
        let taker = after(D, move || assert_eq!(other.get().unwrap(), 1));
        q.put_timeout(2, Duration::MAX).unwrap();
        taker.join().unwrap();
        assert_eq!(q.try_get().unwrap(), 2);
    });
}

#[test]
fn any_queue_has_the_four_forms_per_type() {
    watchdog(LIMIT, || {
        let q = AnyQueue::create(1).unwrap();
        assert!(matches!(q.try_get::<String>(), Err(TryGetError::Empty)));
        let started = Instant::now();
        assert_gave_up(q.get_timeout::<String>(D), q.id());
        assert!(started.elapsed() >= D);
        let started = Instant::now();
        assert_gave_up(q.get_deadline::<String>(started + D), q.id());
        assert!(started.elapsed() >= D);

        q.put("one").unwrap();
        assert!(matches!(q.try_put(2u8), Err(TryPutError::Full(2))));
        let started = Instant::now();
        let refused = q.put_timeout(3u8, D).unwrap_err();
        assert!(started.elapsed() >= D);
        assert!(refused.is_timeout());
        assert_eq!(refused.into_inner(), 3);
        let started = Instant::now();
        let refused = q.put_deadline(4u8, started + D).unwrap_err();
        assert!(started.elapsed() >= D);
        assert_eq!(refused.into_inner(), 4);

        let other = AnyQueue::open(q.id()).unwrap();
        let started = Instant::now();
        let taker = after(D, move || assert_eq!(other.get::<String>().unwrap(), "one"));
        q.put(5u8).unwrap();
        assert!(started.elapsed() >= D);
        taker.join().unwrap();
        assert_eq!(q.get_timeout::<u8>(Duration::MAX).unwrap(), 5);
        q.put_deadline(6u8, Instant::now() + GENEROUS).unwrap();
        assert_eq!(q.get_deadline::<u8>(Instant::now() + GENEROUS).unwrap(), 6);
    });
}

// ----- Lock -----

/// Holds `id`'s lock on another thread from before this returns until `hold` has passed.
fn hold_lock(id: &ObjectId, hold: Duration) -> std::thread::JoinHandle<()> {
    let lock = Lock::open(id).unwrap();
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let _guard = lock.acquire().unwrap();
        held_tx.send(()).unwrap();
        std::thread::sleep(hold);
    });
    held_rx.recv().unwrap();
    holder
}

#[test]
fn lock_acquire_blocks_until_a_thread_releases_or_a_holding_process_dies() {
    watchdog(LIMIT, || {
        let lock = Lock::create().unwrap();
        let started = Instant::now();
        let holder = hold_lock(lock.id(), D);
        let guard = lock.acquire().unwrap();
        assert!(started.elapsed() >= D, "acquired while another thread held the lock");
        assert!(!guard.previous_owner_died());
        drop(guard);
        holder.join().unwrap();

        let mut helper = Helper::start(&["hold-lock", lock.id().as_str()]);
        assert_eq!(helper.line(), "held");
        let killer = after(D, move || helper.kill());
        let guard = lock.acquire().unwrap();
        assert!(guard.previous_owner_died(), "the holder's death is reported");
        killer.join().unwrap();
    });
}

#[test]
fn lock_try_acquire_never_waits() {
    watchdog(LIMIT, || {
        let lock = Lock::create().unwrap();
        // Held long enough that a stalled test thread still finds it held.
        let holder = hold_lock(lock.id(), Duration::from_secs(3));
        let held = lock.try_acquire();
        assert!(matches!(held, Err(TryAcquireError::WouldBlock)), "held by another thread");
        drop(held);
        holder.join().unwrap();
        let guard = lock.try_acquire().expect("free");
        let held = lock.try_acquire();
        assert!(matches!(held, Err(TryAcquireError::WouldBlock)), "held by this thread");
        drop(held);
        assert!(matches!(lock.acquire(), Err(Error::AlreadyHeld { .. })), "would deadlock");
        drop(guard);
    });
}

#[test]
fn lock_timeout_and_deadline_forms_give_up_in_time_and_succeed_when_released() {
    watchdog(LIMIT, || {
        let lock = Lock::create().unwrap();
        let holder = hold_lock(lock.id(), 4 * D);
        let started = Instant::now();
        assert_gave_up(lock.acquire_timeout(D), lock.id());
        assert!(started.elapsed() >= D);
        let started = Instant::now();
        assert_gave_up(lock.acquire_deadline(started + D), lock.id());
        assert!(started.elapsed() >= D);
        // The holder lets go at 4 D, well inside these waits.
        drop(lock.acquire_timeout(GENEROUS).unwrap());
        holder.join().unwrap();

        let started = Instant::now();
        let holder = hold_lock(lock.id(), D);
        drop(lock.acquire_deadline(Instant::now() + GENEROUS).unwrap());
        assert!(started.elapsed() >= D);
        holder.join().unwrap();

        let started = Instant::now();
        let holder = hold_lock(lock.id(), D);
        drop(lock.acquire_timeout(Duration::MAX).unwrap());
        assert!(started.elapsed() >= D);
        holder.join().unwrap();
    });
}

// ----- Event -----

#[test]
fn event_wait_blocks_until_a_thread_or_a_process_sets_it() {
    watchdog(LIMIT, || {
        let event = Event::create().unwrap();
        let other = Event::open(event.id()).unwrap();
        let started = Instant::now();
        let setter = after(D, move || other.set());
        event.wait().unwrap();
        assert!(started.elapsed() >= D, "woke before the event was set");
        setter.join().unwrap();

        event.clear();
        assert!(!event.is_set(), "is_set is the form that does not wait");
        let helper = Helper::start(&["set-event", event.id().as_str()]);
        event.wait().unwrap();
        assert!(event.is_set());
        assert!(helper.success());
    });
}

#[test]
fn event_timeout_and_deadline_forms_return_false_in_time_and_true_when_set() {
    watchdog(LIMIT, || {
        let event = Event::create().unwrap();
        let started = Instant::now();
        assert!(!event.wait_timeout(D).unwrap());
        assert!(started.elapsed() >= D);
        let started = Instant::now();
        assert!(!event.wait_deadline(started + D).unwrap());
        assert!(started.elapsed() >= D);

        for form in ["timeout", "deadline", "Duration::MAX"] {
            event.clear();
            let other = Event::open(event.id()).unwrap();
            let started = Instant::now();
            let setter = after(D, move || other.set());
            let set = match form {
                "timeout" => event.wait_timeout(GENEROUS),
                "deadline" => event.wait_deadline(Instant::now() + GENEROUS),
                _ => event.wait_timeout(Duration::MAX),
            };
            assert!(set.unwrap(), "{form}");
            assert!(started.elapsed() >= D, "{form}");
            setter.join().unwrap();
        }
        // A passed deadline still reports a set event.
        assert!(event.wait_deadline(Instant::now()).unwrap());
    });
}

// ----- Semaphore -----

#[test]
fn semaphore_acquire_blocks_until_a_thread_or_a_process_releases() {
    watchdog(LIMIT, || {
        let sem = Semaphore::create(0).unwrap();
        let other = Semaphore::open(sem.id()).unwrap();
        let started = Instant::now();
        let releaser = after(D, move || other.release().unwrap());
        sem.acquire().unwrap().forget();
        assert!(started.elapsed() >= D, "acquired before a permit was released");
        releaser.join().unwrap();

        let mut helper = Helper::start(&["release-sem", sem.id().as_str()]);
        let permit = sem.acquire().unwrap();
        assert_eq!(helper.line(), "released");
        assert_eq!(sem.value(), 0);
        drop(permit);
        assert_eq!(sem.value(), 1, "a dropped permit goes back");
    });
}

#[test]
fn semaphore_try_acquire_never_waits() {
    let sem = Semaphore::create(1).unwrap();
    let permit = sem.try_acquire().unwrap();
    assert!(matches!(sem.try_acquire(), Err(TryAcquireError::WouldBlock)), "no permit left");
    drop(permit);
    sem.try_acquire().unwrap().forget();
    assert!(sem.try_acquire().is_err(), "a forgotten permit stays taken");
    sem.release().unwrap();
    assert!(sem.try_acquire().is_ok());
}

#[test]
fn semaphore_timeout_and_deadline_forms_give_up_in_time_and_succeed_when_released() {
    watchdog(LIMIT, || {
        let sem = Semaphore::create(0).unwrap();
        let started = Instant::now();
        assert_gave_up(sem.acquire_timeout(D), sem.id());
        assert!(started.elapsed() >= D);
        let started = Instant::now();
        assert_gave_up(sem.acquire_deadline(started + D), sem.id());
        assert!(started.elapsed() >= D);

        for form in ["timeout", "deadline", "Duration::MAX"] {
            let other = Semaphore::open(sem.id()).unwrap();
            let started = Instant::now();
            let releaser = after(D, move || other.release().unwrap());
            match form {
                "timeout" => sem.acquire_timeout(GENEROUS),
                "deadline" => sem.acquire_deadline(Instant::now() + GENEROUS),
                _ => sem.acquire_timeout(Duration::MAX),
            }
            .unwrap_or_else(|e| panic!("{form}: {e}"))
            .forget();
            assert!(started.elapsed() >= D, "{form}");
            releaser.join().unwrap();
        }
        assert_eq!(sem.value(), 0);
    });
}

#[test]
fn semaphore_owned_permits_have_the_four_forms_and_go_back_when_dropped() {
    watchdog(LIMIT, || {
        let sem = Arc::new(Semaphore::create(1).unwrap());
        let permit = sem.acquire_owned().unwrap();
        assert_eq!(sem.value(), 0);
        assert!(matches!(sem.try_acquire_owned(), Err(TryAcquireError::WouldBlock)));
        let started = Instant::now();
        assert_gave_up(sem.acquire_owned_timeout(D), sem.id());
        assert!(started.elapsed() >= D);
        let started = Instant::now();
        assert_gave_up(sem.acquire_owned_deadline(started + D), sem.id());
        assert!(started.elapsed() >= D);

        // Dropped on another thread: the permit goes back and wakes the waiter here.
        let started = Instant::now();
        let dropper = after(D, move || drop(permit));
        let again = sem.acquire_owned_timeout(GENEROUS).unwrap();
        assert!(started.elapsed() >= D, "acquired before the permit was dropped");
        dropper.join().unwrap();
        assert!(Arc::ptr_eq(again.semaphore(), &sem));
        drop(again);
        assert_eq!(sem.value(), 1, "dropping the owned permit gave it back");

        sem.try_acquire_owned().unwrap().forget();
        assert_eq!(sem.value(), 0, "a forgotten permit stays taken");
        assert_eq!(Arc::strong_count(&sem), 1, "forget still drops the handle it held");
        sem.release().unwrap();
        drop(sem.acquire_owned_deadline(Instant::now() + GENEROUS).unwrap());
        assert_eq!(sem.value(), 1);
    });
}

// ----- Pipe -----

fn listener(tag: &str) -> PipeListener {
    let id = ObjectId::new(format!("pp-test-wait-{tag}-{}", std::process::id())).unwrap();
    PipeListener::create_with_id(id).unwrap()
}

#[test]
fn pipe_accept_has_the_four_forms() {
    watchdog(LIMIT, || {
        let listener = listener("accept");
        assert!(listener.try_accept().unwrap().is_none(), "nobody is connecting");
        let started = Instant::now();
        assert_gave_up(listener.accept_timeout(D), listener.id());
        assert!(started.elapsed() >= D);
        let started = Instant::now();
        assert_gave_up(listener.accept_deadline(started + D), listener.id());
        assert!(started.elapsed() >= D);

        let _client = Pipe::connect(listener.id()).unwrap();
        assert!(listener.try_accept().unwrap().is_some(), "a peer had connected");

        for form in ["blocking", "timeout", "deadline", "Duration::MAX"] {
            let id = listener.id().clone();
            let started = Instant::now();
            let client = std::thread::spawn(move || {
                std::thread::sleep(D);
                Pipe::connect(&id).unwrap()
            });
            match form {
                "blocking" => listener.accept().map_err(|e| e.to_string()),
                "timeout" => listener.accept_timeout(GENEROUS).map_err(|e| e.to_string()),
                "deadline" => {
                    listener.accept_deadline(Instant::now() + GENEROUS).map_err(|e| e.to_string())
                }
                _ => listener.accept_timeout(Duration::MAX).map_err(|e| e.to_string()),
            }
            .unwrap_or_else(|e| panic!("{form}: {e}"));
            assert!(started.elapsed() >= D, "{form}");
            client.join().unwrap();
        }
    });
}

#[test]
fn pipe_recv_and_recv_item_have_the_four_forms() {
    watchdog(LIMIT, || {
        let listener = listener("recv");
        let mut client = Pipe::connect(listener.id()).unwrap();
        let mut server = listener.accept().unwrap();
        let id = server.id().clone();

        assert!(server.try_recv().unwrap().is_none(), "nothing was sent");
        assert!(server.try_recv_item::<u32>().unwrap().is_none());
        let started = Instant::now();
        assert_gave_up(server.recv_timeout(D), &id);
        assert!(started.elapsed() >= D);
        let started = Instant::now();
        assert_gave_up(server.recv_item_deadline::<u32>(started + D), &id);
        assert!(started.elapsed() >= D);

        client.send(b"now").unwrap();
        assert_eq!(server.try_recv().unwrap().unwrap(), b"now");
        client.send_item(&7u32).unwrap();
        assert_eq!(server.try_recv_item::<u32>().unwrap(), Some(7));

        let forms = [
            "recv",
            "recv_timeout",
            "recv_deadline",
            "recv MAX",
            "recv_item",
            "recv_item_timeout",
            "recv_item_deadline",
        ];
        for (n, form) in forms.into_iter().enumerate() {
            let n = n as u32;
            let started = Instant::now();
            let sender = std::thread::spawn(move || {
                std::thread::sleep(D);
                client.send_item(&n).unwrap();
                client
            });
            let far = Instant::now() + GENEROUS;
            let got: u32 = match form {
                "recv" => postcard::from_bytes(&server.recv().unwrap()).unwrap(),
                "recv_timeout" => {
                    postcard::from_bytes(&server.recv_timeout(GENEROUS).unwrap()).unwrap()
                }
                "recv_deadline" => {
                    postcard::from_bytes(&server.recv_deadline(far).unwrap()).unwrap()
                }
                "recv MAX" => {
                    postcard::from_bytes(&server.recv_timeout(Duration::MAX).unwrap()).unwrap()
                }
                "recv_item" => server.recv_item().unwrap(),
                "recv_item_timeout" => server.recv_item_timeout(Duration::MAX).unwrap(),
                _ => server.recv_item_deadline(far).unwrap(),
            };
            assert_eq!(got, n, "{form}");
            assert!(started.elapsed() >= D, "{form}");
            client = sender.join().unwrap();
        }
    });
}

/// A timeout the clock can still add (unlike `Duration::MAX`) but far beyond
/// any kernel's timer range: the kernel must saturate it, not refuse it.
#[test]
fn a_huge_timeout_the_clock_can_add_still_waits_until_ready() {
    watchdog(LIMIT, || {
        let huge = Duration::from_secs(u64::MAX / 4);
        assert!(Instant::now().checked_add(huge).is_some(), "the clock takes it");

        let event = Event::create().unwrap();
        let other = Event::open(event.id()).unwrap();
        let setter = after(D, move || other.set());
        assert!(event.wait_timeout(huge).unwrap());
        setter.join().unwrap();

        let sem = Semaphore::create(0).unwrap();
        let other = Semaphore::open(sem.id()).unwrap();
        let releaser = after(D, move || other.release().unwrap());
        sem.acquire_timeout(huge).unwrap().forget();
        releaser.join().unwrap();

        let lock = Lock::create().unwrap();
        let holder = hold_lock(lock.id(), D);
        drop(lock.acquire_timeout(huge).unwrap());
        holder.join().unwrap();

        let q = Queue::<u32>::create(1).unwrap();
        let other = Queue::<u32>::open(q.id()).unwrap();
        let putter = after(D, move || other.put(1).unwrap());
        assert_eq!(q.get_timeout(huge).unwrap(), 1);
        putter.join().unwrap();

        let listener = listener("huge");
        let id = listener.id().clone();
        let client = std::thread::spawn(move || {
            std::thread::sleep(D);
            let mut pipe = Pipe::connect(&id).unwrap();
            pipe.send(b"late").unwrap();
            pipe
        });
        let mut server = listener.accept_timeout(huge).unwrap();
        assert_eq!(server.recv_timeout(huge).unwrap(), b"late");
        client.join().unwrap();
    });
}

//! Awaiting pp-ipc objects: queue gets and puts, event waits, lock and
//! semaphore acquires, woken by other processes; under tokio's
//! current-thread and multi-thread runtimes and `futures::executor::block_on`.
//! Dropped futures leave their object usable and take nothing.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pp_ipc::{Event, Lock, Queue, QueueOptions, Semaphore, SharedValue};

use crate::support::{Helper, watchdog};
use pp_tests::isolated;

const LIMIT: Duration = Duration::from_secs(120);

/// The threads of this process now.
fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("Threads: in /proc/self/status")
}

fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
}

/// Polls `future` once with a waker that does nothing: pending or not.
fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(std::task::Waker::noop()))
}

#[test]
fn a_thousand_pending_gets_on_a_thousand_queues_are_fed_by_another_process() {
    // Alone in a copy of this binary: other tests' threads would change the count.
    if !isolated(
        "asynchronous::a_thousand_pending_gets_on_a_thousand_queues_are_fed_by_another_process",
    ) {
        return;
    }
    watchdog(LIMIT, || {
        let queues: Vec<Queue<u64>> = (0..1000)
            .map(|_| Queue::create_with(QueueOptions::default().capacity_bytes(64)).unwrap())
            .collect();
        let runtime = current_thread_runtime();
        // Starts the waiter thread, which every later wait shares.
        assert!(poll_once(pin!(queues[0].get_async())).is_pending());
        let threads_before = threads();
        let ids: Vec<String> = queues.iter().map(|q| q.id().to_string()).collect();
        let (items, threads_during, helper) = runtime.block_on(async {
            let gets = futures::future::join_all(queues.iter().map(|q| q.get_async()));
            let feed = async {
                // `join!` polls the gets first: all 1,000 are pending now.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let during = threads();
                let mut args = vec!["put-each", "100"];
                args.extend(ids.iter().map(String::as_str));
                (during, Helper::start(&args))
            };
            let (items, (during, helper)) = tokio::join!(gets, feed);
            (items, during, helper)
        });
        let mut helper = helper;
        assert_eq!(helper.line(), "done");
        println!("threads: {threads_before} before the waits, {threads_during} with 1,000 pending");
        assert_eq!(threads_during, threads_before, "the pending waits started threads");
        let items: Vec<u64> = items.into_iter().map(Result::unwrap).collect();
        assert_eq!(items, (0..1000).collect::<Vec<u64>>(), "each queue's own item, once");
        assert!(queues.iter().all(|q| q.is_empty()), "nothing arrived twice");
    });
}

#[test]
fn every_wait_is_woken_when_more_wait_than_one_kernel_call_watches() {
    watchdog(LIMIT, || {
        // futex_waitv watches 128 words: these 300 waits overflow it, and
        // each item alone (no other wake-up to piggyback on) must arrive.
        let queues: Vec<Queue<u64>> = (0..300)
            .map(|_| Queue::create_with(QueueOptions::default().capacity_bytes(64)).unwrap())
            .collect();
        current_thread_runtime().block_on(async {
            let mut gets: Vec<_> = queues.iter().map(|q| Box::pin(q.get_async())).collect();
            for get in &mut gets {
                // Polled with this task's waker, once.
                let polled = std::future::poll_fn(|cx| Poll::Ready(get.as_mut().poll(cx))).await;
                assert!(polled.is_pending());
            }
            for (i, (queue, get)) in queues.iter().zip(gets).enumerate() {
                queue.put(i as u64).unwrap();
                let item = tokio::time::timeout(Duration::from_secs(10), get).await;
                assert_eq!(item.expect("woken").unwrap(), i as u64);
            }
        });
    });
}

#[test]
fn gets_on_a_multi_thread_runtime_each_receive_one_item() {
    watchdog(LIMIT, || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .unwrap();
        let queue = Arc::new(Queue::<u64>::create(0).unwrap());
        let received = runtime.block_on(async {
            let tasks: Vec<_> = (0..50)
                .map(|_| {
                    let queue = queue.clone();
                    tokio::spawn(async move { queue.get_async().await.unwrap() })
                })
                .collect();
            tokio::time::sleep(Duration::from_millis(20)).await;
            let id = queue.id().to_string();
            let feeder = tokio::task::spawn_blocking(move || {
                let queue = Queue::<u64>::open(&id.parse().unwrap()).unwrap();
                (0..50u64).for_each(|i| queue.put(i).unwrap());
            });
            feeder.await.unwrap();
            let mut received = Vec::new();
            for task in tasks {
                received.push(task.await.unwrap());
            }
            received
        });
        let mut received = received;
        received.sort_unstable();
        assert_eq!(received, (0..50).collect::<Vec<u64>>());
    });
}

#[test]
fn a_get_dropped_after_its_item_arrived_takes_nothing() {
    watchdog(LIMIT, || {
        let queue = Queue::<String>::create(4).unwrap();
        let mut get = Box::pin(queue.get_async());
        assert!(poll_once(get.as_mut()).is_pending());
        // Another process puts while the future waits; it is never polled again.
        let mut helper = Helper::start(&["queue-put", queue.id().as_str(), "kept"]);
        assert_eq!(helper.line(), "put");
        drop(get);
        assert_eq!(queue.try_get().unwrap(), "kept", "the dropped get took the item");
        // The queue still works, blocking and awaited.
        queue.put("again".to_owned()).unwrap();
        assert_eq!(futures::executor::block_on(queue.get_async()).unwrap(), "again");
    });
}

#[test]
fn a_wake_up_spent_on_a_dropped_get_is_passed_to_a_blocked_consumer() {
    watchdog(LIMIT, || {
        let queue = Arc::new(Queue::<u64>::create(4).unwrap());
        let mut get = Box::pin(queue.get_async());
        assert!(poll_once(get.as_mut()).is_pending());
        let blocked = {
            let queue = queue.clone();
            std::thread::spawn(move || queue.get_timeout(LIMIT).unwrap())
        };
        std::thread::sleep(Duration::from_millis(50));
        let id = queue.id().to_string();
        Queue::<u64>::open(&id.parse().unwrap()).unwrap().put(7).unwrap();
        drop(get);
        assert_eq!(blocked.join().unwrap(), 7);
    });
}

#[test]
fn a_release_spent_on_a_dropped_acquire_reaches_a_process_blocked_without_deadline() {
    watchdog(LIMIT, || {
        let semaphore = Semaphore::create(0).unwrap();
        // The async acquire sleeps first, so the kernel wakes it first.
        // (The waiter thread queues again on each re-check, every 100 ms:
        // the helper starts and sleeps well within one.)
        let mut blocked = Helper::start(&["acquire-sem-forever", semaphore.id().as_str()]);
        let mut acquire = Box::pin(semaphore.acquire_async());
        assert!(poll_once(acquire.as_mut()).is_pending());
        assert_eq!(blocked.line(), "waiting");
        std::thread::sleep(Duration::from_millis(20));
        // One release, one wake-up: ours, and we drop the future unpolled.
        semaphore.release().unwrap();
        drop(acquire);
        assert_eq!(blocked.line(), "acquired", "the blocked process never got the permit");
        assert!(blocked.success());
    });
}

#[test]
fn select_over_a_get_and_a_timer_takes_the_timer_and_loses_nothing() {
    watchdog(LIMIT, || {
        let queue = Queue::<u64>::create(4).unwrap();
        let runtime = current_thread_runtime();
        runtime.block_on(async {
            let started = Instant::now();
            tokio::select! {
                item = queue.get_async() => panic!("an empty queue gave {item:?}"),
                () = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
            assert!(started.elapsed() >= Duration::from_millis(50));
            let timed = tokio::time::timeout(Duration::from_millis(20), queue.get_async()).await;
            assert!(timed.is_err(), "timed out");
            queue.put(5).unwrap();
            let item = tokio::time::timeout(LIMIT, queue.get_async()).await;
            assert_eq!(item.unwrap().unwrap(), 5);
        });
        assert!(queue.is_empty());
    });
}

#[test]
fn a_put_awaits_room_that_another_process_makes() {
    watchdog(LIMIT, || {
        let queue = Queue::<String>::create(1).unwrap();
        queue.put("first".to_owned()).unwrap();
        futures::executor::block_on(async {
            let mut put = pin!(queue.put_async("second".to_owned()));
            assert!(poll_once(put.as_mut()).is_pending(), "the queue is full");
            let mut helper = Helper::start(&["queue-get", queue.id().as_str()]);
            assert_eq!(helper.line(), "first");
            put.await.unwrap();
        });
        assert_eq!(queue.try_get().unwrap(), "second");
        // Dropped before room came: nothing was put, and the queue works.
        queue.put("third".to_owned()).unwrap();
        let mut put = Box::pin(queue.put_async("never".to_owned()));
        assert!(poll_once(put.as_mut()).is_pending());
        drop(put);
        assert_eq!(queue.try_get().unwrap(), "third");
        assert!(queue.is_empty());
    });
}

#[test]
fn an_event_wait_is_woken_by_another_process() {
    watchdog(LIMIT, || {
        let event = Event::create().unwrap();
        futures::executor::block_on(async {
            let mut wait = pin!(event.wait_async());
            assert!(poll_once(wait.as_mut()).is_pending());
            assert!(Helper::start(&["set-event", event.id().as_str()]).success());
            wait.await.unwrap();
        });
        // Set: a new wait is ready at once; a dropped one changed nothing.
        assert!(poll_once(pin!(event.wait_async())).is_ready());
        event.clear();
        drop(Box::pin(event.wait_async()));
        assert!(!event.is_set());
    });
}

#[test]
fn a_lock_acquire_is_woken_by_a_release_in_another_process() {
    watchdog(LIMIT, || {
        let lock = Lock::create().unwrap();
        let mut helper = Helper::start(&["hold-lock-for", lock.id().as_str(), "200"]);
        assert_eq!(helper.line(), "held");
        let started = Instant::now();
        let guard = futures::executor::block_on(lock.acquire_async()).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(100), "waited for the holder");
        assert!(!guard.previous_owner_died());
        drop(guard);
        assert_eq!(helper.line(), "released");
        assert!(helper.success());
    });
}

#[test]
fn a_lock_acquire_is_woken_when_the_holder_dies() {
    watchdog(LIMIT, || {
        let lock = Lock::create().unwrap();
        let mut helper = Helper::start(&["hold-lock", lock.id().as_str()]);
        assert_eq!(helper.line(), "held");
        futures::executor::block_on(async {
            let mut acquire = pin!(lock.acquire_async());
            assert!(poll_once(acquire.as_mut()).is_pending());
            helper.kill();
            let guard = acquire.await.unwrap();
            assert!(guard.previous_owner_died(), "the holder died holding it");
        });
    });
}

#[test]
fn async_and_blocking_lockers_in_three_processes_count_exactly() {
    watchdog(LIMIT, || {
        let lock = Lock::create().unwrap();
        let value = SharedValue::<i64>::create(0).unwrap();
        let n: i64 = std::env::var("PP_N").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
        let helpers: Vec<Helper> = (0..2)
            .map(|_| {
                Helper::start(&[
                    "count-under-lock",
                    lock.id().as_str(),
                    value.id().as_str(),
                    &n.to_string(),
                ])
            })
            .collect();
        futures::executor::block_on(async {
            for _ in 0..n {
                let guard = lock.acquire_async().await.unwrap();
                let v = value.get();
                std::hint::spin_loop();
                value.set(v + 1);
                drop(guard);
            }
        });
        for mut helper in helpers {
            assert_eq!(helper.line(), "done", "a blocked locker was never woken");
        }
        assert_eq!(value.get(), 3 * n);
    });
}

#[test]
fn a_dropped_lock_acquire_leaves_the_lock_usable() {
    watchdog(LIMIT, || {
        let lock = Lock::create().unwrap();
        let held = lock.acquire().unwrap();
        // The same thread holds it: the async acquire waits (a task of this
        // thread may release it), and dropping it changes nothing.
        let mut acquire = Box::pin(lock.acquire_async());
        assert!(poll_once(acquire.as_mut()).is_pending());
        drop(acquire);
        drop(held);
        assert!(lock.try_acquire().is_ok());
    });
}

#[test]
fn a_semaphore_acquire_is_woken_by_a_release_in_another_process() {
    watchdog(LIMIT, || {
        let semaphore = Semaphore::create(0).unwrap();
        let runtime = current_thread_runtime();
        runtime.block_on(async {
            let mut acquire = pin!(semaphore.acquire_async());
            assert!(poll_once(acquire.as_mut()).is_pending());
            let mut helper = Helper::start(&["release-sem", semaphore.id().as_str()]);
            assert_eq!(helper.line(), "released");
            let permit = tokio::time::timeout(LIMIT, acquire).await.unwrap().unwrap();
            assert_eq!(semaphore.value(), 0);
            drop(permit);
        });
        assert_eq!(semaphore.value(), 1);
        // A dropped acquire takes no permit.
        let taken = semaphore.try_acquire().unwrap();
        let mut acquire = Box::pin(semaphore.acquire_async());
        assert!(poll_once(acquire.as_mut()).is_pending());
        drop(acquire);
        drop(taken);
        assert_eq!(semaphore.value(), 1);
    });
}

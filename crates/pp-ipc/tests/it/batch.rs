//! Batched puts and gets (`put_many` / `get_many`): order, partial rounds
//! and wrap-around, the four waiting forms, wrong types, and items from and
//! to other processes that put and get one at a time.

use std::time::{Duration, Instant};

use pp_ipc::{AnyQueue, Error, Queue, QueueOptions};

use crate::support::{Helper, watchdog};

/// What the helper's producers and consumers move (see `helper.rs`).
type Item = Option<(u32, u64)>;

#[test]
fn batches_keep_order_through_many_rounds_and_wraps() {
    watchdog(Duration::from_secs(60), || {
        // Room for a few records only: every put_many takes many rounds.
        let queue = Queue::<u64>::create_with(QueueOptions::default().capacity_bytes(100)).unwrap();
        let items: Vec<u64> = (0..5_000).map(|i| i * 1_000_003).collect();
        let got = std::thread::scope(|scope| {
            scope.spawn(|| queue.put_many(&items).unwrap());
            let mut got = Vec::new();
            while got.len() < items.len() {
                got.extend(queue.get_many(7).unwrap());
            }
            got
        });
        assert_eq!(got, items);
        assert!(queue.is_empty());
    });
}

#[test]
fn try_forms_take_what_fits_and_what_is_there() {
    let queue = Queue::<String>::create(3).unwrap();
    let words = ["a", "b", "c", "d", "e"].map(String::from);
    assert_eq!(queue.try_put_many(&words).unwrap(), 3, "maxsize 3");
    assert_eq!(queue.try_put_many(&words).unwrap(), 0, "full");
    assert_eq!(queue.try_get_many(2).unwrap(), ["a", "b"]);
    assert_eq!(queue.try_get_many(10).unwrap(), ["c"]);
    assert!(queue.try_get_many(10).unwrap().is_empty());
    assert!(queue.try_get_many(0).unwrap().is_empty());
    assert_eq!(queue.try_put_many::<String>(&[]).unwrap(), 0);
}

#[test]
fn timeout_forms_wait_then_return_what_they_moved() {
    let queue = Queue::<u32>::create(2).unwrap();
    let started = Instant::now();
    assert!(queue.get_many_timeout(5, Duration::from_millis(100)).unwrap().is_empty());
    assert!(started.elapsed() >= Duration::from_millis(100));
    let started = Instant::now();
    assert_eq!(queue.put_many_timeout(&[1, 2, 3], Duration::from_millis(100)).unwrap(), 2);
    assert!(started.elapsed() >= Duration::from_millis(100), "waited for room for the third");
    let deadline = Instant::now() + Duration::from_millis(50);
    assert_eq!(queue.get_many_deadline(5, deadline).unwrap(), [1, 2]);
    assert_eq!(queue.put_many_deadline(&[4], deadline).unwrap(), 1);
    assert_eq!(queue.get_many_timeout(5, Duration::MAX).unwrap(), [4]);
}

#[test]
fn an_item_too_large_puts_nothing_of_the_batch() {
    let queue = Queue::<Vec<u8>>::create_with(QueueOptions::default().capacity_bytes(64)).unwrap();
    let batch = [vec![1u8; 4], vec![2u8; 100]];
    match queue.try_put_many(&batch) {
        Err(Error::ItemTooLarge { size, .. }) => assert_eq!(size, 101),
        other => panic!("{other:?}"),
    }
    assert!(queue.is_empty());
}

#[test]
fn a_batch_get_stops_before_an_item_of_another_type() {
    let any = AnyQueue::create(8).unwrap();
    any.put(1u32).unwrap();
    any.put(2u32).unwrap();
    any.put("three".to_owned()).unwrap();
    let queue = Queue::<u32>::open(any.id()).unwrap();
    assert_eq!(queue.get_many(10).unwrap(), [1, 2], "up to the item of another type");
    assert!(matches!(queue.get_many(10), Err(Error::WrongItemType { .. })));
    assert_eq!(any.get::<String>().unwrap(), "three", "it stayed");
}

#[test]
fn batches_meet_single_puts_and_gets_of_other_processes() {
    watchdog(Duration::from_secs(60), || {
        let queue =
            Queue::<Item>::create_with(QueueOptions::default().capacity_bytes(4096)).unwrap();
        let id = queue.id().to_string();
        // Another process puts one at a time; this one takes in batches.
        let mut producer = Helper::start(&["produce", &id, "7", "20000"]);
        let mut next = 0u64;
        while next < 20_000 {
            for item in queue.get_many(64).unwrap() {
                assert_eq!(item, Some((7, next)), "in order, exactly once");
                next += 1;
            }
        }
        assert_eq!(producer.line(), "producing");
        // This one puts in batches; another process takes one at a time.
        let mut consumer = Helper::start(&["consume", &id]);
        let batch: Vec<Item> = (0..20_000u64).map(|i| Some((3, i))).collect();
        queue.put_many(&batch).unwrap();
        queue.put(None).unwrap();
        let sum: u64 = (0..20_000u64).sum();
        assert_eq!(consumer.line(), format!("p 3 20000 {sum} 1"));
    });
}

//! The queue across processes: exactly-once delivery at volume, killed producers.

use std::collections::BTreeMap;
use std::time::Duration;

use pp_ipc::{Error, Queue, QueueOptions};

use crate::support::{Helper, watchdog};

type Item = Option<(u32, u64)>;

/// Per producer: (count, sum of sequence numbers, in order) from every consumer.
fn collect(consumers: Vec<Helper>) -> BTreeMap<u32, Vec<(u64, u64, bool)>> {
    let mut seen: BTreeMap<u32, Vec<(u64, u64, bool)>> = BTreeMap::new();
    for mut consumer in consumers {
        loop {
            let line = consumer.line();
            if line == "done" {
                break;
            }
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.len(), 5, "consumer said {line:?}");
            let producer = fields[1].parse().unwrap();
            seen.entry(producer).or_default().push((
                fields[2].parse().unwrap(),
                fields[3].parse().unwrap(),
                fields[4] == "1",
            ));
        }
        assert!(consumer.success());
    }
    seen
}

fn triangle(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

#[test]
fn four_producers_and_four_consumers_move_a_million_items_exactly_once() {
    watchdog(Duration::from_secs(600), || {
        const PER_PRODUCER: u64 = 250_000;
        let queue = Queue::<Item>::create(64).unwrap();
        let id = queue.id().as_str().to_owned();
        let consumers: Vec<_> = (0..4).map(|_| Helper::start(&["consume", &id])).collect();
        let producers: Vec<_> = (0..4)
            .map(|p| Helper::start(&["produce", &id, &p.to_string(), &PER_PRODUCER.to_string()]))
            .collect();
        for mut producer in producers {
            assert_eq!(producer.line(), "producing");
            assert_eq!(producer.line(), "done");
            assert!(producer.success());
        }
        for _ in 0..4 {
            queue.put_timeout(None, Duration::from_secs(60)).unwrap();
        }
        let seen = collect(consumers);
        assert_eq!(seen.len(), 4, "items from every producer");
        for (producer, parts) in seen {
            let count: u64 = parts.iter().map(|p| p.0).sum();
            let sum: u64 = parts.iter().map(|p| p.1).sum();
            assert_eq!(count, PER_PRODUCER, "producer {producer}: items lost or duplicated");
            assert_eq!(sum, triangle(PER_PRODUCER), "producer {producer}: checksum");
            assert!(parts.iter().all(|p| p.2), "producer {producer}: FIFO order broken");
        }
        assert!(queue.is_empty());
    });
}

#[test]
fn a_producer_killed_mid_stream_loses_nothing_of_the_others_and_tears_nothing() {
    watchdog(Duration::from_secs(600), || {
        for round in 0..5 {
            const PER_PRODUCER: u64 = 20_000;
            let queue = Queue::<Item>::create(64).unwrap();
            let id = queue.id().as_str().to_owned();
            let consumers: Vec<_> = (0..2).map(|_| Helper::start(&["consume", &id])).collect();
            let mut doomed = Helper::start(&["produce", &id, "9", "forever"]);
            let producers: Vec<_> = (0..2)
                .map(|p| {
                    Helper::start(&["produce", &id, &p.to_string(), &PER_PRODUCER.to_string()])
                })
                .collect();
            assert_eq!(doomed.line(), "producing");
            std::thread::sleep(Duration::from_millis(50 + 30 * round));
            doomed.kill();
            for mut producer in producers {
                assert_eq!(producer.line(), "producing");
                assert_eq!(producer.line(), "done");
            }
            for _ in 0..2 {
                queue.put_timeout(None, Duration::from_secs(60)).unwrap();
            }
            let seen = collect(consumers);
            for producer in [0, 1] {
                let parts = &seen[&producer];
                assert_eq!(parts.iter().map(|p| p.0).sum::<u64>(), PER_PRODUCER, "round {round}");
                assert_eq!(
                    parts.iter().map(|p| p.1).sum::<u64>(),
                    triangle(PER_PRODUCER),
                    "round {round}"
                );
            }
            // The killed producer's items: a gap-free prefix, each at most once.
            let doomed_parts = seen.get(&9).cloned().unwrap_or_default();
            let k: u64 = doomed_parts.iter().map(|p| p.0).sum();
            assert_eq!(doomed_parts.iter().map(|p| p.1).sum::<u64>(), triangle(k), "round {round}");
            assert!(doomed_parts.iter().all(|p| p.2));
            // The queue still works for everyone.
            queue.put_timeout(Some((1, 1)), Duration::from_secs(5)).unwrap();
            assert_eq!(queue.get_timeout(Duration::from_secs(5)).unwrap(), Some((1, 1)));
        }
    });
}

#[test]
fn another_process_puts_and_gets_by_id() {
    watchdog(Duration::from_secs(60), || {
        let queue = Queue::<String>::create(10).unwrap();
        assert_eq!(
            Helper::start(&["queue-put", queue.id().as_str(), "from the child"]).line(),
            "put"
        );
        assert_eq!(queue.get_timeout(Duration::from_secs(10)).unwrap(), "from the child");
        queue.put_timeout("from the parent".to_owned(), Duration::from_secs(1)).unwrap();
        assert_eq!(Helper::start(&["queue-get", queue.id().as_str()]).line(), "from the parent");
    });
}

#[test]
fn maxsize_len_full_empty_and_clear() {
    let queue = Queue::<u32>::create(3).unwrap();
    assert!(queue.is_empty() && !queue.is_full());
    for i in 0..3 {
        queue.try_put(i).unwrap();
    }
    assert_eq!(queue.len(), 3);
    assert!(queue.is_full());
    let refused = queue.try_put(99).unwrap_err();
    assert_eq!(refused.item, 99, "try_put hands the item back");
    assert!(matches!(refused.error, Error::Full { .. }));
    let started = std::time::Instant::now();
    let err = queue.put_timeout(99, Duration::from_millis(100)).unwrap_err();
    assert_eq!(err.item, 99, "put_timeout hands the item back");
    let err = err.error;
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(queue.try_get().unwrap(), 0, "first in, first out");
    assert_eq!(queue.clear().unwrap(), 2);
    assert!(queue.is_empty());
    assert!(matches!(queue.try_get(), Err(Error::Empty { .. })));
    let err = queue.get_timeout(Duration::from_millis(50)).unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
}

#[test]
fn an_item_larger_than_the_queue_is_refused_naming_both_sizes() {
    let queue =
        Queue::<Vec<u8>>::create_with(QueueOptions::default().capacity_bytes(1024)).unwrap();
    let err = queue.put_timeout(vec![0u8; 2000], Duration::from_secs(1)).unwrap_err().error;
    assert!(matches!(err, Error::ItemTooLarge { size: 2002, capacity: 1020, .. }), "{err}");
    assert!(err.to_string().contains("2002") && err.to_string().contains("1020"), "{err}");
    assert!(queue.is_empty(), "nothing was half-put");
    let err = Queue::<u8>::create_with(QueueOptions::default().capacity_bytes(2)).unwrap_err();
    assert!(matches!(err, Error::InvalidOptions { .. }), "{err}");
}

#[test]
fn a_queue_opened_as_an_event_is_the_wrong_kind() {
    let queue = Queue::<u8>::create(1).unwrap();
    let err = pp_ipc::Event::open(queue.id()).unwrap_err();
    assert!(matches!(err, Error::WrongKind { expected: "event", found: "queue", .. }), "{err}");
}

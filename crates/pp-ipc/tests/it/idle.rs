//! Waiters that wait for a long time use (almost) no CPU: the spin before a
//! sleep is bounded, and the async waiter thread re-checks only every 100 ms.

use std::pin::pin;
use std::task::{Context, Waker};
use std::time::Duration;

use pp_ipc::{Event, Queue};

use crate::support::watchdog;

/// How long the waiters idle.
const IDLE: Duration = Duration::from_secs(5);

/// CPU time (user + system) of thread `tid` of this process, in clock ticks.
fn cpu_ticks(tid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    // Fields after the command (which may hold spaces) start at the state.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the state's index 0.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// The thread ids named `name`.
fn threads_named(name: &str) -> Vec<i32> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .filter_map(|t| t.file_name().to_str()?.parse().ok())
        .collect()
}

#[test]
fn idle_waiters_use_less_than_one_percent_of_a_cpu() {
    // Alone: async tests beside it would keep the shared waiter thread busy.
    if !pp_tests::isolated("idle::idle_waiters_use_less_than_one_percent_of_a_cpu") {
        return;
    }
    watchdog(Duration::from_secs(120), || {
        // /proc counts in USER_HZ, 100 per second on Linux whatever the kernel's HZ.
        let ticks_per_second = 100;
        let queue = Queue::<u64>::create(4).unwrap();
        let event = Event::create().unwrap();
        let (tids_tx, tids_rx) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            for waits_for_event in [false, true] {
                let (queue, event, tids_tx) = (&queue, &event, tids_tx.clone());
                scope.spawn(move || {
                    tids_tx.send(rustix::thread::gettid().as_raw_nonzero().get()).unwrap();
                    if waits_for_event {
                        assert!(!event.wait_timeout(IDLE).unwrap(), "nobody sets it");
                    } else {
                        assert!(queue.get_timeout(IDLE).is_err(), "nobody puts");
                    }
                });
            }
            // And an async get, watched by the waiter thread.
            let mut get = pin!(queue.get_async());
            let noop = Context::from_waker(Waker::noop());
            assert!(get.as_mut().poll(&mut { noop }).is_pending());
            let mut tids: Vec<i32> = tids_rx.iter().take(2).collect();
            // Started by the first poll; it names itself once it runs.
            let mut waiter = Vec::new();
            pp_tests::eventually(Duration::from_secs(30), || {
                waiter = threads_named("pp-ipc-waiter");
                !waiter.is_empty()
            });
            tids.extend(waiter);
            assert_eq!(tids.len(), 3, "two blocking waiters and the waiter thread");
            let before: u64 = tids.iter().map(|&t| cpu_ticks(t)).sum();
            std::thread::sleep(IDLE - Duration::from_millis(500));
            let after: u64 = tids.iter().map(|&t| cpu_ticks(t)).sum();
            let used = Duration::from_secs_f64((after - before) as f64 / ticks_per_second as f64);
            println!("three idle waiters used {used:?} of CPU in {:?}", IDLE);
            assert!(used < IDLE / 100, "idle waiters used {used:?} in {IDLE:?}");
        });
    });
}

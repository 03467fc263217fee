//! Test helper: an unrelated process that uses a queue, a value, an event and
//! a lock whose ids it gets on its command line, through the free functions.
//!
//! `pp-manager-helper <queue> <value> <event> <lock> <n>`: puts `n` items on
//! the queue, increments the value `n` times under the lock (a deliberately
//! non-atomic read-then-write), sets the event, prints `done`.
//!
//! `pp-manager-helper leave-at-exit`: creates a queue, a value, an event and a
//! lock, starts `sleep 60`, keeps busy threads (one blocked on the queue, one
//! thread-pool task), prints the ids and the sleep's pid on one line, and
//! returns from `main` without `shutdown()`: the exit hook must clean up.

use std::time::Duration;

use pp_manager::prelude::*;

fn main() -> Result<(), ManagerError> {
    init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("leave-at-exit") {
        return leave_at_exit();
    }
    let [queue, value, event, lock, n] = args.as_slice() else {
        eprintln!("usage: pp-manager-helper <queue> <value> <event> <lock> <n>");
        std::process::exit(2);
    };
    let (queue, value, event, lock): (QueueId, ValueId, EventId, LockId) =
        (queue.parse()?, value.parse()?, event.parse()?, lock.parse()?);
    let n: u32 = n.parse().expect("a count");
    let timeout = Some(Duration::from_secs(30));
    for i in 0..n {
        put_queue_item(&queue, &format!("item {i} from {}", std::process::id()), true, timeout)?;
        let _held = lock_context(&lock, timeout)?;
        let current = get_shared_value(&value)?.as_i64().expect("an integer value");
        set_shared_value(&value, current + 1)?;
    }
    set_event(&event)?;
    println!("done");
    Ok(())
}

fn leave_at_exit() -> Result<(), ManagerError> {
    let queue = create_queue(4)?;
    let value = create_shared_value("l", 7)?;
    let event = create_event()?;
    let lock = create_lock()?;
    let sleeper = run_process_async(&Command::new("sleep").arg("60"))?;
    let pid = get_process_status(sleeper.as_str()).and_then(|p| p.pid).expect("a pid");
    // A thread still using the queue at exit holds a handle to it.
    let waiting = queue.clone();
    std::thread::spawn(move || get_queue_item::<u32>(&waiting, true, None));
    // A thread-pool task still running at exit must not hold the exit up.
    let pool = create_thread_pool(1)?;
    submit_task(|s: u64| std::thread::sleep(Duration::from_secs(s)), 3600, Some(&pool))?;
    println!("{queue} {value} {event} {lock} {pid}");
    Ok(())
}

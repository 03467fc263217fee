//! Test helper: an unrelated process that uses a queue, a value, an event and
//! a lock whose ids it gets on its command line, through the free functions.
//!
//! `pp-manager-helper <queue> <value> <event> <lock> <n>`: puts `n` items on
//! the queue, increments the value `n` times under the lock (a deliberately
//! non-atomic read-then-write), sets the event, prints `done`.

use std::time::Duration;

use pp_manager::prelude::*;

fn main() -> Result<(), ManagerError> {
    init();
    let args: Vec<String> = std::env::args().skip(1).collect();
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

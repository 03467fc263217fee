//! The helper role: this test binary, started again by a test, uses pp-ipc
//! objects by id from a separate process.
//!
//! [`crate::support::Helper`] starts it (the binary itself, running only the
//! hidden test [`role`] with the role in `PP_IPC_TEST_HELPER`), so no helper
//! binary ships in pp-ipc's `src/bin`. It prints one line per step so the
//! test can follow along. Roles:
//! - `hold-lock <lock>`: acquires, prints `held`, sleeps until killed.
//! - `acquire-sem-forever <sem>`: prints `waiting`, then `acquired` once a permit came.
//! - `hold-lock-for <lock> <ms>`: acquires, prints `held`, releases after ms, prints `released`.
//! - `put-each <delay-ms> <queue>...`: after the delay, puts i into the i-th queue (u64), in
//!   bursts of 100 with a millisecond between; prints `done`.
//! - `count-under-lock <lock> <value> <n>`: n times read-modify-write under the lock.
//! - `add <value> <n>`: n atomic increments.
//! - `wait-event <event> <timeout-ms>`: prints `set` or `timeout`.
//! - `set-event <event>`.
//! - `acquire-sem <sem> <timeout-ms>`: prints `acquired` or the error.
//! - `produce <queue> <producer> <count|forever>`: puts (producer, 0..count).
//! - `consume <queue>`: gets until a `None`; prints `p <producer> <count> <sum> <in-order>`.
//! - `queue-put <queue> <text>` / `queue-get <queue>`: one string item.
//! - `pipe-echo <pipe>`: connects, sends back every message reversed until `bye`.
//! - `pipe-dir`: prints the pipe directory (or the error refusing it).
//! - `leak-event <event>`: creates it and exits without removing it.
//! - `open-as <kind> <id>`: prints `ok` or the error.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use pp_ipc::{Event, Lock, ObjectId, Pipe, Queue, Semaphore, SharedValue};

/// How long a role waits for an object before giving up (a hang guard).
const LIMIT: Duration = Duration::from_secs(60);

/// What producers put: (producer id, sequence number); `None` tells a consumer to stop.
type Item = Option<(u32, u64)>;

/// The role's name and arguments, separated by [`SEPARATOR`]; unset in
/// every process that is not a helper.
pub(crate) const ROLE_VAR: &str = "PP_IPC_TEST_HELPER";
/// Between the arguments in [`ROLE_VAR`] (no argument contains it).
pub(crate) const SEPARATOR: char = '\u{1f}';
/// The first line of the helper's own output: the test harness prints its
/// header before it, and the test reads from here on.
pub(crate) const READY: &str = "pp-ipc-helper: ready";

/// The helper process's body. Ignored, so an ordinary test run skips it;
/// `Helper` runs it alone (`--exact --ignored`) with [`ROLE_VAR`] set, and
/// in any run without that variable it does nothing.
#[test]
#[ignore = "the helper role of this binary, run by the tests in a child process"]
fn role() {
    let Ok(role) = std::env::var(ROLE_VAR) else { return };
    let args: Vec<String> = role.split(SEPARATOR).map(str::to_owned).collect();
    println!("{READY}");
    let code = match run(&args) {
        Ok(()) => 0,
        Err(e) => {
            println!("error: {e}");
            1
        }
    };
    let _ = std::io::stdout().flush();
    // Ends the process here: the harness's summary is not the role's output.
    std::process::exit(code);
}

fn id(arg: Option<&String>) -> Result<ObjectId, pp_ipc::Error> {
    arg.map(String::as_str).unwrap_or_default().parse()
}

fn number(arg: Option<&String>) -> u64 {
    arg.and_then(|a| a.parse().ok()).expect("a number argument")
}

fn run(args: &[String]) -> Result<(), pp_ipc::Error> {
    let role = args.first().map(String::as_str).unwrap_or_default();
    match role {
        "hold-lock" => {
            let lock = Lock::open(&id(args.get(1))?)?;
            let _guard = lock.acquire_timeout(LIMIT).map_err(|e| e.into_error(lock.id(), LIMIT))?;
            println!("held");
            std::thread::sleep(Duration::from_secs(600));
        }
        "hold-lock-for" => {
            let lock = Lock::open(&id(args.get(1))?)?;
            let guard = lock.acquire_timeout(LIMIT).map_err(|e| e.into_error(lock.id(), LIMIT))?;
            println!("held");
            std::thread::sleep(Duration::from_millis(number(args.get(2))));
            drop(guard);
            println!("released");
        }
        "put-each" => {
            std::thread::sleep(Duration::from_millis(number(args.get(1))));
            for (i, queue) in args[2..].iter().enumerate() {
                let queue = Queue::<u64>::open(&queue.parse()?)?;
                queue.put_timeout(i as u64, LIMIT).map_err(|e| e.into_error(queue.id(), LIMIT))?;
                if i % 100 == 99 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            println!("done");
        }
        "count-under-lock" => {
            let lock = Lock::open(&id(args.get(1))?)?;
            let value = SharedValue::<i64>::open(&id(args.get(2))?)?;
            for _ in 0..number(args.get(3)) {
                let _guard =
                    lock.acquire_timeout(LIMIT).map_err(|e| e.into_error(lock.id(), LIMIT))?;
                // A deliberately non-atomic read-modify-write: only the lock makes it safe.
                let v = value.get();
                std::hint::spin_loop();
                value.set(v + 1);
            }
            println!("done");
        }
        "add" => {
            let value = SharedValue::<i64>::open(&id(args.get(1))?)?;
            for _ in 0..number(args.get(2)) {
                value.fetch_add(1);
            }
            println!("done");
        }
        "wait-event" => {
            let event = Event::open(&id(args.get(1))?)?;
            println!("waiting");
            let set = event.wait_timeout(Duration::from_millis(number(args.get(2))))?;
            println!("{}", if set { "set" } else { "timeout" });
        }
        "produce" => {
            let queue = Queue::<Item>::open(&id(args.get(1))?)?;
            let producer = number(args.get(2)) as u32;
            let count = match args.get(3).map(String::as_str) {
                Some("forever") => u64::MAX,
                other => number(other.map(str::to_owned).as_ref()),
            };
            println!("producing");
            for seq in 0..count {
                queue
                    .put_timeout(Some((producer, seq)), LIMIT)
                    .map_err(|e| e.into_error(queue.id(), LIMIT))?;
            }
            println!("done");
        }
        "consume" => {
            let queue = Queue::<Item>::open(&id(args.get(1))?)?;
            // producer -> (count, sum of sequence numbers, last seen, in order)
            let mut seen: BTreeMap<u32, (u64, u64, Option<u64>, bool)> = BTreeMap::new();
            while let Some((producer, seq)) =
                queue.get_timeout(LIMIT).map_err(|e| e.into_error(queue.id(), LIMIT))?
            {
                let entry = seen.entry(producer).or_insert((0, 0, None, true));
                entry.0 += 1;
                entry.1 += seq;
                entry.3 &= entry.2.is_none_or(|last| seq > last);
                entry.2 = Some(seq);
            }
            for (producer, (count, sum, _, in_order)) in seen {
                println!("p {producer} {count} {sum} {}", in_order as u8);
            }
            println!("done");
        }
        "queue-put" => {
            let queue = Queue::<String>::open(&id(args.get(1))?)?;
            let item = args.get(2).cloned().unwrap_or_default();
            queue.put_timeout(item, LIMIT).map_err(|e| e.into_error(queue.id(), LIMIT))?;
            println!("put");
        }
        "queue-get" => {
            let queue = Queue::<String>::open(&id(args.get(1))?)?;
            println!("{}", queue.get_timeout(LIMIT).map_err(|e| e.into_error(queue.id(), LIMIT))?);
        }
        "pipe-echo" => {
            let mut pipe = Pipe::connect(&id(args.get(1))?)?;
            println!("connected");
            loop {
                let mut message =
                    pipe.recv_timeout(LIMIT).map_err(|e| e.into_error(pipe.id(), LIMIT))?;
                if message == b"bye" {
                    break;
                }
                message.reverse();
                pipe.send(&message)?;
            }
        }
        "pipe-dir" => println!("{}", pp_ipc::pipe_dir()?.display()),
        "set-event" => Event::open(&id(args.get(1))?)?.set(),
        "leak-event" => {
            // Exits without dropping: the object outlives its creator, as after a crash.
            std::mem::forget(Event::create_with_id(id(args.get(1))?)?);
        }
        "acquire-sem" => {
            let sem = Semaphore::open(&id(args.get(1))?)?;
            let limit = Duration::from_millis(number(args.get(2)));
            sem.acquire_timeout(limit).map_err(|e| e.into_error(sem.id(), limit))?.forget();
            println!("acquired");
        }
        "acquire-sem-forever" => {
            let sem = Semaphore::open(&id(args.get(1))?)?;
            println!("waiting");
            sem.acquire()?.forget();
            println!("acquired");
        }
        "release-sem" => {
            Semaphore::open(&id(args.get(1))?)?.release()?;
            println!("released");
        }
        "open-as" => {
            let target = id(args.get(2))?;
            match args.get(1).map(String::as_str) {
                Some("lock") => Lock::open(&target).map(drop)?,
                Some("event") => Event::open(&target).map(drop)?,
                Some("semaphore") => Semaphore::open(&target).map(drop)?,
                Some("i64") => SharedValue::<i64>::open(&target).map(drop)?,
                Some("f64") => SharedValue::<f64>::open(&target).map(drop)?,
                other => panic!("unknown kind {other:?}"),
            }
            println!("ok");
        }
        other => panic!("unknown role {other:?}"),
    }
    Ok(())
}

//! iceoryx2 as a peer of pp's queue rows in `cargo xtask bench`.
//!
//! - `iceoryx2-peer echo <name>`: answers every `u64` on `<name>/ping` with
//!   the same on `<name>/pong`, busy-polling (iceoryx2's fastest receive),
//!   until it reads `u64::MAX`.
//! - `iceoryx2-peer ping <name> <n> <reps>`: once an echo runs, sends `n`
//!   values and waits for each answer, `reps` times after a warm-up; prints
//!   `round-trip-ns <median> <min> <max>` (nanoseconds per round trip).
//! - `iceoryx2-peer sink <name>` / `iceoryx2-peer send <name> <n> <reps>`:
//!   one-way, `n` values then an end marker the sink acknowledges; prints
//!   `per-item-ns <median> <min> <max>`.
//!
//! Publish-subscribe of a `u64` (8 bytes, like the queue rows' items),
//! lossless as pp's queue is: no safe overflow, and a publisher facing a
//! full subscriber buffer retries until the value is delivered.

use std::time::Instant;

use iceoryx2::prelude::*;

type Failure = Box<dyn std::error::Error>;

const END: u64 = u64::MAX;
const BUFFER: usize = 1024;

fn main() -> Result<(), Failure> {
    set_log_level(LogLevel::Error);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let number = |i: usize| arg(i).parse::<u64>().map_err(|e| format!("argument {i}: {e}"));
    match arg(0).as_str() {
        "echo" => echo(&arg(1)),
        "ping" => ping(&arg(1), number(2)?, number(3)?),
        "sink" => sink(&arg(1)),
        "send" => send(&arg(1), number(2)?, number(3)?),
        other => Err(format!("unknown role {other:?}").into()),
    }
}

/// The publish-subscribe service `name` of `u64`s.
fn service(
    node: &Node<ipc::Service>,
    name: &str,
) -> Result<
    iceoryx2::service::port_factory::publish_subscribe::PortFactory<ipc::Service, u64, ()>,
    Failure,
> {
    Ok(node
        .service_builder(&name.try_into()?)
        .publish_subscribe::<u64>()
        .subscriber_max_buffer_size(BUFFER)
        // Lossless, like pp's queue: a full subscriber buffer makes the
        // publisher wait (below), it never overwrites a value.
        .enable_safe_overflow(false)
        .history_size(0)
        .open_or_create()?)
}

/// Busy-polls `subscriber` for its next value.
fn next(
    subscriber: &iceoryx2::port::subscriber::Subscriber<ipc::Service, u64, ()>,
) -> Result<u64, Failure> {
    loop {
        if let Some(sample) = subscriber.receive()? {
            return Ok(*sample);
        }
        std::hint::spin_loop();
    }
}

fn echo(name: &str) -> Result<(), Failure> {
    let node = NodeBuilder::new().create::<ipc::Service>()?;
    let ping = service(&node, &format!("{name}/ping"))?.subscriber_builder().create()?;
    let pong = service(&node, &format!("{name}/pong"))?
        .publisher_builder()
        .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
        .create()?;
    println!("ready");
    loop {
        let value = next(&ping)?;
        pong.send_copy(value)?;
        if value == END {
            return Ok(());
        }
    }
}

fn ping(name: &str, n: u64, reps: u64) -> Result<(), Failure> {
    let node = NodeBuilder::new().create::<ipc::Service>()?;
    let ping = service(&node, &format!("{name}/ping"))?
        .publisher_builder()
        .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
        .create()?;
    let pong = service(&node, &format!("{name}/pong"))?.subscriber_builder().create()?;
    // The echo may subscribe after us: a value it missed is sent again.
    wait_for_subscriber(&ping, &pong, 0)?;
    let mut per_op = Vec::new();
    for rep in 0..=reps {
        let started = Instant::now();
        for k in 1..=n {
            ping.send_copy(k)?;
            while next(&pong)? != k {}
        }
        if rep > 0 {
            per_op.push(started.elapsed().as_nanos() as f64 / n as f64);
        }
    }
    ping.send_copy(END)?;
    report("round-trip-ns", per_op);
    Ok(())
}

fn sink(name: &str) -> Result<(), Failure> {
    let node = NodeBuilder::new().create::<ipc::Service>()?;
    let data = service(&node, &format!("{name}/data"))?.subscriber_builder().create()?;
    let acks = service(&node, &format!("{name}/acks"))?
        .publisher_builder()
        .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
        .create()?;
    println!("ready");
    loop {
        let value = next(&data)?;
        if value == 0 || value == END {
            acks.send_copy(value)?;
        }
        if value == END {
            return Ok(());
        }
    }
}

fn send(name: &str, n: u64, reps: u64) -> Result<(), Failure> {
    let node = NodeBuilder::new().create::<ipc::Service>()?;
    let data = service(&node, &format!("{name}/data"))?
        .publisher_builder()
        .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
        .create()?;
    let acks = service(&node, &format!("{name}/acks"))?.subscriber_builder().create()?;
    wait_for_subscriber(&data, &acks, 0)?;
    let mut per_op = Vec::new();
    for rep in 0..=reps {
        let started = Instant::now();
        let mut k = 1;
        while k <= n {
            // A full subscriber buffer makes the send retry until there is
            // room (RetryUntilDelivered): nothing is lost.
            data.send_copy(k)?;
            k += 1;
        }
        data.send_copy(0)?;
        while next(&acks)? != 0 {}
        if rep > 0 {
            per_op.push(started.elapsed().as_nanos() as f64 / n as f64);
        }
    }
    data.send_copy(END)?;
    report("per-item-ns", per_op);
    Ok(())
}

/// Sends `probe` until the peer's answer shows it is subscribed.
fn wait_for_subscriber(
    publisher: &iceoryx2::port::publisher::Publisher<ipc::Service, u64, ()>,
    answers: &iceoryx2::port::subscriber::Subscriber<ipc::Service, u64, ()>,
    probe: u64,
) -> Result<(), Failure> {
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while Instant::now() < deadline {
        publisher.send_copy(probe)?;
        std::thread::sleep(std::time::Duration::from_millis(1));
        let mut answered = false;
        while let Some(sample) = answers.receive()? {
            answered |= *sample == probe;
        }
        if answered {
            // Answers to the other probes still on their way are dropped.
            std::thread::sleep(std::time::Duration::from_millis(20));
            while answers.receive()?.is_some() {}
            return Ok(());
        }
    }
    Err("the peer never answered".into())
}

fn report(what: &str, mut per_op: Vec<f64>) {
    per_op.sort_by(f64::total_cmp);
    let median = per_op.get(per_op.len() / 2).copied().unwrap_or(f64::NAN);
    let min = per_op.first().copied().unwrap_or(f64::NAN);
    let max = per_op.last().copied().unwrap_or(f64::NAN);
    println!("{what} {median} {min} {max}");
}

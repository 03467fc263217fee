//! pp-remote's rows: a task's round trip and tiny-task throughput through a
//! nats-server on loopback (a worker process of this program with 2 local
//! workers), beside the bare JetStream floor measured in the same run
//! (publish and await the server's acknowledgement; a consumer on another
//! connection receives, acknowledges, and answers on a plain subject) and
//! the local `ProcessPool`. Without `nats-server` on PATH the rows are
//! skipped, with a note.

use std::process::{Command, Stdio};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures::StreamExt;
use pp_pool::ProcessPool;
use pp_remote::{KEY_ENV, Key, RemoteOptions, RemotePool, WORKER_FLAG};
use pp_tests::nats::Server;

use crate::measure::{Figure, Plan, keep, measure};
use crate::report::Report;

/// The tiny task (its own, so this file does not reach back into main.rs).
fn add_one(x: u64) -> u64 {
    x + 1
}

pub(crate) fn remote(plan: Plan, report: &mut Report) {
    if Command::new("nats-server").arg("--version").output().is_err() {
        report.notes.push("remote rows skipped: no nats-server on PATH".into());
        return;
    }
    let server = Server::start();
    let url = server.url();
    let key = Key::generate().unwrap();
    let _worker = KilledOnDrop(
        Command::new(std::env::current_exe().unwrap())
            .args([WORKER_FLAG, &url, "2"])
            .env(KEY_ENV, key.to_hex())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pool = RemotePool::connect(&url, RemoteOptions::new(key)).unwrap();
    // The worker has connected once a task comes back.
    keep(pool.submit(add_one, 1).unwrap().result_timeout(Duration::from_secs(60)).unwrap());

    let rt_n = plan.n(400);
    let round_trip = measure(plan, rt_n, |n| {
        (0..n).for_each(|i| keep(pool.submit(add_one, i).unwrap().result().unwrap()))
    });
    let tp_n = plan.n(4000);
    let throughput = measure(plan, tp_n, |n| {
        let tasks = pool.submit_many(add_one, 0..n).unwrap();
        pool.results(&tasks).into_iter().for_each(|r| keep(r.unwrap()));
    });
    let (floor_round_trip, floor_throughput) = floor(plan, &url, rt_n, tp_n);
    let local = ProcessPool::new(2).unwrap();
    let local_round_trip = measure(plan, rt_n, |n| {
        (0..n).for_each(|i| keep(local.submit(add_one, i).unwrap().result().unwrap()))
    });
    drop(local);

    report.add(
        "remote pool: one task round trip (nats-server on loopback, 1 worker process)",
        "RemotePool",
        round_trip,
        vec![
            ("bare JetStream publish → consume → ack → answer", Some(floor_round_trip)),
            ("local ProcessPool(2)", Some(local_round_trip)),
        ],
    );
    report.add(
        "remote pool: tiny tasks, submit_many + results (per task)",
        "RemotePool",
        throughput,
        vec![(
            "bare JetStream, published together, consumed and acked (per message)",
            Some(floor_throughput),
        )],
    );
    let rt_ratio = round_trip.median / floor_round_trip.median;
    let tp_ratio = floor_throughput.median / throughput.median;
    let verdict = |met: bool| if met { "met" } else { "not met" };
    report.notes.push(format!(
        "remote pool (medians of this run): a task's round trip takes {rt_ratio:.2}× the bare JetStream round trip \
         (goal at most 2×: {}); tiny-task throughput is {tp_ratio:.2}× the bare JetStream message throughput \
         (goal at least 0.5×: {})",
        verdict(rt_ratio <= 2.0),
        verdict(tp_ratio >= 0.5),
    ));
}

/// A child process killed and reaped on drop (a panicking bench too).
struct KilledOnDrop(std::process::Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The bare JetStream figures: (round trip, per message when batched).
fn floor(plan: Plan, url: &str, rt_n: u64, tp_n: u64) -> (Figure, Figure) {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (js, replies) = runtime.block_on(async {
        let publisher = async_nats::connect(url).await.unwrap();
        let js = jetstream::new(publisher.clone());
        let stream = js
            .create_stream(stream::Config {
                name: "floor".into(),
                subjects: vec!["floor.>".into()],
                retention: stream::RetentionPolicy::WorkQueue,
                ..Default::default()
            })
            .await
            .unwrap();
        let consumer: consumer::PullConsumer = stream
            .create_consumer(consumer::pull::Config {
                durable_name: Some("floor".into()),
                ack_policy: consumer::AckPolicy::Explicit,
                ..Default::default()
            })
            .await
            .unwrap();
        let answerer = async_nats::connect(url).await.unwrap();
        tokio::spawn(async move {
            let mut messages = consumer.messages().await.unwrap();
            while let Some(Ok(message)) = messages.next().await {
                let _ = message.ack().await;
                let _ = answerer.publish("floor-answer", message.payload.clone()).await;
            }
        });
        let replies = publisher.subscribe("floor-answer").await.unwrap();
        publisher.flush().await.unwrap();
        (js, replies)
    });
    let mut replies = replies;
    let round_trip = measure(plan, rt_n, |n| {
        runtime.block_on(async {
            for i in 0..n {
                js.publish("floor.task", i.to_le_bytes().to_vec().into())
                    .await
                    .unwrap()
                    .await
                    .unwrap();
                replies.next().await.unwrap();
            }
        })
    });
    let throughput = measure(plan, tp_n, |n| {
        runtime.block_on(async {
            let mut acks = Vec::with_capacity(n as usize);
            for i in 0..n {
                acks.push(js.publish("floor.task", i.to_le_bytes().to_vec().into()).await.unwrap());
            }
            for ack in acks {
                ack.await.unwrap();
            }
            for _ in 0..n {
                replies.next().await.unwrap();
            }
        })
    });
    // A subscriber's drop needs its runtime.
    runtime.block_on(async move { drop(replies) });
    (round_trip, throughput)
}

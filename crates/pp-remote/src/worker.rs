//! [`Worker`]: pulls this program's tasks from the server and runs them in
//! a local [`ProcessPool`], so a task that crashes fails that task and not
//! the worker host.
//!
//! Per task: the message must open (decode, tag verified under the key,
//! for our program), else it is terminated (`AckTerm`) and never runs. A
//! task that already has a result (a redelivery, a duplicate) is
//! acknowledged without running. Otherwise it starts, and a cancel request
//! made before (looked up while it starts) or after (watched) stops it. It
//! runs with an in-progress
//! signal every third of `ack_wait`; its outcome is stored (the first
//! stored wins), and only then is it acknowledged. A worker that dies
//! before that leaves the task unacknowledged: the server redelivers it
//! after `ack_wait`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::{AckKind, Message, kv};
use futures::StreamExt;
use pp_pool::{ProcessPool, TaskErrorKind, TaskFn, TaskHandle, TaskOptions};

use crate::bus::Bus;
use crate::client::ClientThread;
use crate::error::RemoteError;
use crate::options::{RemoteOptions, check_name};
use crate::pool::{connect_bus, store_outcome};
use crate::program::program_id;
use crate::wire::{Outcome, TaskMessage};

/// Tasks in hand per local worker: while one runs, the next ones' server
/// round trips (checks, storing results) overlap it. Each is signalled
/// alive to the server from the moment it is in hand.
const PREFETCH: usize = 4;
/// Tasks one worker runs or queues locally at most, whatever its pool's size.
const MAX_SLOTS: usize = 1 << 16;
/// How long a task runs before its worker records it as running.
const MARK_RUNNING_AFTER: Duration = Duration::from_millis(20);

/// A running worker; [`stop`](Self::stop) ends it (so does dropping it).
#[derive(Debug)]
pub struct Worker {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<std::sync::mpsc::Receiver<()>>,
    pool: Arc<ProcessPool>,
    // Last: dropped after everything that uses its runtime.
    _client: ClientThread,
}

/// What every task of one worker shares.
struct Context {
    bus: Bus,
    options: RemoteOptions,
    program: &'static str,
    pool: Arc<ProcessPool>,
    /// The tasks running now, by id (for cancel requests).
    running: Mutex<HashMap<String, TaskHandle<Vec<u8>>>>,
    /// Set when the worker stops: tasks it stops are handed back, not cancelled.
    stopping: AtomicBool,
    /// Who this worker is, in `<id>.run` records.
    name: String,
    /// Tasks being worked on (checked, run, stored) at once, at most.
    busy: tokio::sync::Semaphore,
}

impl Worker {
    /// Connects to `url` and starts taking tasks, running up to
    /// `local_workers` at a time in a local process pool of as many workers.
    /// Call [`pp_pool::init`] first thing in `main`, as for any process pool.
    pub fn start(
        url: &str,
        options: RemoteOptions,
        local_workers: usize,
    ) -> Result<Worker, RemoteError> {
        let program = program_id()?;
        let pool = Arc::new(ProcessPool::new(local_workers)?);
        let client = ClientThread::start("pp-remote-worker")?;
        let bus = connect_bus(url, &options, &client)?;
        let deadline = crate::client::deadline_after(options.request_timeout.saturating_mul(3));
        let consumer = {
            let (bus, options) = (bus.clone(), options.clone());
            client.call("creating the workers' consumer", deadline, async move {
                bus.consumer(program, &options).await
            })?
        };
        // The pool refused 0 workers above; a huge count is capped here (the
        // semaphores below take at most `usize::MAX >> 3` permits).
        let slots = local_workers.saturating_mul(PREFETCH).min(MAX_SLOTS);
        let context = Arc::new(Context {
            bus,
            options,
            program,
            pool: pool.clone(),
            running: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
            name: format!("{}:{}", hostname(), std::process::id()),
            busy: tokio::sync::Semaphore::new(slots),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let (finished, done) = std::sync::mpsc::channel();
        client.handle().spawn(async move {
            serve(context, consumer, slots, stopped).await;
            let _ = finished.send(());
        });
        Ok(Worker { stop: Some(stop), done: Some(done), pool, _client: client })
    }

    /// [`start`](Self::start), then serves until the process ends.
    pub fn run(url: &str, options: RemoteOptions, local_workers: usize) -> Result<(), RemoteError> {
        Worker::start(url, options, local_workers)?.wait();
        Ok(())
    }

    /// Serves until the process ends (the worker never stops by itself).
    pub fn wait(mut self) {
        if let Some(done) = self.done.take() {
            let _ = done.recv();
        }
    }

    /// Stops taking tasks; the running ones are stopped and handed back to
    /// the server (redelivered to another worker), then the local pool ends.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.take() {
            let _ = done.recv_timeout(Duration::from_secs(30));
        }
        self.pool.shutdown_now();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn hostname() -> String {
    rustix::system::uname().nodename().to_string_lossy().into_owned()
}

/// Takes tasks until stopped: at most `slots` in hand at once.
async fn serve(
    context: Arc<Context>,
    consumer: PullConsumer,
    slots: usize,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    // Fetched, in hand: twice what runs, so a fetch brings several tasks
    // per round trip while the running ones finish.
    let permits = Arc::new(tokio::sync::Semaphore::new(2 * slots));
    let watcher = tokio::spawn(watch_cancels(context.clone()));
    let mut backoff = Duration::from_millis(50);
    loop {
        // Wait for room first: a task fetched is ours until acknowledged.
        let first = tokio::select! {
            _ = &mut stopped => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let want = 1 + permits.available_permits();
        let fetched = tokio::select! {
            _ = &mut stopped => break,
            fetched = consumer.fetch().max_messages(want).expires(Duration::from_secs(1)).messages() => fetched,
        };
        let mut batch = match fetched {
            Ok(batch) => batch,
            Err(e) => {
                tracing::warn!(%e, "cannot fetch tasks; trying again");
                drop(first);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        let mut first = Some(first);
        while let Some(message) = batch.next().await {
            let message = match message {
                Ok(message) => message,
                Err(e) => {
                    tracing::warn!(%e, "a fetch failed; trying again");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    break;
                }
            };
            backoff = Duration::from_millis(50);
            let permit = match first.take() {
                Some(permit) => permit,
                None => match permits.clone().acquire_owned().await {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let context = context.clone();
            tokio::spawn(async move {
                handle(&context, message).await;
                drop(permit);
            });
        }
    }
    context.stopping.store(true, Ordering::SeqCst);
    watcher.abort();
    // Stop what runs: each task hands its message back (nak) as it ends.
    let running: Vec<_> = lock(&context.running).values().cloned().collect();
    for task in running {
        task.cancel();
    }
    let _ = permits.acquire_many(u32::try_from(2 * slots).unwrap_or(u32::MAX)).await;
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Cancels a running task when its `<id>.cancel` record appears; watches
/// again after the watch breaks (the server restarted).
async fn watch_cancels(context: Arc<Context>) {
    loop {
        // With history: the last record of each key first, so a cancel
        // made while the watch was down (the server restarted) is seen.
        match context.bus.records.watch_with_history("*.cancel").await {
            Ok(mut watch) => {
                while let Some(Ok(entry)) = watch.next().await {
                    if entry.operation != kv::Operation::Put {
                        continue;
                    }
                    let Some(id) = entry.key.strip_suffix(".cancel") else { continue };
                    if let Some(task) = lock(&context.running).get(id) {
                        task.cancel();
                    }
                }
            }
            Err(e) => tracing::debug!(%e, "cannot watch cancel requests; trying again"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs one delivered task (see the module docs for the protocol).
async fn handle(context: &Context, message: Message) {
    // Bounded both ways: a timer of zero or past the clock's end is refused.
    let heartbeat = (context.options.ack_wait / 3)
        .clamp(Duration::from_millis(10), Duration::from_secs(24 * 3600));
    // Signalled alive while it waits for its turn.
    let _busy = loop {
        tokio::select! {
            permit = context.busy.acquire() => match permit {
                Ok(permit) => break permit,
                Err(_) => return,
            },
            _ = tokio::time::sleep(heartbeat) => {
                let _ = message.ack_with(AckKind::Progress).await;
            }
        }
    };
    // The worker is stopping: hand the task back untouched.
    if context.stopping.load(Ordering::SeqCst) {
        let _ = message.ack_with(AckKind::Nak(None)).await;
        return;
    }
    let body = match TaskMessage::open(&message.payload, &context.options.key, context.program) {
        Ok(body) if check_name(&body.id).is_ok() => body,
        Ok(body) => {
            tracing::warn!(id = %crate::error::shorten(&body.id), "refusing a task with a bad id");
            let _ = message.ack_with(AckKind::Term).await;
            return;
        }
        Err(refusal) => {
            tracing::warn!(id = ?refusal.id, reason = %refusal.reason, "refusing a task");
            // Tell whoever waits for it why (a pool with another key, or
            // of another build): anyone able to publish here could write
            // this outcome into the bucket directly anyway.
            if let Some(id) = refusal.id.filter(|id| check_name(id).is_ok()) {
                let reason = format!("refused by worker {}: {}", context.name, refusal.reason);
                let _ = store_outcome(&context.bus.results, &id, &Outcome::Failed(reason)).await;
            }
            let _ = message.ack_with(AckKind::Term).await;
            return;
        }
    };
    let id = body.id;
    let bus = &context.bus;
    let retry_soon = AckKind::Nak(Some(Duration::from_secs(1)));
    match crate::pool::stored_outcome(bus, &id).await {
        Ok(Some(_)) => {
            let _ = message.ack().await; // ran already: never twice
            return;
        }
        Ok(None) => {}
        Err(RemoteError::CorruptOutcome { .. }) => {
            let _ = message.ack_with(AckKind::Term).await;
            return;
        }
        Err(_) => {
            let _ = message.ack_with(retry_soon).await;
            return;
        }
    }
    // SAFETY: the message's tag verified under our key (TaskMessage::open),
    // so a pool holding the key built `function` with `TaskFn::of`, and it
    // named our program (the SHA-256 of our executable's bytes, checked in
    // the signed body): these offsets name the same function here.
    let function = unsafe { TaskFn::from_offsets(body.function) };
    let mut options = TaskOptions::default();
    if let Some(ms) = body.timeout_ms {
        options = options.timeout(Duration::from_millis(ms));
    }
    let task = match context.pool.submit_encoded(function, body.arg, options) {
        Ok(task) => task,
        Err(e) => {
            tracing::warn!(%e, "the local pool refused a task");
            let _ = message.ack_with(retry_soon).await;
            return;
        }
    };
    // From here the cancel watcher reaches it; a cancel requested before
    // is looked up while the task starts (not before: that would cost
    // every task a round trip to the server first).
    lock(&context.running).insert(id.clone(), task.clone());
    let cancel_requested = crate::pool::record(&bus.records, &id, "cancel");
    let (mut cancel_checked, mut marked_running) = (false, false);
    // Quick tasks never write a `.run` record: status says Running only
    // for a task that has run this long.
    let mark_running = tokio::time::sleep(MARK_RUNNING_AFTER);
    let finished = task.take_result_async();
    // One timer for the whole wait: a sleep made afresh in each pass of the
    // loop would start over whenever another branch fired (every 20 ms while
    // the task is queued locally) and never tell the server we still work.
    let mut heartbeats =
        tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    heartbeats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(finished, cancel_requested, mark_running);
    let result = loop {
        tokio::select! {
            result = &mut finished => break result,
            cancel = &mut cancel_requested, if !cancel_checked => {
                cancel_checked = true;
                if let Ok(Some(_)) = cancel {
                    task.cancel();
                }
            }
            _ = &mut mark_running, if !marked_running => {
                // Queued in the local pool is not running yet: look again later.
                if task.status() != pp_pool::TaskStatus::Running {
                    mark_running.as_mut().reset(tokio::time::Instant::now() + MARK_RUNNING_AFTER);
                    continue;
                }
                marked_running = true;
                let (records, key) = (bus.records.clone(), format!("{id}.run"));
                let name = context.name.clone();
                tokio::spawn(async move {
                    let _ = records.put(key, name.into()).await;
                });
            }
            _ = heartbeats.tick() => {
                let _ = message.ack_with(AckKind::Progress).await;
            }
        }
    };
    lock(&context.running).remove(&id);
    // Stopped by the worker's own stop, not by a cancel: handed back, to
    // run elsewhere. A task that ended by itself is stored as usual.
    let stopped_by_us = context.stopping.load(Ordering::SeqCst)
        && matches!(&result, Err(e) if e.kind == TaskErrorKind::Cancelled)
        && !matches!(crate::pool::record(&bus.records, &id, "cancel").await, Ok(Some(_)));
    if stopped_by_us {
        let _ = message.ack_with(AckKind::Nak(None)).await;
        return;
    }
    let outcome = match result {
        Ok(bytes) => Outcome::Completed(bytes),
        Err(e) => match e.kind {
            TaskErrorKind::Cancelled => Outcome::Cancelled,
            TaskErrorKind::TaskTimedOut { .. } => Outcome::TimedOut(e.to_string()),
            TaskErrorKind::WorkerDied { .. } => Outcome::WorkerDied(e.to_string()),
            _ => Outcome::Failed(e.to_string()),
        },
    };
    // Stored first, acknowledged after: a worker that dies in between
    // leaves a redelivery that finds the result and does not run again.
    let mut stored = store_outcome(&bus.results, &id, &outcome).await;
    for _ in 0..20 {
        if stored.is_ok() {
            break;
        }
        let _ = message.ack_with(AckKind::Progress).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
        stored = store_outcome(&bus.results, &id, &outcome).await;
    }
    if let Err(e) = stored {
        tracing::warn!(%e, id, "cannot store a result; the task will be redelivered");
        return;
    }
    let kind = if matches!(outcome, Outcome::Cancelled) { AckKind::Term } else { AckKind::Ack };
    let _ = message.ack_with(kind).await;
}

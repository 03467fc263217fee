//! [`RemotePool`] and [`RemoteTask`]: submit a task to the workers of this
//! program on a NATS JetStream server, and follow it by id from any process.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::kv;
use async_nats::jetstream::message::PublishMessage;
use futures::StreamExt;
use pp_pool::{TaskFn, TaskStatus};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bus::{Bus, Names};
use crate::client::{ClientThread, deadline_after};
use crate::error::{RemoteError, server, shorten};
use crate::options::{RemoteOptions, RemoteTaskOptions, check_name};
use crate::program::program_id;
use crate::wire::{Outcome, TaskBody, TaskMessage};

/// A pool whose workers run on other hosts (or processes), reached through
/// a NATS JetStream server. The same calls as a local
/// [`ProcessPool`](pp_pool::ProcessPool): `submit`, `submit_with`, and a
/// handle with `id`, `status`, `result` and `cancel`.
#[derive(Debug, Clone)]
pub struct RemotePool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    bus: Bus,
    program: &'static str,
    options: RemoteOptions,
    // Last: dropped after the bus, whose handles it drives.
    client: ClientThread,
}

/// Connects to `url` with `options`: `connect_timeout` for the connection,
/// `request_timeout` for each request after it.
pub(crate) fn connect_bus(
    url: &str,
    options: &RemoteOptions,
    client: &ClientThread,
) -> Result<Bus, RemoteError> {
    let names = Names::new(options)?;
    let deadline = deadline_after(
        options.connect_timeout.saturating_add(options.request_timeout.saturating_mul(4)),
    );
    let (url, options) = (url.to_owned(), options.clone());
    client.call("connecting to the server", deadline, async move {
        let unreachable = |reason: String| RemoteError::Unreachable { url: shorten(&url), reason };
        let connecting = async_nats::ConnectOptions::new()
            .connection_timeout(options.connect_timeout)
            .name("pp-remote")
            .connect(url.as_str());
        let client = match tokio::time::timeout(options.connect_timeout, connecting).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(unreachable(e.to_string())),
            Err(_) => {
                return Err(unreachable(format!("no answer within {:?}", options.connect_timeout)));
            }
        };
        Bus::open(client, &options, names).await
    })
}

impl RemotePool {
    /// Connects to the server at `url` (`nats://host:port`), creating the
    /// stream and buckets of `options.namespace` if they are missing.
    pub fn connect(url: &str, options: RemoteOptions) -> Result<RemotePool, RemoteError> {
        let program = program_id()?;
        let client = ClientThread::start("pp-remote-client")?;
        let bus = connect_bus(url, &options, &client)?;
        Ok(RemotePool { inner: Arc::new(Inner { bus, program, options, client }) })
    }

    /// Runs `f(arg)` on a worker running this same program.
    pub fn submit<A, R>(&self, f: fn(A) -> R, arg: A) -> Result<RemoteTask<R>, RemoteError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        self.submit_with(f, arg, RemoteTaskOptions::default())
    }

    /// [`submit`](Self::submit) with a chosen id or a timeout. A task whose
    /// id was submitted before runs once: this returns a handle to it.
    pub fn submit_with<A, R>(
        &self,
        f: fn(A) -> R,
        arg: A,
        options: RemoteTaskOptions,
    ) -> Result<RemoteTask<R>, RemoteError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let (id, subject, payload) = self.sealed(f, arg, options)?;
        let (bus, task_id, program) = (self.inner.bus.clone(), id.clone(), self.inner.program);
        let sequence = self.call("submitting a task", async move {
            publish(&bus, program, subject, payload, &task_id).await
        })?;
        Ok(self.handle(id, sequence))
    }

    /// Submits `f(arg)` for every `arg` at once: the publishes go out
    /// together and their acknowledgements are awaited together (one round
    /// trip for the lot, where `submit` takes one per task). The handles
    /// come back in the order of `args`; on an error, none was lost
    /// silently: the tasks published before it run, and their ids are
    /// not returned.
    pub fn submit_many<A, R>(
        &self,
        f: fn(A) -> R,
        args: impl IntoIterator<Item = A>,
    ) -> Result<Vec<RemoteTask<R>>, RemoteError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let sealed = args
            .into_iter()
            .map(|arg| self.sealed(f, arg, RemoteTaskOptions::default()))
            .collect::<Result<Vec<_>, _>>()?;
        let bus = self.inner.bus.clone();
        let program = self.inner.program;
        let submitted = self.call("submitting tasks", async move {
            let mut acks = Vec::with_capacity(sealed.len());
            for (id, subject, payload) in sealed {
                let ack = bus
                    .js
                    .send_publish(subject, task_message(payload, &id))
                    .await
                    .map_err(|e| server("publishing a task")(&e))?;
                acks.push((id, ack));
            }
            let mut submitted = Vec::with_capacity(acks.len());
            for (id, ack) in acks {
                let sequence = published(&bus, program, &id, ack.await).await?;
                submitted.push((id, sequence));
            }
            Ok(submitted)
        })?;
        Ok(submitted.into_iter().map(|(id, sequence)| self.handle(id, sequence)).collect())
    }

    /// The results of `tasks`, in their order, waiting as long as it
    /// takes: all waits run at once (one round trip for results already
    /// stored, where a `result` per task takes one each).
    pub fn results<R: DeserializeOwned>(
        &self,
        tasks: &[RemoteTask<R>],
    ) -> Vec<Result<R, RemoteError>> {
        self.results_until(tasks, None)
    }

    /// [`results`](Self::results), waiting at most `limit` in all (a task
    /// not finished by then is [`RemoteError::Timeout`]).
    pub fn results_timeout<R: DeserializeOwned>(
        &self,
        tasks: &[RemoteTask<R>],
        limit: Duration,
    ) -> Vec<Result<R, RemoteError>> {
        self.results_until(tasks, deadline_after(limit))
    }

    fn results_until<R: DeserializeOwned>(
        &self,
        tasks: &[RemoteTask<R>],
        deadline: Option<Instant>,
    ) -> Vec<Result<R, RemoteError>> {
        let (bus, program) = (self.inner.bus.clone(), self.inner.program);
        let ids: Vec<String> = tasks.iter().map(|task| task.id.clone()).collect();
        let submitted: Vec<bool> = tasks.iter().map(|task| task.sequence.is_some()).collect();
        let waits: Vec<(String, bool)> = ids.iter().cloned().zip(submitted).collect();
        let outcomes = self.inner.client.call("waiting for results", None, async move {
            Ok(wait_for_many(&bus, program, waits, deadline).await)
        });
        match outcomes {
            Ok(outcomes) => outcomes
                .into_iter()
                .zip(&ids)
                .map(|(outcome, id)| outcome.and_then(|outcome| outcome.into_result(id)))
                .collect(),
            Err(e) => {
                let reason = e.to_string();
                ids.iter()
                    .map(|_| {
                        Err(RemoteError::Server {
                            what: "waiting for results",
                            reason: reason.clone(),
                        })
                    })
                    .collect()
            }
        }
    }

    /// A task's id, subject and signed message.
    fn sealed<A, R>(
        &self,
        f: fn(A) -> R,
        arg: A,
        options: RemoteTaskOptions,
    ) -> Result<(String, String, Vec<u8>), RemoteError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let id = match options.id {
            Some(id) => checked_id(id)?,
            None => random_id()?,
        };
        let arg = pp_pool::encode(&arg).map_err(|reason| RemoteError::Encode { reason })?;
        let timeout_ms = options.timeout.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX));
        let body = TaskBody {
            id: id.clone(),
            program: self.inner.program.to_owned(),
            function: TaskFn::of(f).offsets(),
            arg,
            timeout_ms,
        };
        let payload = TaskMessage::seal(body, &self.inner.options.key)?;
        let subject = self.inner.bus.names.subject(self.inner.program, &id);
        Ok((id, subject, payload))
    }

    fn handle<R>(&self, id: String, sequence: Option<u64>) -> RemoteTask<R> {
        RemoteTask { id, sequence, pool: self.clone(), result: PhantomData }
    }

    /// A handle to the task `id`, submitted by any process (a restarted
    /// submitter's included). Its result type is the caller's word: a
    /// wrong one is [`RemoteError::WrongResultType`] when read.
    pub fn task<R: DeserializeOwned>(&self, id: &str) -> Result<RemoteTask<R>, RemoteError> {
        Ok(self.handle(checked_id(id.to_owned())?, None))
    }

    /// The stream sequence of task `id`'s message while it is queued (or
    /// delivered and not yet acknowledged).
    async fn queued(bus: &Bus, program: &str, id: &str) -> Result<Option<u64>, RemoteError> {
        use async_nats::jetstream::stream::LastRawMessageErrorKind;
        match bus.stream.get_last_raw_message_by_subject(&bus.names.subject(program, id)).await {
            Ok(message) => Ok(Some(message.sequence)),
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(server("looking for a queued task")(&e)),
        }
    }

    fn call<T, F>(&self, what: &'static str, future: F) -> Result<T, RemoteError>
    where
        T: Send + 'static,
        F: std::future::Future<Output = Result<T, RemoteError>> + Send + 'static,
    {
        let deadline = deadline_after(self.inner.options.request_timeout.saturating_mul(3));
        self.inner.client.call(what, deadline, future)
    }
}

/// A task's message: refused by the server while a message of the same
/// task is queued or running (its subject holds one), and dropped as a
/// duplicate within two minutes of the first, so a task id submitted again
/// never runs twice at once; once it has run, a new message finds its
/// result and is acknowledged unrun.
fn task_message(payload: Vec<u8>, id: &str) -> PublishMessage {
    PublishMessage::build().payload(payload.into()).message_id(id).expected_last_subject_sequence(0)
}

/// The stream sequence a publish of task `id` got, or the queued message's
/// (`None`: it ended meanwhile) when one was there already.
async fn published(
    bus: &Bus,
    program: &str,
    id: &str,
    ack: Result<
        async_nats::jetstream::publish::PublishAck,
        async_nats::jetstream::context::PublishError,
    >,
) -> Result<Option<u64>, RemoteError> {
    use async_nats::jetstream::context::PublishErrorKind;
    match ack {
        Ok(ack) => Ok(Some(ack.sequence)),
        Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => {
            RemotePool::queued(bus, program, id).await
        }
        Err(e) => Err(server("publishing a task")(&e)),
    }
}

/// Publishes one task message; its stream sequence (see [`published`]).
async fn publish(
    bus: &Bus,
    program: &str,
    subject: String,
    payload: Vec<u8>,
    id: &str,
) -> Result<Option<u64>, RemoteError> {
    let ack = bus
        .js
        .send_publish(subject, task_message(payload, id))
        .await
        .map_err(|e| server("publishing a task")(&e))?
        .await;
    published(bus, program, id, ack).await
}

fn checked_id(id: String) -> Result<String, RemoteError> {
    match check_name(&id) {
        Ok(()) => Ok(id),
        Err(reason) => Err(RemoteError::BadTaskId { id: shorten(&id), reason }),
    }
}

/// 128 random bits in hexadecimal.
fn random_id() -> Result<String, RemoteError> {
    let key = crate::key::Key::generate()?;
    Ok(key.to_hex()[..32].to_owned())
}

/// Aborts a task on the client thread when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A task submitted to a [`RemotePool`], known by its id.
#[derive(Debug)]
pub struct RemoteTask<R> {
    id: String,
    /// Its place in the task stream, when this handle submitted it.
    sequence: Option<u64>,
    pool: RemotePool,
    result: PhantomData<fn() -> R>,
}

impl<R> Clone for RemoteTask<R> {
    fn clone(&self) -> Self {
        RemoteTask {
            id: self.id.clone(),
            sequence: self.sequence,
            pool: self.pool.clone(),
            result: PhantomData,
        }
    }
}

impl<R: DeserializeOwned> RemoteTask<R> {
    /// The task's id: give it to [`RemotePool::task`] in any process.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Where the task is: `Pending` (queued), `Running` (a worker took
    /// it), or how it ended.
    pub fn status(&self) -> Result<TaskStatus, RemoteError> {
        let (bus, id, program) = self.parts();
        self.pool.call("reading a task's status", async move {
            if let Some(outcome) = stored_outcome(&bus, &id).await? {
                return Ok(outcome.status());
            }
            if record(&bus.records, &id, "run").await?.is_some() {
                return Ok(TaskStatus::Running);
            }
            if RemotePool::queued(&bus, program, &id).await?.is_some() {
                return Ok(TaskStatus::Pending);
            }
            // It may have ended meanwhile.
            match stored_outcome(&bus, &id).await? {
                Some(outcome) => Ok(outcome.status()),
                None => Err(RemoteError::UnknownTask { id }),
            }
        })
    }

    /// The result, waiting as long as it takes.
    pub fn result(&self) -> Result<R, RemoteError> {
        self.result_until(None)
    }

    /// The result, waiting at most `limit` ([`RemoteError::Timeout`] then;
    /// the task goes on).
    pub fn result_timeout(&self, limit: Duration) -> Result<R, RemoteError> {
        self.result_until(deadline_after(limit))
    }

    /// The result, waiting until `deadline`.
    pub fn result_deadline(&self, deadline: Instant) -> Result<R, RemoteError> {
        self.result_until(Some(deadline))
    }

    /// [`result`](Self::result) for async code, on any executor: the wait
    /// runs on pp-remote's client thread, the returned future only waits
    /// for its answer. For a time limit, use the runtime's timer. Dropping
    /// the future stops the wait (not the task).
    pub fn result_async(
        &self,
    ) -> impl std::future::Future<Output = Result<R, RemoteError>> + Send + 'static
    where
        R: Send + 'static,
    {
        let (bus, id, program) = self.parts();
        let submitted = self.sequence.is_some();
        let (answer, answered) = tokio::sync::oneshot::channel();
        let waiting = self.pool.inner.client.handle().spawn(async move {
            let outcome = wait_for_outcome(&bus, program, &id, submitted).await;
            let _ = answer.send(outcome.and_then(|outcome| outcome.into_result::<R>(&id)));
        });
        // Aborts the wait when the future is dropped unfinished.
        let abort = AbortOnDrop(waiting);
        // The client thread lives while the future does, even if every
        // handle and the pool were dropped before the await.
        let pool = self.pool.clone();
        async move {
            let outcome = answered.await.unwrap_or(Err(RemoteError::ClientGone));
            drop(abort);
            drop(pool);
            outcome
        }
    }

    /// The result if the task has ended, else `None`.
    pub fn try_result(&self) -> Result<Option<R>, RemoteError> {
        let (bus, id) = (self.pool.inner.bus.clone(), self.id.clone());
        let outcome =
            self.pool.call("reading a result", async move { stored_outcome(&bus, &id).await })?;
        outcome.map(|outcome| outcome.into_result(&self.id)).transpose()
    }

    /// What a call on the client thread needs: the bus, the id, the program.
    fn parts(&self) -> (Bus, String, &'static str) {
        (self.pool.inner.bus.clone(), self.id.clone(), self.pool.inner.program)
    }

    fn result_until(&self, deadline: Option<Instant>) -> Result<R, RemoteError> {
        let (bus, id, program) = self.parts();
        // A handle that submitted its task knows it exists.
        let submitted = self.sequence.is_some();
        let outcome =
            self.pool.inner.client.call("waiting for a result", deadline, async move {
                wait_for_outcome(&bus, program, &id, submitted).await
            })?;
        outcome.into_result(&self.id)
    }

    /// Cancels the task: a queued one is removed and never runs, a running
    /// one is stopped on its worker (its whole process tree); either way
    /// its result becomes [`TaskStatus::Cancelled`]. False if it had ended
    /// already (its result stays). Two cancels racing each other may both
    /// say true; one that comes after a cancel has ended the task says false.
    pub fn cancel(&self) -> Result<bool, RemoteError> {
        let (bus, id, program) = self.parts();
        let sequence = self.sequence;
        self.pool.call("cancelling a task", async move {
            if stored_outcome(&bus, &id).await?.is_some() {
                return Ok(false);
            }
            let sequence = match sequence {
                Some(sequence) => Some(sequence),
                None => RemotePool::queued(&bus, program, &id).await?,
            };
            let running = record(&bus.records, &id, "run").await?.is_some();
            if sequence.is_none() && !running {
                // Ended meanwhile, or never submitted.
                return match stored_outcome(&bus, &id).await? {
                    Some(_) => Ok(false),
                    None => Err(RemoteError::UnknownTask { id }),
                };
            }
            // First the request (a worker running it stops it, one about
            // to run it does not), then the outcome (create-only: a task
            // that finished first keeps its own), then the queued message.
            bus.records
                .put(format!("{id}.cancel"), "".into())
                .await
                .map_err(|e| server("recording a cancel")(&e))?;
            match bus.results.create(id.as_str(), Outcome::Cancelled.encode().into()).await {
                Ok(_) => {}
                // The worker may store the cancel first: it saw the request
                // and stopped the task. Only another outcome means too late.
                Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                    let cancelled =
                        matches!(stored_outcome(&bus, &id).await?, Some(Outcome::Cancelled));
                    return Ok(cancelled);
                }
                Err(e) => return Err(server("storing a cancel")(&e)),
            }
            if let Some(sequence) = sequence {
                // Gone already (a worker acknowledged it): nothing to remove.
                let _ = bus.stream.delete_message(sequence).await;
            }
            Ok(true)
        })
    }
}

/// The record `<id>.<suffix>`, if there is one.
pub(crate) async fn record(
    records: &kv::Store,
    id: &str,
    suffix: &str,
) -> Result<Option<String>, RemoteError> {
    let value = records
        .get(format!("{id}.{suffix}"))
        .await
        .map_err(|e| server("reading a task record")(&e))?;
    Ok(value.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
}

/// The task's stored outcome, if it has one.
pub(crate) async fn stored_outcome(bus: &Bus, id: &str) -> Result<Option<Outcome>, RemoteError> {
    let value = bus.results.get(id).await.map_err(|e| server("reading a result")(&e))?;
    value.map(|bytes| Outcome::decode(id, &bytes)).transpose()
}

/// Stores `outcome` unless the task has one already (the first one stays).
pub(crate) async fn store_outcome(
    results: &kv::Store,
    id: &str,
    outcome: &Outcome,
) -> Result<(), RemoteError> {
    match results.create(id, outcome.encode().into()).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(server("storing a result")(&e)),
    }
}

/// Waits for the task's outcome: subscribes to the subject its result is
/// stored on, then looks (so one stored before the subscription is not
/// missed), then waits for the stored message, looking again every second
/// (a result stored while the client was reconnecting is not sent again).
/// A task nobody submitted is [`RemoteError::UnknownTask`] at once.
async fn wait_for_outcome(
    bus: &Bus,
    program: &str,
    id: &str,
    submitted: bool,
) -> Result<Outcome, RemoteError> {
    // A result already stored costs one request.
    if let Ok(Some(outcome)) = stored_outcome(bus, id).await {
        return Ok(outcome);
    }
    let mut known = submitted;
    loop {
        let subscription = bus.client.subscribe(bus.names.result_subject(id)).await;
        if subscription.is_ok() {
            // The server has the subscription before we look.
            let _ = bus.client.flush().await;
        }
        match look(bus, program, id, &mut known).await {
            Ok(Some(outcome)) => return Ok(outcome),
            Ok(None) => {}
            Err(e @ (RemoteError::UnknownTask { .. } | RemoteError::CorruptOutcome { .. })) => {
                return Err(e);
            }
            Err(e) => {
                tracing::debug!(%e, "looking for a result; trying again");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        }
        let Ok(mut subscription) = subscription else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        loop {
            match tokio::time::timeout(Duration::from_secs(1), subscription.next()).await {
                // A put carries the value; a delete or purge has none.
                Ok(Some(message)) if !message.payload.is_empty() => {
                    return Outcome::decode(id, &message.payload);
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => {
                    if let Ok(Some(outcome)) = stored_outcome(bus, id).await {
                        return Ok(outcome);
                    }
                }
            }
        }
    }
}

/// Waits for many tasks' outcomes at once: one subscription to every
/// result subject of the bucket, then a look at each task still open (all
/// at once); the rest arrive on the subscription, and are looked at again
/// every second. A task not finished by `deadline` is a timeout.
async fn wait_for_many(
    bus: &Bus,
    program: &str,
    tasks: Vec<(String, bool)>,
    deadline: Option<Instant>,
) -> Vec<Result<Outcome, RemoteError>> {
    let started = Instant::now();
    let mut outcomes: Vec<Option<Result<Outcome, RemoteError>>> =
        tasks.iter().map(|_| None).collect();
    let index: HashMap<&str, usize> =
        tasks.iter().enumerate().map(|(i, (id, _))| (id.as_str(), i)).collect();
    let prefix = bus.names.result_subject("");
    let mut subscription = bus.client.subscribe(format!("{prefix}>")).await.ok();
    if subscription.is_some() {
        let _ = bus.client.flush().await;
    }
    let mut known: Vec<bool> = tasks.iter().map(|(_, submitted)| *submitted).collect();
    let past = |deadline: Option<Instant>| deadline.is_some_and(|d| Instant::now() >= d);
    while outcomes.iter().any(Option::is_none) && !past(deadline) {
        let open: Vec<usize> = (0..tasks.len()).filter(|&i| outcomes[i].is_none()).collect();
        let looks = futures::future::join_all(open.into_iter().map(|i| {
            let (id, mut task_known) = (tasks[i].0.as_str(), known[i]);
            async move {
                let looked = look(bus, program, id, &mut task_known).await;
                (i, looked, task_known)
            }
        }))
        .await;
        for (i, looked, task_known) in looks {
            known[i] = task_known;
            match looked {
                Ok(Some(outcome)) => outcomes[i] = Some(Ok(outcome)),
                Err(e @ (RemoteError::UnknownTask { .. } | RemoteError::CorruptOutcome { .. })) => {
                    outcomes[i] = Some(Err(e));
                }
                // Not yet, or the server is away: look again.
                Ok(None) | Err(_) => {}
            }
        }
        let mut until = Instant::now() + Duration::from_secs(1);
        if let Some(deadline) = deadline {
            until = until.min(deadline);
        }
        while outcomes.iter().any(Option::is_none) {
            let Some(stream) = subscription.as_mut() else {
                tokio::time::sleep_until(until.into()).await;
                break;
            };
            match tokio::time::timeout_at(until.into(), stream.next()).await {
                Ok(Some(message)) => {
                    let Some(id) = message.subject.as_str().strip_prefix(prefix.as_str()) else {
                        continue;
                    };
                    if let Some(&i) = index.get(id)
                        && outcomes[i].is_none()
                        && !message.payload.is_empty()
                    {
                        outcomes[i] = Some(Outcome::decode(id, &message.payload));
                    }
                }
                Ok(None) => {
                    subscription = None;
                    break;
                }
                Err(_) => break,
            }
        }
    }
    let timeout =
        || RemoteError::Timeout { what: "waiting for results", waited: started.elapsed() };
    outcomes.into_iter().map(|outcome| outcome.unwrap_or_else(|| Err(timeout()))).collect()
}

/// The outcome if stored; the first time, also whether the task exists.
async fn look(
    bus: &Bus,
    program: &str,
    id: &str,
    known: &mut bool,
) -> Result<Option<Outcome>, RemoteError> {
    if let Some(outcome) = stored_outcome(bus, id).await? {
        return Ok(Some(outcome));
    }
    if !*known {
        let queued = RemotePool::queued(bus, program, id).await?.is_some();
        if !queued && record(&bus.records, id, "run").await?.is_none() {
            // It may have ended between the reads.
            return match stored_outcome(bus, id).await? {
                Some(outcome) => Ok(Some(outcome)),
                None => Err(RemoteError::UnknownTask { id: id.to_owned() }),
            };
        }
        *known = true;
    }
    Ok(None)
}

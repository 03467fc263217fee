//! The server side of a remote pool: the task stream (work-queue retention,
//! one subject per task, `<ns>.tasks.<program>.<id>`, so a queued task is
//! found by its id; de-duplication by task id), the consumer the workers of
//! one program share, and two key-value buckets: results (first write wins)
//! and task records (`<id>.run`: which worker runs it; `<id>.cancel`: a
//! cancel request).

use std::time::Duration;

use async_nats::jetstream::{self, consumer, kv, stream};

use crate::error::{RemoteError, server};
use crate::options::RemoteOptions;

/// The names one namespace uses.
#[derive(Clone, Debug)]
pub(crate) struct Names {
    pub(crate) stream: String,
    pub(crate) results: String,
    pub(crate) records: String,
    namespace: String,
}

impl Names {
    pub(crate) fn new(options: &RemoteOptions) -> Result<Names, RemoteError> {
        let ns = options.checked_namespace()?;
        Ok(Names {
            stream: format!("{ns}-tasks"),
            results: format!("{ns}-results"),
            records: format!("{ns}-records"),
            namespace: ns.to_owned(),
        })
    }

    /// Every task subject of the namespace.
    fn all_subjects(&self) -> String {
        format!("{}.tasks.>", self.namespace)
    }

    /// The subject of task `id` for `program`.
    pub(crate) fn subject(&self, program: &str, id: &str) -> String {
        format!("{}.tasks.{program}.{id}", self.namespace)
    }

    /// Every task subject of `program`.
    fn program_subjects(&self, program: &str) -> String {
        format!("{}.tasks.{program}.>", self.namespace)
    }

    /// The subject a result of task `id` is published on (the key-value
    /// bucket's subject for the key, per the KV protocol, ADR-8).
    pub(crate) fn result_subject(&self, id: &str) -> String {
        format!("$KV.{}.{id}", self.results)
    }

    /// The durable consumer of `program`'s workers.
    pub(crate) fn consumer(&self, program: &str) -> String {
        format!("{}-worker-{program}", self.namespace)
    }
}

/// The stream and buckets, created if missing. A stream that is present is
/// checked (retention, subjects); present buckets are used as they are, so
/// the first creator's result TTL stays.
#[derive(Clone, Debug)]
pub(crate) struct Bus {
    pub(crate) client: async_nats::Client,
    pub(crate) js: jetstream::Context,
    pub(crate) stream: stream::Stream,
    pub(crate) results: kv::Store,
    pub(crate) records: kv::Store,
    pub(crate) names: Names,
}

/// How long the stream remembers message ids to drop duplicates.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

impl Bus {
    pub(crate) async fn open(
        client: async_nats::Client,
        options: &RemoteOptions,
        names: Names,
    ) -> Result<Bus, RemoteError> {
        let mut js = jetstream::new(client.clone());
        js.set_timeout(options.request_timeout);
        let config = stream::Config {
            name: names.stream.clone(),
            subjects: vec![names.all_subjects()],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            // The server refuses a window longer than the stream's max age.
            duplicate_window: DUPLICATE_WINDOW.min(options.result_ttl),
            // A task still queued this long after it was submitted is dropped.
            max_age: options.result_ttl,
            ..Default::default()
        };
        let stream = js
            .get_or_create_stream(config)
            .await
            .map_err(|e| server("creating the task stream")(&e))?;
        check_stream(&stream, &names)?;
        let results = bucket(&js, &names.results, options.result_ttl).await?;
        let records = bucket(&js, &names.records, options.result_ttl).await?;
        Ok(Bus { client, js, stream, results, records, names })
    }

    /// The consumer `program`'s workers share.
    pub(crate) async fn consumer(
        &self,
        program: &str,
        options: &RemoteOptions,
    ) -> Result<consumer::PullConsumer, RemoteError> {
        let name = self.names.consumer(program);
        let config = consumer::pull::Config {
            durable_name: Some(name.clone()),
            filter_subject: self.names.program_subjects(program),
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: options.ack_wait,
            max_deliver: options.max_deliver,
            ..Default::default()
        };
        self.stream
            .get_or_create_consumer(&name, config)
            .await
            .map_err(|e| server("creating the workers' consumer")(&e))
    }
}

/// A stream of pp's name must be a work queue over the namespace's task subjects.
fn check_stream(stream: &stream::Stream, names: &Names) -> Result<(), RemoteError> {
    let config = &stream.cached_info().config;
    let wrong = |reason: String| RemoteError::WrongStream { stream: names.stream.clone(), reason };
    if config.retention != stream::RetentionPolicy::WorkQueue {
        return Err(wrong(format!("its retention is {:?}, not WorkQueue", config.retention)));
    }
    if !config.subjects.contains(&names.all_subjects()) {
        return Err(wrong(format!(
            "its subjects are {:?}, not {:?}",
            config.subjects,
            names.all_subjects()
        )));
    }
    Ok(())
}

async fn bucket(
    js: &jetstream::Context,
    name: &str,
    ttl: Duration,
) -> Result<kv::Store, RemoteError> {
    match js.get_key_value(name).await {
        Ok(store) => return Ok(store),
        Err(e) if e.kind() == jetstream::context::KeyValueErrorKind::GetBucket => {}
        Err(e) => return Err(server("opening a key-value bucket")(&e)),
    }
    let config =
        kv::Config { bucket: name.to_owned(), history: 1, max_age: ttl, ..Default::default() };
    match js.create_key_value(config).await {
        Ok(store) => Ok(store),
        // Another process made it meanwhile.
        Err(_) => {
            js.get_key_value(name).await.map_err(|e| server("opening a key-value bucket")(&e))
        }
    }
}

//! [`RemoteOptions`] (a pool's or worker's connection and JetStream
//! settings) and [`RemoteTaskOptions`] (one task's id and timeout).

use std::time::Duration;

use crate::error::RemoteError;
use crate::key::Key;

/// How a remote pool or worker uses the server. Pools and workers that work
/// together need the same key and namespace.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RemoteOptions {
    /// The secret that signs tasks ([`Key::from_env`] reads `PP_REMOTE_KEY`).
    pub key: Key,
    /// Prefix of the stream, buckets and subjects (default `pp`).
    pub namespace: String,
    /// How long connecting may take (default 5 s).
    pub connect_timeout: Duration,
    /// How long one request to the server may take (default 10 s).
    pub request_timeout: Duration,
    /// How long the server waits for a worker's sign of life before it
    /// redelivers its task (default 30 s; workers signal every third of it).
    pub ack_wait: Duration,
    /// How many times a task is delivered at most (default -1: no limit).
    /// A task whose worker hosts die or hang this many times gets no
    /// outcome: it stays queued on the server and `result` waits for it.
    pub max_deliver: i64,
    /// How long results (and task records) are kept (default 24 h); also
    /// how long a task may wait in the queue before it is dropped.
    pub result_ttl: Duration,
}

impl RemoteOptions {
    /// The defaults, with `key`.
    pub fn new(key: Key) -> RemoteOptions {
        RemoteOptions {
            key,
            namespace: "pp".into(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            ack_wait: Duration::from_secs(30),
            max_deliver: -1,
            result_ttl: Duration::from_secs(24 * 3600),
        }
    }

    /// The prefix of the stream, buckets and subjects.
    pub fn namespace(mut self, namespace: impl Into<String>) -> RemoteOptions {
        self.namespace = namespace.into();
        self
    }

    /// How long the server waits for a worker's sign of life.
    pub fn ack_wait(mut self, ack_wait: Duration) -> RemoteOptions {
        self.ack_wait = ack_wait;
        self
    }

    /// How many times a task is delivered at most.
    pub fn max_deliver(mut self, max_deliver: i64) -> RemoteOptions {
        self.max_deliver = max_deliver;
        self
    }

    /// How long results are kept. Fixed by whoever creates the namespace's
    /// stream and buckets first; later pools and workers keep that value.
    pub fn result_ttl(mut self, ttl: Duration) -> RemoteOptions {
        self.result_ttl = ttl;
        self
    }

    /// How long connecting may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> RemoteOptions {
        self.connect_timeout = timeout;
        self
    }

    /// How long one request to the server may take.
    pub fn request_timeout(mut self, timeout: Duration) -> RemoteOptions {
        self.request_timeout = timeout;
        self
    }

    /// The namespace, checked: it becomes part of names and subjects.
    pub(crate) fn checked_namespace(&self) -> Result<&str, RemoteError> {
        let bad = |reason| RemoteError::BadNamespace {
            namespace: crate::error::shorten(&self.namespace),
            reason,
        };
        check_name(&self.namespace).map_err(bad)?;
        Ok(&self.namespace)
    }
}

/// Settings of one remote task: `RemoteTaskOptions::default().id("x").timeout(d)`.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RemoteTaskOptions {
    /// The task's id (default: a random one). A task submitted again with
    /// the same id runs once: the second submit returns the first's handle.
    pub id: Option<String>,
    /// Stop the task once it has run this long on its worker.
    pub timeout: Option<Duration>,
}

impl RemoteTaskOptions {
    /// The task's id: 1 to 64 of `A-Z a-z 0-9 _ -`.
    pub fn id(mut self, id: impl Into<String>) -> RemoteTaskOptions {
        self.id = Some(id.into());
        self
    }

    /// Stop the task once it has run this long on its worker.
    pub fn timeout(mut self, timeout: Duration) -> RemoteTaskOptions {
        self.timeout = Some(timeout);
        self
    }
}

/// Whether `name` may be a task id or namespace: 1 to 64 of `A-Z a-z 0-9 _ -`
/// (safe in subjects, stream names and keys).
pub(crate) fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.len() > 64 {
        return Err("it is longer than 64 characters");
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err("only A-Z, a-z, 0-9, _ and - are allowed");
    }
    Ok(())
}

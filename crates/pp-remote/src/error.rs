//! [`RemoteError`]: every way a remote-pool call can fail, naming the value.

use std::time::Duration;

use pp_pool::{PoolError, TaskStatus};

/// Why a call on a remote pool or worker failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// The server could not be reached (or refused us).
    #[error("cannot reach the NATS server at {url}: {reason}")]
    Unreachable {
        /// The URL given.
        url: String,
        /// What the client said.
        reason: String,
    },
    /// A call did not finish in time (the server is slow or gone).
    #[error("{what} did not finish within {waited:?}")]
    Timeout {
        /// What was being done.
        what: &'static str,
        /// How long we waited.
        waited: Duration,
    },
    /// A stream of this name exists with a configuration pp cannot use.
    #[error("the JetStream stream {stream:?} exists with another configuration: {reason}")]
    WrongStream {
        /// The stream's name.
        stream: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server answered a request with an error.
    #[error("{what} failed: {reason}")]
    Server {
        /// What was being done.
        what: &'static str,
        /// The server's or client's message.
        reason: String,
    },
    /// No task with this id was submitted (or its records expired).
    #[error("no task with id {id:?} is known to the server (never submitted, or expired)")]
    UnknownTask {
        /// The id asked about.
        id: String,
    },
    /// A task id that cannot name a task.
    #[error("{id:?} is not a valid task id: {reason}")]
    BadTaskId {
        /// The id given (shortened if long).
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A namespace (the prefix of the stream's and buckets' names) that
    /// cannot name them.
    #[error("{namespace:?} is not a valid namespace: {reason}")]
    BadNamespace {
        /// The namespace given (shortened if long).
        namespace: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key that is missing or not 64 hexadecimal digits (or could not
    /// be generated).
    #[error("the remote pool's key {source_name} is unusable: {reason}")]
    BadKey {
        /// Where the key came from.
        source_name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The task finished without a value.
    #[error("task {id} ended {status:?}: {message}")]
    TaskFailed {
        /// The task's id.
        id: String,
        /// How it ended.
        status: TaskStatus,
        /// Why.
        message: String,
    },
    /// The stored value is not the type asked for.
    #[error("the result of task {id} is not a {expected}: {reason}")]
    WrongResultType {
        /// The task's id.
        id: String,
        /// The type asked for.
        expected: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// The stored outcome does not decode (someone else wrote it).
    #[error("the stored outcome of task {id} is not one pp wrote: {reason}")]
    CorruptOutcome {
        /// The task's id.
        id: String,
        /// What the decoder said.
        reason: String,
    },
    /// The argument could not be encoded.
    #[error("the argument of a task cannot be encoded: {reason}")]
    Encode {
        /// What the encoder said.
        reason: String,
    },
    /// This program's executable could not be read to identify it.
    #[error("cannot identify this program by its executable: {reason}")]
    Program {
        /// Why.
        reason: String,
    },
    /// The thread that owns the client has gone (a bug).
    #[error("the pp-remote client thread has gone")]
    ClientGone,
    /// The worker's local process pool failed.
    #[error(transparent)]
    Pool(#[from] PoolError),
}

/// `error` as a [`RemoteError::Server`] of `what`.
pub(crate) fn server(what: &'static str) -> impl FnOnce(&dyn std::fmt::Display) -> RemoteError {
    move |error| RemoteError::Server { what, reason: shorten(&error.to_string()) }
}

/// `text`, cut to a length fit for an error message.
pub(crate) fn shorten(text: &str) -> String {
    const LIMIT: usize = 200;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
        None => text.to_owned(),
    }
}

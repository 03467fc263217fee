//! The facade's one error type: the layers' errors, whole, plus the facade's own.

/// Everything that can go wrong through the facade.
///
/// The layers' errors are kept whole (match on `ManagerError::Process(pp_process::Error::Timeout { .. })`).
///
/// # Ids in errors
///
/// An id (or typecode) longer than 128 characters is echoed in an error as
/// its first 64 characters, `…` and its length in bytes, so a huge id from
/// outside never makes a huge error message or log line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManagerError {
    /// From pp-process: running or stopping a process.
    #[error(transparent)]
    Process(pp_process::Error),

    /// From pp-ipc: queues, values, events, locks.
    #[error(transparent)]
    Ipc(pp_ipc::Error),

    /// From pp-pool: creating or using a pool.
    #[error(transparent)]
    Pool(#[from] pp_pool::PoolError),

    /// From pp-pool: a task without a value (panicked, cancelled, timed out, …).
    #[error(transparent)]
    Task(#[from] pp_pool::TaskError),

    /// From pp-remote: a remote pool, or a task on one.
    #[error(transparent)]
    Remote(#[from] pp_remote::RemoteError),

    /// No object of this kind has this id (never created, or deleted). Every
    /// id in an error is [shortened](ManagerError#ids-in-errors).
    #[error("unknown {kind} id {id:?}")]
    NotFound {
        /// `"queue"`, `"shared value"`, `"event"`, `"lock"`, `"executor"`, `"task"`.
        kind: &'static str,
        /// The id.
        id: String,
    },

    /// An id that is not acceptable.
    #[error("invalid {kind} id {id:?}: {reason}")]
    InvalidId {
        /// What the id is for.
        kind: &'static str,
        /// The id as given (shortened).
        id: String,
        /// Why it was refused.
        reason: String,
    },

    /// A task's result was asked for as another type than the task returns.
    #[error("task {task_id} does not return {expected}")]
    WrongResultType {
        /// The task.
        task_id: String,
        /// The type asked for.
        expected: &'static str,
    },

    /// A shared-value typecode the seed does not define.
    #[error("unknown shared-value typecode {typecode:?}: use i, l, I, L, b or d")]
    InvalidTypecode {
        /// The typecode as given (shortened).
        typecode: String,
    },

    /// A value that a shared value of this type cannot hold.
    #[error("shared value {id:?} holds {holds}; cannot store {value}")]
    ValueDoesNotFit {
        /// The shared value's id.
        id: String,
        /// Its type.
        holds: &'static str,
        /// The value refused.
        value: String,
    },

    /// [`shutdown_on_interrupt`](crate::shutdown_on_interrupt) could not
    /// install its handler. The signals keep the action they had (the
    /// pipe and the thread come before any handler is registered).
    #[error("cannot install the interrupt handler: {step} failed: {source}")]
    InterruptHandler {
        /// What failed: registering the SIGINT, SIGTERM and SIGHUP handlers,
        /// or starting the thread that acts on them.
        step: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl ManagerError {
    /// `NotFound` for `id` (shortened).
    pub(crate) fn not_found(kind: &'static str, id: &str) -> Self {
        ManagerError::NotFound { kind, id: shorten(id) }
    }

    /// `InvalidId` for `id` (shortened).
    pub(crate) fn invalid_id(kind: &'static str, id: &str, reason: impl Into<String>) -> Self {
        ManagerError::InvalidId { kind, id: shorten(id), reason: reason.into() }
    }
}

// pp-ipc and pp-process shorten the ids they echo themselves.
impl From<pp_ipc::Error> for ManagerError {
    fn from(e: pp_ipc::Error) -> Self {
        ManagerError::Ipc(e)
    }
}

impl From<pp_process::Error> for ManagerError {
    fn from(e: pp_process::Error) -> Self {
        ManagerError::Process(e)
    }
}

/// Ids up to this many characters are echoed whole in errors.
const ECHO_WHOLE: usize = 128;
/// How many leading characters of a longer id are echoed.
const ECHO_HEAD: usize = 64;

/// `id` as errors echo it: whole if short, else its first characters, `…`
/// and its length, so a 1 MB id does not make a 1 MB message.
pub(crate) fn shorten(id: &str) -> String {
    if id.chars().nth(ECHO_WHOLE).is_none() {
        return id.to_owned();
    }
    let head: String = id.chars().take(ECHO_HEAD).collect();
    format!("{head}…({} bytes)", id.len())
}

/// `Result` with the facade's [`ManagerError`].
pub type Result<T, E = ManagerError> = std::result::Result<T, E>;

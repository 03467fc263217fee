//! The facade's one error type: the layers' errors, whole, plus the facade's own.

/// Everything that can go wrong through the facade.
///
/// The layers' errors are kept whole (match on `ManagerError::Process(pp_process::Error::Timeout { .. })`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManagerError {
    /// From pp-process: running or stopping a process.
    #[error(transparent)]
    Process(#[from] pp_process::Error),

    /// From pp-ipc: queues, values, events, locks.
    #[error(transparent)]
    Ipc(pp_ipc::Error),

    /// From pp-pool: creating or using a pool.
    #[error(transparent)]
    Pool(#[from] pp_pool::PoolError),

    /// From pp-pool: a task without a value (panicked, cancelled, timed out, …).
    #[error(transparent)]
    Task(#[from] pp_pool::TaskError),

    /// No object of this kind has this id (never created, or deleted).
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
        /// The id as given.
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
        /// The typecode as given.
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
}

impl From<pp_ipc::Error> for ManagerError {
    fn from(e: pp_ipc::Error) -> Self {
        ManagerError::Ipc(e)
    }
}

/// `Result` with the facade's [`ManagerError`].
pub type Result<T, E = ManagerError> = std::result::Result<T, E>;

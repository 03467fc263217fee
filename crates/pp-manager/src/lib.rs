//! The ProcessManager facade: PyProcessor's process-management API in Rust, with ids that work across processes.
//!
//! Every function of the seed exists under its own name, as a method of
//! [`ProcessManager`] and as a free function forwarding to the process-wide
//! manager ([`get_process_manager`]). The layers stay reachable:
//! [`process`] (pp-process), [`pool`] (pp-pool), [`ipc`] (pp-ipc), [`remote`] (pp-remote).
//!
//! # Map
//! - Processes: [`run_process`], [`run_process_async`], [`get_process_status`],
//!   [`terminate_process`], [`list_processes`], [`cleanup_processes`],
//!   [`terminate_all_processes`]; records [`ProcessResult`], [`ProcessRecord`].
//! - Pools and tasks: [`create_process_pool`], [`create_thread_pool`],
//!   [`get_default_process_pool`], [`get_default_thread_pool`],
//!   [`submit_task`], [`get_task_result`], [`get_task_status`],
//!   [`cancel_task`], [`cleanup_tasks`], [`shutdown_executor`], [`list_executors`]; records
//!   [`TaskRecord`], [`ExecutorInfo`]. Process pools need [`init`] first in `main`.
//! - More than one machine: [`create_remote_pool`] (a [`pp_remote`] pool on
//!   a NATS JetStream server, key in `PP_REMOTE_KEY`); then the same task
//!   functions. [`init`] also makes `program --pp-remote-worker URL` a worker.
//! - Queues: [`create_queue`], [`put_queue_item`], [`get_queue_item`],
//!   [`get_queue_size`], [`is_queue_empty`], [`is_queue_full`],
//!   [`clear_queue`], [`delete_queue`], [`list_queues`].
//! - Shared values: [`create_shared_value`] (typecodes `i`, `l`, `I`, `L`,
//!   `b`, `d`), [`create_shared_value_typed`], [`get_shared_value`],
//!   [`set_shared_value`], [`add_shared_value`]; values are [`Scalar`]s.
//! - Events: [`create_event`], [`set_event`], [`clear_event`],
//!   [`wait_for_event`], [`is_event_set`].
//! - Locks: [`create_lock`], [`acquire_lock`], [`release_lock`],
//!   [`lock_context`] ([`ManagedLockGuard`]).
//! - Ids ([`ProcessId`], [`ExecutorId`], [`TaskId`], [`QueueId`], [`ValueId`],
//!   [`EventId`], [`LockId`]) print and parse as strings; IPC ids work in any
//!   process of the same user. [`ManagerError`] wraps the layers' errors whole.
//! - From async code: [`asynchronous`] (`run_process`, `get_task_result`,
//!   `take_task_result`, awaited) and [`ProcessManager::asynchronous`]; any
//!   executor, no thread per pending call.
//! - [`shutdown`]: stops pools, terminates processes, removes owned IPC objects.
//!   [`shutdown_on_interrupt`] (opt-in) does that on Ctrl-C, SIGTERM or SIGHUP,
//!   then ends the program by that signal.
//!
//! The guide, [`guide`], is the seed's document rewritten for Rust; its
//! examples are compiled and run as tests.

// reason: the guide's examples show what goes at the top of `main`.
#![allow(clippy::needless_doctest_main)]

pub mod asynchronous;
mod error;
mod global;
mod ids;
mod interrupt;
mod manager;
mod records;
mod registry;
mod status;
mod typecode;
mod values;

/// The README's example, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
mod readme {}

#[doc = include_str!("../../../docs/process-management.md")]
pub mod guide {}

pub use error::{ManagerError, Result};
pub use global::*;
pub use ids::{EventId, ExecutorId, LockId, ProcessId, QueueId, TaskId, TypedTaskId, ValueId};
pub use interrupt::shutdown_on_interrupt;
pub use manager::{Asynchronous, ManagedLockGuard, ProcessManager, TAKEN_TASKS_KEPT};
pub use records::{ExecutorInfo, ProcessRecord, ProcessResult, Scalar, TaskRecord};
pub use status::{ContainmentKind, ExecutorKind, ProcessState, TaskState};

#[doc(inline)]
pub use pp_ipc as ipc;
#[doc(inline)]
pub use pp_pool as pool;
#[doc(inline)]
pub use pp_process as process;
#[doc(inline)]
pub use pp_process::Command;
#[doc(inline)]
pub use pp_remote as remote;

/// What most programs need: the free functions, ids, records and `Command`.
pub mod prelude {
    pub use crate::global::*;
    pub use crate::{
        Command, EventId, ExecutorId, ExecutorInfo, LockId, ManagerError, ProcessId,
        ProcessManager, ProcessRecord, ProcessResult, ProcessState, QueueId, Scalar, TaskId,
        TaskRecord, TaskState, TypedTaskId, ValueId, init, shutdown_on_interrupt,
    };
}

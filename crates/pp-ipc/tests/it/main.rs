//! Integration tests of pp-ipc across real processes: a helper process opens
//! each object by id and uses it. The helper is this binary again, running
//! only the hidden test `helper::role` (see `helper.rs`), so pp-ipc ships no
//! test binary of its own.

mod asynchronous;
mod batch;
mod errors;
mod fuzz;
mod helper;
mod hostile;
mod idle;
mod objects;
mod pipe;
mod queue;
mod support;
mod waiting;

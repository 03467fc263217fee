//! Integration tests of pp-ipc across real processes: a helper binary opens
//! each object by id and uses it.

mod errors;
mod fuzz;
mod hostile;
mod objects;
mod pipe;
mod queue;
mod structure;
mod support;
mod waiting;

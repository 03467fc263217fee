//! Tests of the `pp` binary: each runs the built binary, most beside GNU
//! parallel (`parallel --will-cite`), with a watchdog against hangs.

mod errors;
mod gnu;
mod ipc;
mod joblog;
mod run;
mod support;

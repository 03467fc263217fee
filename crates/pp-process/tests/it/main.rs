//! Integration tests of pp-process against real processes.
//!
//! Tests that count process-wide things (descriptors, zombies, threads) re-run
//! themselves alone in a child test process (see [`support::isolated`]), so
//! tests running beside them in this binary cannot disturb the count.

mod asynchronous;
mod containment;
mod errors;
mod extremes;
mod hygiene;
mod io;
mod lifecycle;
mod passed_fds;
mod streams;
mod support;
mod table;
mod waiting;

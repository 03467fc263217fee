//! Workspace-level tests: the README's commands, CI, the layout they rely on,
//! and the runner of the `harness = false` test binaries.

mod readme;
mod runner;

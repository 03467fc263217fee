//! Workspace-level tests: the README's commands, CI, and the layout they rely on.

mod readme;

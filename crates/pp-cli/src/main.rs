//! `pp`, the command-line tool on top of pp's layers.
//!
//! # Map
//! - `cli.rs` — the arguments (clap derive; its doc comments are `--help`).
//! - `duration.rs` — durations as the options take them (`1.5s`, `500ms`, bare seconds).
//! - `signals.rs` — SIGINT/SIGTERM/SIGHUP turned into "stop the trees".
//! - `run.rs` — `pp run`: one command, its exit code passed on.
//! - `parallel/` — `pp parallel`: inputs, the command template and its
//!   quoting, the workers, output, the job log, `--halt`, the summary.
//! - `ipc.rs` — `pp ipc ls|rm|sweep`.
//! - `sys.rs` — handing the terminal to `pp run`'s command (all of pp-cli's `unsafe`).

mod cli;
mod duration;
mod ipc;
mod parallel;
mod run;
mod say;
mod signals;
mod sys;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => run::main(args),
        Command::Parallel(args) => parallel::main(args),
        Command::Ipc(command) => ipc::main(command),
    };
    ExitCode::from(code)
}

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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(usage_error_code(&error));
        }
    };
    let code = match cli.command {
        Command::Run(args) => run::main(args),
        Command::Parallel(args) => parallel::main(args),
        Command::Ipc(command) => ipc::main(command),
    };
    ExitCode::from(code)
}

/// The exit code of a command line clap refused (or of `--help`, 0): 2, as
/// clap has it, except for `pp run`, which passes its command's code on and
/// so keeps 125 for its own failures (as `timeout` and `env` do): a script
/// cannot mistake a usage error for the command's own exit 2.
fn usage_error_code(error: &clap::Error) -> u8 {
    let code = u8::try_from(error.exit_code()).unwrap_or(2);
    let is_run = std::env::args_os().nth(1).is_some_and(|first| first == "run");
    if code != 0 && is_run { run::PP_FAILED } else { code }
}

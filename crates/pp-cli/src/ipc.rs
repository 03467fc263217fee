//! `pp ipc`: pp's named objects on this machine.

use crate::cli::IpcCommand;

/// Runs `pp ipc …` and returns its exit code.
pub(crate) fn main(_command: IpcCommand) -> u8 {
    eprintln!("pp ipc: not implemented yet");
    1
}

//! The pipe ends a caller takes from a running process
//! ([`Input::Piped`](crate::Input::Piped), [`Output::Piped`](crate::Output::Piped)):
//! held for the process's handles until one takes them
//! ([`ProcessHandle::take_stdin`](crate::ProcessHandle::take_stdin) and the like).

use std::fs::File;
use std::sync::{Mutex, PoisonError};

use crate::reader::OutputReader;
use crate::writer::StdinWriter;

const STDIN: usize = 0;
const STDOUT: usize = 1;
const STDERR: usize = 2;

/// The caller's ends of a process's piped streams (stdin, stdout, stderr),
/// non-blocking, until taken. Shared by every clone of its handles only
/// (not by the event loop), so once every handle is gone an end nobody
/// took is closed and the child cannot block on it forever.
#[derive(Debug, Default)]
pub(crate) struct CallerPipes {
    ends: Mutex<[Option<File>; 3]>,
}

impl CallerPipes {
    pub(crate) fn new(stdin: Option<File>, stdout: Option<File>, stderr: Option<File>) -> Self {
        CallerPipes { ends: Mutex::new([stdin, stdout, stderr]) }
    }

    /// Closes the ends nobody took: for a process nobody can take them
    /// from (a blocking or awaited run), so the child sees end of file on
    /// its stdin and `EPIPE` (or `SIGPIPE`) on its output instead of waiting forever.
    pub(crate) fn close(&self) {
        let ends = std::mem::take(&mut *self.ends.lock().unwrap_or_else(PoisonError::into_inner));
        drop(ends);
    }

    /// Closes the stdin end if nobody took it: a wait that lasts as long as
    /// it takes would otherwise wait for a child that waits for input.
    pub(crate) fn close_untaken_stdin(&self) {
        drop(self.take(STDIN));
    }

    fn take(&self, which: usize) -> Option<File> {
        // Each change is one `take`: a panic elsewhere cannot leave it half-done.
        self.ends.lock().unwrap_or_else(PoisonError::into_inner)[which].take()
    }

    pub(crate) fn take_stdin(&self) -> Option<StdinWriter> {
        self.take(STDIN).map(StdinWriter::new)
    }

    pub(crate) fn take_stdout(&self) -> Option<OutputReader> {
        self.take(STDOUT).map(OutputReader::new)
    }

    pub(crate) fn take_stderr(&self) -> Option<OutputReader> {
        self.take(STDERR).map(OutputReader::new)
    }
}

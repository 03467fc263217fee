//! [`OutputReader`]: a child's stdout or stderr, read while it runs
//! ([`Output::Piped`](crate::Output::Piped)).
//!
//! The reader owns the read end of the pipe and reads it itself, so the
//! kernel's pipe buffer (64 KiB by default) is all that sits between child
//! and caller: a slow reader slows the child (its writes block), pp keeps
//! nothing and drops nothing, and no thread of pp ever waits for the caller.

use std::fs::File;
use std::future::Future;
use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::readiness::Watch;
use crate::sys::{self, Direction};

/// The most bytes one chunk holds (one read of the pipe).
const CHUNK: usize = 64 * 1024;

/// What reading an [`OutputReader`] gave.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Chunk {
    /// The bytes the child wrote next (never empty), in the order written.
    Bytes(Vec<u8>),
    /// End of the stream: every writer (the child and its descendants) has
    /// closed it. Reading again gives `End` again.
    End,
}

/// A child's stdout or stderr as it is written: taken from a running
/// process with [`ProcessHandle::take_stdout`](crate::ProcessHandle::take_stdout)
/// or [`take_stderr`](crate::ProcessHandle::take_stderr) when the command
/// chose [`Output::Piped`](crate::Output::Piped).
///
/// Read it by chunks ([`next_chunk`](Self::next_chunk) blocks,
/// [`try_next_chunk`](Self::try_next_chunk) does not,
/// [`next_chunk_timeout`](Self::next_chunk_timeout),
/// [`next_chunk_deadline`](Self::next_chunk_deadline), and
/// [`next_chunk_async`](Self::next_chunk_async) from async code on any
/// executor), by lines ([`lines`](Self::lines)), or as a [`std::io::Read`]
/// (with the `tokio` feature, also a `tokio::io::AsyncRead`).
///
/// Back-pressure, not buffering: pp holds none of the stream. While the
/// pipe is full the child's writes wait, so reading slowly slows the child
/// and memory stays bounded; the child is never stopped or fed an error for
/// it. Dropping the reader closes the pipe: the child's next write fails
/// with `EPIPE` (or `SIGPIPE` kills it), so it cannot hang on a reader
/// that is gone. A command's [`timeout`](crate::Command::timeout) and
/// [`terminate`](crate::ProcessHandle::terminate) work as for any process.
#[derive(Debug)]
pub struct OutputReader {
    pipe: File,
    /// Read into this, then copied out as a chunk of the size read; made
    /// on the first chunk read (a reader used through `io::Read` or
    /// `lines()` never needs it).
    scratch: Vec<u8>,
    /// Where async reads leave their waker.
    watch: Watch,
}

impl OutputReader {
    /// `pipe` must be the non-blocking read end of the child's stream.
    pub(crate) fn new(pipe: File) -> OutputReader {
        OutputReader { pipe, scratch: Vec::new(), watch: Watch::default() }
    }

    /// The next chunk, waiting as long as it takes.
    pub fn next_chunk(&mut self) -> io::Result<Chunk> {
        loop {
            if let Some(chunk) = self.try_next_chunk()? {
                return Ok(chunk);
            }
            sys::wait_ready(&self.pipe, Direction::Read, None)?;
        }
    }

    /// The next chunk if one is there now; `Ok(None)` when the child has
    /// written nothing new yet.
    pub fn try_next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        if self.scratch.is_empty() {
            self.scratch = vec![0; CHUNK];
        }
        Ok(read_now(&self.pipe, &mut self.scratch)?.map(|n| match n {
            0 => Chunk::End,
            n => Chunk::Bytes(self.scratch[..n].to_vec()),
        }))
    }

    /// Like [`next_chunk`](Self::next_chunk), giving up after `limit`:
    /// `Ok(None)` if nothing came. A limit too large to add to a clock
    /// reading waits as long as it takes.
    pub fn next_chunk_timeout(&mut self, limit: Duration) -> io::Result<Option<Chunk>> {
        match Instant::now().checked_add(limit) {
            Some(deadline) => self.next_chunk_deadline(deadline),
            None => self.next_chunk().map(Some),
        }
    }

    /// Like [`next_chunk`](Self::next_chunk), giving up at `deadline`:
    /// `Ok(None)` if nothing came.
    pub fn next_chunk_deadline(&mut self, deadline: Instant) -> io::Result<Option<Chunk>> {
        loop {
            if let Some(chunk) = self.try_next_chunk()? {
                return Ok(Some(chunk));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            sys::wait_ready(&self.pipe, Direction::Read, Some(deadline - now))?;
        }
    }

    /// The next chunk, from async code: the form of
    /// [`next_chunk`](Self::next_chunk) that yields instead of blocking,
    /// on any executor. No thread waits per reader: one pp thread
    /// (`pp-process-io`, shared by every pipe) wakes the task when the pipe
    /// has data. Dropping the future cancels the read; nothing is lost.
    pub fn next_chunk_async(&mut self) -> NextChunk<'_> {
        NextChunk { reader: self }
    }

    /// The stream as lines (split at `\n`, which is removed), each as
    /// read: blocking, the iterator ends at the end of the stream. Bytes
    /// that are not UTF-8 are an `InvalidData` error; read chunks for
    /// binary output.
    pub fn lines(self) -> io::Lines<BufReader<OutputReader>> {
        BufReader::with_capacity(CHUNK, self).lines()
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Chunk>> {
        match self.try_next_chunk() {
            Ok(Some(chunk)) => Poll::Ready(Ok(chunk)),
            Ok(None) => match self.watch.arm(&self.pipe, Direction::Read, cx.waker()) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

/// Reads what is there now: `Ok(None)` if nothing is, `Ok(Some(0))` at the end.
pub(crate) fn read_now(mut pipe: &File, buf: &mut [u8]) -> io::Result<Option<usize>> {
    loop {
        match pipe.read(buf) {
            Ok(n) => return Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e),
        }
    }
}

/// Blocking reads (the pipe itself is non-blocking: the other forms need it).
impl Read for OutputReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(n) = read_now(&self.pipe, buf)? {
                return Ok(n);
            }
            sys::wait_ready(&self.pipe, Direction::Read, None)?;
        }
    }
}

impl AsFd for OutputReader {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.pipe.as_fd()
    }
}

impl Drop for OutputReader {
    fn drop(&mut self) {
        self.watch.forget(&self.pipe);
    }
}

/// Waits for the next chunk of an [`OutputReader`]: made by
/// [`OutputReader::next_chunk_async`].
#[must_use = "a future does nothing unless awaited"]
#[derive(Debug)]
pub struct NextChunk<'a> {
    reader: &'a mut OutputReader,
}

impl Future for NextChunk<'_> {
    type Output = io::Result<Chunk>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().reader.poll_chunk(cx)
    }
}

#[cfg(feature = "tokio")]
impl tokio::io::AsyncRead for OutputReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // Only what one read can fill is zeroed: a large spare capacity
        // would be zeroed again on every call otherwise.
        let unfilled = buf.initialize_unfilled_to(buf.remaining().min(CHUNK));
        match read_now(&this.pipe, unfilled) {
            Ok(Some(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Ok(None) => match this.watch.arm(&this.pipe, Direction::Read, cx.waker()) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

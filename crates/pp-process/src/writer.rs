//! [`StdinWriter`]: a child's stdin, written while it runs
//! ([`Input::Piped`](crate::Input::Piped)).

use std::fs::File;
use std::future::Future;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::readiness::Watch;
use crate::sys::{self, Direction};

/// A running child's stdin: taken with
/// [`ProcessHandle::take_stdin`](crate::ProcessHandle::take_stdin) when the
/// command chose [`Input::Piped`](crate::Input::Piped).
///
/// A [`std::io::Write`] whose writes wait while the pipe is full (the child
/// reads slowly); [`write_all_async`](Self::write_all_async) writes from
/// async code on any executor (with the `tokio` feature, it is also a
/// `tokio::io::AsyncWrite`). Nothing is buffered in between, so
/// [`flush`](Write::flush) has nothing to do. Dropping the writer closes
/// the pipe: the child reads end of file. A write after the child closed
/// its stdin (or exited) fails with [`io::ErrorKind::BrokenPipe`], also in
/// a program that does not ignore `SIGPIPE` (pp blocks it around its
/// writes, so it cannot kill the program).
#[derive(Debug)]
pub struct StdinWriter {
    pipe: File,
    /// Where async writes leave their waker.
    watch: Watch,
}

impl StdinWriter {
    /// `pipe` must be the non-blocking write end of the child's stdin.
    pub(crate) fn new(pipe: File) -> StdinWriter {
        StdinWriter { pipe, watch: Watch::default() }
    }

    /// Writes all of `bytes`, from async code: yields while the pipe is
    /// full, on any executor (one pp thread, shared by every pipe, wakes
    /// the task). Dropping the future part-way leaves an unknown prefix of
    /// `bytes` written.
    pub fn write_all_async<'a>(&'a mut self, bytes: &'a [u8]) -> WriteAll<'a> {
        WriteAll { writer: self, bytes }
    }

    /// Closes the child's stdin (what dropping the writer does): the child
    /// reads end of file.
    pub fn close(self) {}

    fn poll_write_some(&mut self, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        match write_now(&self.pipe, bytes) {
            Ok(Some(n)) => Poll::Ready(Ok(n)),
            Ok(None) => match self.watch.arm(&self.pipe, Direction::Write, cx.waker()) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

/// Writes what fits now: `Ok(None)` if the pipe is full.
fn write_now(mut pipe: &File, bytes: &[u8]) -> io::Result<Option<usize>> {
    loop {
        // A child that closed its stdin is `BrokenPipe`, not a SIGPIPE that
        // would kill a program which does not ignore it.
        match sys::sigpipe::without_sigpipe(|| pipe.write(bytes)) {
            Ok(n) => return Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e),
        }
    }
}

/// Blocking writes (the pipe itself is non-blocking: the async forms need it).
impl Write for StdinWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if bytes.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(n) = write_now(&self.pipe, bytes)? {
                return Ok(n);
            }
            sys::wait_ready(&self.pipe, Direction::Write, None)?;
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsFd for StdinWriter {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.pipe.as_fd()
    }
}

impl Drop for StdinWriter {
    fn drop(&mut self) {
        self.watch.forget(&self.pipe);
    }
}

/// Writes all of a buffer to a child's stdin: made by
/// [`StdinWriter::write_all_async`].
#[must_use = "a future does nothing unless awaited"]
#[derive(Debug)]
pub struct WriteAll<'a> {
    writer: &'a mut StdinWriter,
    bytes: &'a [u8],
}

impl Future for WriteAll<'_> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        while !this.bytes.is_empty() {
            match this.writer.poll_write_some(cx, this.bytes) {
                Poll::Ready(Ok(n)) => this.bytes = &this.bytes[n..],
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

#[cfg(feature = "tokio")]
impl tokio::io::AsyncWrite for StdinWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        if bytes.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.get_mut().poll_write_some(cx, bytes)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Nothing to flush; the pipe closes when the writer is dropped.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

//! The pool ↔ worker transport: the two ends of one connected, unnamed Unix
//! stream socket pair, carrying frames (a u32 little-endian length, then that
//! many bytes of postcard).
//!
//! The pair has no name anywhere (no file system path, no abstract address),
//! so no other process can connect to it: the pool creates it, keeps one end,
//! and the worker inherits the other at a descriptor number named in
//! `PP_POOL_WORKER` (see [`crate::sys`]). Each side checks who is at the far end:
//! - the worker: its end is a Unix stream socket whose creator (`SO_PEERCRED`,
//!   which for a socket pair names the process that made the pair) is its
//!   parent, the pool, and of our uid;
//! - the pool: `SO_PEERCRED` cannot tell (both ends name the pool), so it turns
//!   on `SO_PASSCRED` before the worker starts, and every byte of the worker's
//!   handshake answer must carry kernel-attached credentials (`SCM_CREDENTIALS`)
//!   naming the pid of the child it spawned.
//!
//! The reader refuses frames longer than the limit ([`FrameError::TooLarge`],
//! before allocating anything) and bytes that do not decode as the expected
//! message ([`FrameError::Garbage`]); after either the stream is not used again.

use std::io::{self, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The largest message between pool and worker (arguments and results).
pub(crate) const MAX_MESSAGE: usize = 1 << 30;
const PREFIX: usize = 4;
/// Messages up to this size go out with their prefix in one write.
const SMALL_MESSAGE: usize = 64 * 1024;
/// The most one read takes from the socket.
const READ_CHUNK: usize = 64 * 1024;

/// Why a frame between a pool and a worker could not be sent or received.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The other end closed the connection (the worker or the pool exited).
    #[error("the connection was closed by the other end")]
    Closed,
    /// Nothing arrived in time.
    #[error("no message within {waited:?}")]
    Timeout {
        /// How long we waited.
        waited: Duration,
    },
    /// A frame announced (or a message needed) more bytes than allowed.
    #[error("a frame of {size} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// The announced or needed size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A frame's bytes are not a valid message.
    #[error("a frame of {size} bytes is not a valid {expected}: {reason}")]
    Garbage {
        /// The frame's size.
        size: usize,
        /// The message type expected.
        expected: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// Bytes came from a process other than the one expected.
    #[error("bytes came from pid {found:?}, not from pid {expected}")]
    WrongSender {
        /// The pid that should have sent them.
        expected: u32,
        /// The pid that did (`None`: the kernel attached no credentials).
        found: Option<u32>,
    },
    /// A system call failed.
    #[error("{what}: {source}")]
    Io {
        /// What we were doing.
        what: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
}

fn io_error(what: &'static str) -> impl FnOnce(io::Error) -> FrameError {
    move |source| match source.kind() {
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => FrameError::Closed,
        _ => FrameError::Io { what, source },
    }
}

/// A deadline `wait` from now; `None` (no deadline) if it does not fit in an
/// `Instant` (`Duration::MAX` and friends mean "forever", never a panic).
pub(crate) fn deadline_after(wait: Duration) -> Option<Instant> {
    Instant::now().checked_add(wait)
}

/// One end of a pool ↔ worker connection.
#[derive(Debug)]
pub(crate) struct Channel {
    stream: UnixStream,
    /// Bytes received but not yet returned (a partial frame survives a timeout).
    pending: Vec<u8>,
    /// While set, every byte read must carry credentials of this pid.
    sender: Option<u32>,
    /// Where reads land, zeroed once: a fresh 64 KiB buffer per read cost
    /// a memset of it per message.
    scratch: Box<[u8]>,
}

/// A new socket pair: (the pool's end, the worker's end), both close-on-exec.
/// The worker's end is never one of the standard descriptors 0–2 (the child's
/// stdio setup would overwrite it); the pool's end has `SO_PASSCRED` on, so
/// the worker's handshake can be checked with [`Channel::expect_sender`].
pub(crate) fn pair() -> io::Result<(Channel, OwnedFd)> {
    let (ours, theirs) = UnixStream::pair()?; // SOCK_CLOEXEC on both ends
    let theirs = OwnedFd::from(theirs);
    let theirs =
        if theirs.as_raw_fd() < 3 { rustix::io::fcntl_dupfd_cloexec(&theirs, 3)? } else { theirs };
    rustix::net::sockopt::set_socket_passcred(&ours, true)?;
    Ok((Channel::new(ours), theirs))
}

impl Channel {
    pub(crate) fn new(stream: UnixStream) -> Channel {
        Channel { stream, pending: Vec::new(), sender: None, scratch: vec![0; READ_CHUNK].into() }
    }

    /// From now on, accept bytes only with kernel-attached credentials of
    /// `pid` (needs `SO_PASSCRED`, which [`pair`] turned on).
    pub(crate) fn expect_sender(&mut self, pid: u32) {
        self.sender = Some(pid);
    }

    /// Stops checking credentials (after the handshake).
    pub(crate) fn trust_sender(&mut self) -> Result<(), FrameError> {
        self.sender = None;
        rustix::net::sockopt::set_socket_passcred(&self.stream, false)
            .map_err(|e| FrameError::Io { what: "turning SO_PASSCRED off", source: e.into() })
    }

    /// Sends one message.
    pub(crate) fn send<T: Serialize>(&mut self, message: &T) -> Result<(), FrameError> {
        let bytes = postcard::to_allocvec(message).map_err(|e| FrameError::Garbage {
            size: 0,
            expected: std::any::type_name::<T>(),
            reason: e.to_string(),
        })?;
        self.send_bytes(&bytes)
    }

    fn send_bytes(&mut self, message: &[u8]) -> Result<(), FrameError> {
        if message.len() > MAX_MESSAGE {
            return Err(FrameError::TooLarge { size: message.len(), limit: MAX_MESSAGE });
        }
        let prefix = (message.len() as u32).to_le_bytes();
        let sent = if message.len() <= SMALL_MESSAGE {
            // One write, so the peer wakes once per message.
            let mut frame = Vec::with_capacity(PREFIX + message.len());
            frame.extend_from_slice(&prefix);
            frame.extend_from_slice(message);
            self.stream.write_all(&frame)
        } else {
            self.stream.write_all(&prefix).and_then(|()| self.stream.write_all(message))
        };
        sent.map_err(io_error("sending"))
    }

    /// Receives one message, waiting at most `wait` (`None`: forever; a
    /// `wait` too large for a deadline is forever too). A frame cut by the
    /// timeout is kept and completed by the next call.
    pub(crate) fn recv<T: DeserializeOwned>(
        &mut self,
        wait: Option<Duration>,
    ) -> Result<T, FrameError> {
        let started = Instant::now();
        let deadline = wait.and_then(deadline_after);
        let patience = deadline.map_or(Patience::Forever, Patience::Until);
        match self.recv_with(patience, None)? {
            Received::Message(message) => Ok(message),
            // What the wait really lasted (a forever wait never gets here).
            Received::Deadline | Received::Alarm => {
                Err(FrameError::Timeout { waited: started.elapsed() })
            }
        }
    }

    /// The next message if one is complete already, without waiting.
    pub(crate) fn try_recv<T: DeserializeOwned>(&mut self) -> Result<Option<T>, FrameError> {
        match self.recv_with(Patience::None, None)? {
            Received::Message(message) => Ok(Some(message)),
            Received::Deadline | Received::Alarm => Ok(None),
        }
    }

    /// Receives one message, waiting until `deadline` (`None`: no deadline)
    /// or until `alarm` is readable, whichever comes first. Bytes from the
    /// other end win over the alarm: a message (or the end of file) already
    /// there is returned even when the alarm rang too.
    pub(crate) fn recv_until<T: DeserializeOwned>(
        &mut self,
        deadline: Option<Instant>,
        alarm: BorrowedFd<'_>,
    ) -> Result<Received<T>, FrameError> {
        let patience = deadline.map_or(Patience::Forever, Patience::Until);
        self.recv_with(patience, Some(alarm))
    }

    fn recv_with<T: DeserializeOwned>(
        &mut self,
        patience: Patience,
        alarm: Option<BorrowedFd<'_>>,
    ) -> Result<Received<T>, FrameError> {
        let frame = match self.recv_frame(patience, alarm)? {
            Received::Message(frame) => frame,
            Received::Deadline => return Ok(Received::Deadline),
            Received::Alarm => return Ok(Received::Alarm),
        };
        postcard::from_bytes(&frame).map(Received::Message).map_err(|e| FrameError::Garbage {
            size: frame.len(),
            expected: std::any::type_name::<T>(),
            reason: e.to_string(),
        })
    }

    fn recv_frame(
        &mut self,
        patience: Patience,
        alarm: Option<BorrowedFd<'_>>,
    ) -> Result<Received<Vec<u8>>, FrameError> {
        loop {
            if self.pending.len() >= PREFIX {
                let mut prefix = [0u8; PREFIX];
                prefix.copy_from_slice(&self.pending[..PREFIX]);
                let size = u32::from_le_bytes(prefix) as usize;
                if size > MAX_MESSAGE {
                    return Err(FrameError::TooLarge { size, limit: MAX_MESSAGE });
                }
                if self.pending.len() >= PREFIX + size {
                    let message = self.pending[PREFIX..PREFIX + size].to_vec();
                    self.pending.drain(..PREFIX + size);
                    return Ok(Received::Message(message));
                }
            }
            match wait_readable(&self.stream, alarm, patience)
                .map_err(|e| FrameError::Io { what: "waiting for a message", source: e })?
            {
                Readiness::Readable => {}
                Readiness::Deadline => return Ok(Received::Deadline),
                Readiness::Alarm => return Ok(Received::Alarm),
            }
            let read = match self.sender {
                None => self.stream.read(&mut self.scratch),
                Some(pid) => read_from(&self.stream, &mut self.scratch, pid)?,
            };
            match read {
                Ok(0) => return Err(FrameError::Closed),
                Ok(n) => self.pending.extend_from_slice(&self.scratch[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error("receiving")(e)),
            }
        }
    }
}

/// How long a receive may wait for bytes.
#[derive(Clone, Copy, Debug)]
enum Patience {
    /// Not at all.
    None,
    /// Until this instant.
    Until(Instant),
    /// As long as it takes.
    Forever,
}

/// What a wait for a message ended with.
#[derive(Debug)]
pub(crate) enum Received<T> {
    /// A whole message.
    Message(T),
    /// The deadline passed first.
    Deadline,
    /// The alarm rang first (and nothing was there to read).
    Alarm,
}

/// Reads what is there, checking the kernel-attached credentials name `pid`.
fn read_from(
    stream: &UnixStream,
    buf: &mut [u8],
    pid: u32,
) -> Result<io::Result<usize>, FrameError> {
    use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, recvmsg};
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmCredentials(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let received = match recvmsg(
        stream.as_fd(),
        &mut [IoSliceMut::new(buf)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    ) {
        Ok(received) => received,
        Err(e) => return Ok(Err(e.into())),
    };
    if received.bytes == 0 {
        return Ok(Ok(0)); // end of file carries no credentials
    }
    let mut found = None;
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmCredentials(cred) = message {
            found = Some(cred.pid.as_raw_nonzero().get() as u32);
        }
    }
    if found != Some(pid) {
        return Err(FrameError::WrongSender { expected: pid, found });
    }
    Ok(Ok(received.bytes))
}

/// What woke a wait for bytes.
enum Readiness {
    /// The socket has bytes (or its end of file).
    Readable,
    Deadline,
    Alarm,
}

/// Waits until `fd` is readable (or closed), `alarm` is readable, or the
/// patience runs out; `fd` wins when both are ready.
fn wait_readable(
    fd: impl AsFd,
    alarm: Option<BorrowedFd<'_>>,
    patience: Patience,
) -> io::Result<Readiness> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    loop {
        let timeout = match patience {
            Patience::None => Some(Duration::ZERO),
            Patience::Until(deadline) => Some(deadline.saturating_duration_since(Instant::now())),
            Patience::Forever => None,
        }
        .map(|left| Timespec {
            tv_sec: left.as_secs().min(i64::MAX as u64) as _,
            tv_nsec: left.subsec_nanos() as _,
        });
        let mut fds = [PollFd::new(&fd, PollFlags::IN), PollFd::new(&fd, PollFlags::IN)];
        if let Some(alarm) = &alarm {
            fds[1] = PollFd::new(alarm, PollFlags::IN);
        }
        let watched = if alarm.is_some() { 2 } else { 1 };
        match poll(&mut fds[..watched], timeout.as_ref()) {
            Ok(0) => return Ok(Readiness::Deadline),
            Ok(_) if !fds[0].revents().is_empty() => return Ok(Readiness::Readable),
            Ok(_) => return Ok(Readiness::Alarm),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connected() -> (Channel, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        (Channel::new(a), b)
    }

    #[test]
    fn the_frame_reader_refuses_oversized_and_garbage_frames() {
        let (mut channel, mut peer) = connected();
        // A length over the limit: refused before anything is allocated.
        peer.write_all(&u32::MAX.to_le_bytes()).unwrap();
        let err = channel.recv::<u64>(Some(Duration::from_secs(10))).unwrap_err();
        assert!(
            matches!(err, FrameError::TooLarge { size, limit } if size == u32::MAX as usize && limit == MAX_MESSAGE),
            "{err}"
        );

        let (mut channel, mut peer) = connected();
        // A frame whose bytes are not the message expected.
        peer.write_all(&3u32.to_le_bytes()).unwrap();
        peer.write_all(&[0xff, 0xff, 0xff]).unwrap();
        let err = channel.recv::<u64>(Some(Duration::from_secs(10))).unwrap_err();
        assert!(matches!(err, FrameError::Garbage { size: 3, .. }), "{err}");

        // A frame cut short, then the peer gone: closed, not a hang.
        let (mut channel, mut peer) = connected();
        peer.write_all(&100u32.to_le_bytes()).unwrap();
        peer.write_all(&[1, 2, 3]).unwrap();
        drop(peer);
        let err = channel.recv::<Vec<u8>>(None).unwrap_err();
        assert!(matches!(err, FrameError::Closed), "{err}");

        // Nothing at all: a typed timeout, even with Duration::MAX's neighbours.
        let (mut channel, _peer) = connected();
        let err = channel.recv::<u64>(Some(Duration::ZERO)).unwrap_err();
        assert!(matches!(err, FrameError::Timeout { .. }), "{err}");

        // And a good message still goes through.
        let (mut channel, peer) = connected();
        let mut other = Channel::new(peer);
        other.send(&42u64).unwrap();
        assert_eq!(channel.recv::<u64>(Some(Duration::MAX)).unwrap(), 42);
    }

    #[test]
    fn the_handshake_reader_refuses_bytes_from_another_process() {
        // Our own bytes carry our pid: expecting another pid refuses them.
        let (mut ours, theirs) = pair().unwrap();
        let mut theirs = Channel::new(UnixStream::from(theirs));
        theirs.send(&7u64).unwrap();
        ours.expect_sender(std::process::id() + 1);
        let err = ours.recv::<u64>(Some(Duration::from_secs(10))).unwrap_err();
        assert!(
            matches!(err, FrameError::WrongSender { found: Some(pid), .. } if pid == std::process::id()),
            "{err}"
        );
        // Expecting our own pid accepts them.
        let (mut ours, theirs) = pair().unwrap();
        let mut theirs = Channel::new(UnixStream::from(theirs));
        theirs.send(&7u64).unwrap();
        ours.expect_sender(std::process::id());
        assert_eq!(ours.recv::<u64>(Some(Duration::from_secs(10))).unwrap(), 7);
        ours.trust_sender().unwrap();
    }
}

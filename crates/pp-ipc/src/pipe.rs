//! Named, connectable message pipes between unrelated processes.
//!
//! A [`PipeListener`] binds a Unix socket (through `interprocess`) at
//! `<dir>/<id>.sock`, where `<dir>` is `$XDG_RUNTIME_DIR/pp` or
//! `/tmp/pp-<uid>`: a directory of mode 0700 owned by us (checked, not
//! assumed), and the socket itself is 0600. Accepted peers must run as our
//! uid. Messages are framed: a u32 little-endian length, then the bytes.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use interprocess::local_socket::traits::{Listener as _, Stream as _, StreamCommon as _};
use interprocess::local_socket::{GenericFilePath, ListenerOptions, ToFsName as _};
use interprocess::os::unix::local_socket::ListenerOptionsExt as _;
use interprocess::os::unix::uds_local_socket as uds;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{decode_whole, encode};
use crate::error::{Error, Result};
use crate::id::ObjectId;
use crate::wait::Wait;
use crate::wait_error::{Stopped, TimeoutError};

/// The largest message a pipe sends or accepts unless set otherwise: 64 MiB.
pub const DEFAULT_MAX_MESSAGE: usize = 64 << 20;
const PREFIX: usize = 4;
/// Messages up to this size go out with their prefix in one write.
const SMALL_MESSAGE: usize = 64 * 1024;

/// The directory of pipe endpoints, created 0700 if missing and checked.
pub fn pipe_dir() -> Result<PathBuf> {
    let uid = rustix::process::geteuid().as_raw();
    let dir = match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(runtime) if !runtime.is_empty() => PathBuf::from(runtime).join("pp"),
        _ => std::env::temp_dir().join(format!("pp-{uid}")),
    };
    let unsafe_dir = |reason: String| Error::UnsafeDirectory { path: dir.clone(), reason };
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(unsafe_dir(format!("cannot create it: {e}"))),
    }
    let meta = std::fs::symlink_metadata(&dir).map_err(|e| unsafe_dir(e.to_string()))?;
    if !meta.is_dir() {
        return Err(unsafe_dir("not a directory (or a symlink)".into()));
    }
    if meta.uid() != uid {
        return Err(unsafe_dir(format!("owned by uid {}, not {uid}", meta.uid())));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(unsafe_dir(format!("mode {:o} lets others in; want 700", meta.mode() & 0o777)));
    }
    Ok(dir)
}

fn socket_path(id: &ObjectId) -> Result<PathBuf> {
    let path = pipe_dir()?.join(format!("{id}.sock"));
    // sun_path holds 108 bytes including the terminating NUL.
    if path.as_os_str().len() >= 108 {
        return Err(Error::InvalidId {
            id: id.to_string(),
            reason: "too long for a socket path in the pipe directory",
        });
    }
    Ok(path)
}

fn io_error(what: &'static str, id: &ObjectId) -> impl FnOnce(io::Error) -> Error + use<> {
    let id = id.to_string();
    move |source| Error::Io { what, id, source }
}

/// The listening end of a named pipe; removes its endpoint when dropped.
#[derive(Debug)]
pub struct PipeListener {
    id: ObjectId,
    path: PathBuf,
    listener: uds::Listener,
}

impl PipeListener {
    /// Listens under a generated id.
    pub fn create() -> Result<PipeListener> {
        PipeListener::create_with_id(ObjectId::generate("pipe")?)
    }

    /// Listens under the caller's id; [`Error::AlreadyExists`] if another listener has it.
    pub fn create_with_id(id: ObjectId) -> Result<PipeListener> {
        let path = socket_path(&id)?;
        let name =
            path.as_path().to_fs_name::<GenericFilePath>().map_err(io_error("naming", &id))?;
        let listener = ListenerOptions::new()
            .name(name)
            .mode(0o600)
            .reclaim_name(false)
            .create_sync_as::<uds::Listener>()
            .map_err(|e| match e.kind() {
                io::ErrorKind::AddrInUse => Error::AlreadyExists { id: id.to_string() },
                _ => Error::Io { what: "listening on", id: id.to_string(), source: e },
            })?;
        Ok(PipeListener { id, path, listener })
    }

    /// The pipe's id: what [`Pipe::connect`] takes.
    pub fn id(&self) -> &ObjectId {
        &self.id
    }

    /// Waits as long as it takes for a peer to connect.
    pub fn accept(&self) -> Result<Pipe> {
        self.accept_with(Wait::Forever).map_err(|stopped| stopped.into_error(&self.id))
    }

    /// Accepts a peer that is connecting now; `Ok(None)` if none is.
    pub fn try_accept(&self) -> Result<Option<Pipe>> {
        self.accept_ready(Wait::No)
    }

    /// Waits at most `timeout` for a peer; [`TimeoutError::Timeout`] if none
    /// came. A timeout too large for the clock waits as long as it takes.
    pub fn accept_timeout(&self, timeout: Duration) -> Result<Pipe, TimeoutError> {
        self.accept_with(Wait::timeout(timeout)).map_err(TimeoutError::from_stopped)
    }

    /// Waits until `deadline` for a peer; [`TimeoutError::Timeout`] if none came.
    pub fn accept_deadline(&self, deadline: Instant) -> Result<Pipe, TimeoutError> {
        self.accept_with(Wait::deadline(deadline)).map_err(TimeoutError::from_stopped)
    }

    fn accept_with(&self, wait: Wait) -> Result<Pipe, Stopped> {
        match self.accept_ready(wait) {
            Ok(Some(pipe)) => Ok(pipe),
            Ok(None) => Err(Stopped::NotReady),
            Err(error) => Err(Stopped::Failed(error)),
        }
    }

    /// `Ok(None)`: no peer before the wait ended.
    fn accept_ready(&self, wait: Wait) -> Result<Option<Pipe>> {
        if !wait_readable(self.listener.as_fd(), wait)
            .map_err(io_error("waiting for a connection on", &self.id))?
        {
            return Ok(None);
        }
        let stream = self.listener.accept().map_err(io_error("accepting on", &self.id))?;
        Pipe::from_stream(self.id.clone(), stream).map(Some)
    }
}

impl Drop for PipeListener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One connected end of a pipe: framed messages both ways.
#[derive(Debug)]
pub struct Pipe {
    id: ObjectId,
    stream: UnixStream,
    /// Bytes received but not yet returned (a partial frame survives a timeout).
    pending: Vec<u8>,
    max_message: usize,
}

impl Pipe {
    /// Connects to the listener of `id`; [`Error::NotFound`] if none listens.
    pub fn connect(id: &ObjectId) -> Result<Pipe> {
        let path = socket_path(id)?;
        let name =
            path.as_path().to_fs_name::<GenericFilePath>().map_err(io_error("naming", id))?;
        let stream = uds::Stream::connect(name).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
                Error::NotFound { id: id.to_string() }
            }
            _ => Error::Io { what: "connecting to", id: id.to_string(), source: e },
        })?;
        Pipe::from_stream(id.clone(), stream)
    }

    fn from_stream(id: ObjectId, stream: uds::Stream) -> Result<Pipe> {
        let ours = rustix::process::geteuid().as_raw();
        let creds = stream.peer_creds().map_err(io_error("reading the peer of", &id))?;
        match creds.euid() {
            Some(uid) if uid == ours => {}
            uid => return Err(Error::ForeignPeer { id: id.to_string(), uid }),
        }
        let stream = UnixStream::from(OwnedFd::from(stream));
        Ok(Pipe { id, stream, pending: Vec::new(), max_message: DEFAULT_MAX_MESSAGE })
    }

    /// The pipe's id.
    pub fn id(&self) -> &ObjectId {
        &self.id
    }

    /// Sets the largest message this end sends or accepts.
    pub fn set_max_message(&mut self, bytes: usize) {
        self.max_message = bytes.min(u32::MAX as usize);
    }

    /// Sends one message.
    pub fn send(&mut self, message: &[u8]) -> Result<()> {
        if message.len() > self.max_message {
            return Err(Error::ItemTooLarge {
                id: self.id.to_string(),
                size: message.len(),
                capacity: self.max_message,
            });
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
        sent.map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => {
                Error::Closed { id: self.id.to_string() }
            }
            _ => Error::Io { what: "sending on", id: self.id.to_string(), source: e },
        })
    }

    /// Receives one message, waiting as long as it takes.
    pub fn recv(&mut self) -> Result<Vec<u8>> {
        self.recv_with(Wait::Forever).map_err(|stopped| stopped.into_error(&self.id))
    }

    /// Receives a message that has fully arrived; `Ok(None)` if none has (a
    /// partial one is kept for the next call).
    pub fn try_recv(&mut self) -> Result<Option<Vec<u8>>> {
        self.recv_ready(Wait::No)
    }

    /// Receives one message, waiting at most `timeout`;
    /// [`TimeoutError::Timeout`] if none came. A message cut by the timeout
    /// is kept and completed by the next call. A timeout too large for the
    /// clock waits as long as it takes.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Vec<u8>, TimeoutError> {
        self.recv_with(Wait::timeout(timeout)).map_err(TimeoutError::from_stopped)
    }

    /// Receives one message, waiting until `deadline`; as [`recv_timeout`](Self::recv_timeout).
    pub fn recv_deadline(&mut self, deadline: Instant) -> Result<Vec<u8>, TimeoutError> {
        self.recv_with(Wait::deadline(deadline)).map_err(TimeoutError::from_stopped)
    }

    fn recv_with(&mut self, wait: Wait) -> Result<Vec<u8>, Stopped> {
        match self.recv_ready(wait) {
            Ok(Some(message)) => Ok(message),
            Ok(None) => Err(Stopped::NotReady),
            Err(error) => Err(Stopped::Failed(error)),
        }
    }

    /// `Ok(None)`: no whole message before the wait ended.
    fn recv_ready(&mut self, wait: Wait) -> Result<Option<Vec<u8>>> {
        loop {
            if self.pending.len() >= PREFIX {
                let size = u32::from_le_bytes(self.pending[..PREFIX].try_into().expect("4 bytes"))
                    as usize;
                if size > self.max_message {
                    return Err(Error::ItemTooLarge {
                        id: self.id.to_string(),
                        size,
                        capacity: self.max_message,
                    });
                }
                if self.pending.len() >= PREFIX + size {
                    let message = self.pending[PREFIX..PREFIX + size].to_vec();
                    self.pending.drain(..PREFIX + size);
                    return Ok(Some(message));
                }
            }
            if !wait_readable(self.stream.as_fd(), wait)
                .map_err(io_error("waiting on", &self.id))?
            {
                return Ok(None);
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(Error::Closed { id: self.id.to_string() }),
                Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    return Err(Error::Closed { id: self.id.to_string() });
                }
                Err(e) => {
                    return Err(Error::Io {
                        what: "receiving on",
                        id: self.id.to_string(),
                        source: e,
                    });
                }
            }
        }
    }

    /// Sends a serde item as one message.
    pub fn send_item<T: Serialize>(&mut self, item: &T) -> Result<()> {
        let bytes = encode(&self.id, item)?;
        self.send(&bytes)
    }

    /// Receives one message as a serde item, waiting as long as it takes.
    pub fn recv_item<T: DeserializeOwned>(&mut self) -> Result<T> {
        let bytes = self.recv()?;
        self.decode(&bytes)
    }

    /// Receives an item that has fully arrived; `Ok(None)` if none has.
    pub fn try_recv_item<T: DeserializeOwned>(&mut self) -> Result<Option<T>> {
        match self.try_recv()? {
            Some(bytes) => self.decode(&bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Receives one message as a serde item, waiting at most `timeout`.
    pub fn recv_item_timeout<T: DeserializeOwned>(
        &mut self,
        timeout: Duration,
    ) -> Result<T, TimeoutError> {
        let bytes = self.recv_timeout(timeout)?;
        self.decode(&bytes).map_err(|error| TimeoutError::Failed(Box::new(error)))
    }

    /// Receives one message as a serde item, waiting until `deadline`.
    pub fn recv_item_deadline<T: DeserializeOwned>(
        &mut self,
        deadline: Instant,
    ) -> Result<T, TimeoutError> {
        let bytes = self.recv_deadline(deadline)?;
        self.decode(&bytes).map_err(|error| TimeoutError::Failed(Box::new(error)))
    }

    /// A whole message as a `T` ([`Error::WrongItemType`] if it is not one,
    /// or has bytes left over).
    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T> {
        decode_whole(&self.id, bytes)
    }
}

/// Waits until `fd` is readable; false if the wait ended first.
fn wait_readable(fd: impl AsFd, wait: Wait) -> io::Result<bool> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    loop {
        // Re-read on every round: EINTR must not restart the full timeout.
        let timeout = wait.remaining().map(|left| Timespec {
            tv_sec: left.as_secs().min(i64::MAX as u64) as _,
            tv_nsec: left.subsec_nanos() as _,
        });
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        match poll(&mut fds, timeout.as_ref()) {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Removes endpoints in the pipe directory that nobody listens on; returns their paths.
pub(crate) fn sweep_pipes() -> Vec<String> {
    let Ok(dir) = pipe_dir() else { return Vec::new() };
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    entries
        .flatten()
        .filter(|e| {
            e.file_name().to_str().is_some_and(|n| n.starts_with("pp-") && n.ends_with(".sock"))
        })
        .filter(|e| is_stale(&e.path()) && std::fs::remove_file(e.path()).is_ok())
        .map(|e| e.path().display().to_string())
        .collect()
}

pub(crate) fn is_stale(path: &Path) -> bool {
    matches!(UnixStream::connect(path), Err(e) if e.kind() == io::ErrorKind::ConnectionRefused)
}

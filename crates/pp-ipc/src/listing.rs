//! [`list`]: pp's named objects of this user, as found in `/dev/shm` and
//! the pipe directory, inspected without trusting their contents; and the
//! safe inspection [`sweep`](crate::sweep) shares.

use std::path::Path;

use crate::error::{Error, Result};
use crate::pipe::{is_stale, pipe_dir};
use crate::segment::{HEADER_LEN, Kind, OPEN_WAIT, creator_in, kind_in};
use crate::sys;

/// What kind of object a name holds, as its header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObjectKind {
    /// A [`Lock`](crate::Lock).
    Lock,
    /// An [`Event`](crate::Event).
    Event,
    /// A [`SharedValue`](crate::SharedValue).
    Value,
    /// A [`Semaphore`](crate::Semaphore).
    Semaphore,
    /// A [`Queue`](crate::Queue) or [`AnyQueue`](crate::AnyQueue).
    Queue,
    /// A [`PipeListener`](crate::PipeListener)'s endpoint.
    Pipe,
    /// A `pp-` object with no valid header yet: being created, or its
    /// creator died before it finished.
    Unfinished,
}

impl ObjectKind {
    /// The kind's name in words (`"queue"`, `"shared value"`).
    pub fn name(self) -> &'static str {
        match self {
            ObjectKind::Lock => "lock",
            ObjectKind::Event => "event",
            ObjectKind::Value => "shared value",
            ObjectKind::Semaphore => "semaphore",
            ObjectKind::Queue => "queue",
            ObjectKind::Pipe => "pipe",
            ObjectKind::Unfinished => "unfinished",
        }
    }
}

impl std::fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One object [`list`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectInfo {
    /// Its name (`pp-…`), the id that opens it.
    pub id: String,
    /// What it is.
    pub kind: ObjectKind,
    /// Its file's size in bytes (0 for a pipe endpoint).
    pub size: u64,
    /// The process that created it, as its header says (none for pipes and
    /// unfinished objects).
    pub creator_pid: Option<u32>,
    /// Whether [`sweep`](crate::sweep) would remove it: its creator died (a
    /// pipe: nobody listens; unfinished: for longer than a create takes).
    pub stale: bool,
}

/// What [`list`] found: pp's objects, and the `pp-` names it will not judge.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Listing {
    /// pp-ipc objects of this user.
    pub objects: Vec<ObjectInfo>,
    /// `pp-` names that are not pp-ipc objects of ours (another user's, a
    /// symbolic link, a FIFO, …) or could not be inspected, each with why.
    pub skipped: Vec<(String, String)>,
}

/// Lists pp's named objects of this user: shared-memory objects in
/// `/dev/shm` and pipe endpoints in [`pipe_dir`]. Nothing is mapped or
/// removed (the pipe directory is made if missing, and telling a live pipe
/// from a stale one connects to its listener once). Entries are opened without following links or
/// blocking on FIFOs, and only regular files of ours with no group/other
/// access are read; their headers are parsed as untrusted bytes.
pub fn list() -> Result<Listing> {
    let dir = std::fs::read_dir(sys::SHM_DIR).map_err(|source| Error::Io {
        what: "listing",
        id: sys::SHM_DIR.into(),
        source,
    })?;
    let mut listing = Listing::default();
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with("pp-") {
            continue;
        }
        match examine(name) {
            Ok(examined) => listing.objects.push(describe(name, &examined)),
            Err(reason) => listing.skipped.push((name.to_owned(), reason)),
        }
    }
    listing.objects.extend(pipes());
    listing.objects.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(listing)
}

/// What a safe look at an object's file found.
#[derive(Debug)]
pub(crate) struct Examined {
    /// Its size.
    pub(crate) size: u64,
    /// Its first bytes (at most a header's worth).
    pub(crate) start: Vec<u8>,
}

/// Opens `/dev/shm/<name>` without following links or blocking, checks it
/// is a regular file of ours with no group/other access, and reads its
/// first bytes; `Err` says why it is not ours to judge.
pub(crate) fn examine(name: &str) -> std::result::Result<Examined, String> {
    let fd = sys::shm_open_to_inspect(name).map_err(|e| match e.raw_os_error() {
        Some(libc::ELOOP) => "a symbolic link".to_owned(),
        _ => format!("cannot open it: {e}"),
    })?;
    let stat = sys::inspect(&fd).map_err(|e| format!("cannot inspect it: {e}"))?;
    if let Some(reason) = stat.untrusted_because() {
        return Err(format!(
            "{reason} (a {}, owner uid {}, mode {:04o})",
            stat.file_type, stat.owner, stat.mode
        ));
    }
    let mut raw = [0u8; HEADER_LEN];
    let read = sys::read_start(&fd, &mut raw).map_err(|e| format!("cannot read it: {e}"))?;
    Ok(Examined { size: stat.size, start: raw[..read].to_vec() })
}

/// Whether an object without a valid header is old enough that its
/// creator must have died before writing it (a create in progress is young).
pub(crate) fn abandoned_half_made(name: &str) -> bool {
    let age = std::fs::metadata(format!("{}/{name}", sys::SHM_DIR))
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.elapsed().ok());
    age.is_some_and(|age| age > OPEN_WAIT * 5)
}

/// The listing entry of an examined object.
fn describe(name: &str, examined: &Examined) -> ObjectInfo {
    let creator = creator_in(&examined.start);
    let kind = match kind_in(&examined.start) {
        Some(Kind::Lock) => ObjectKind::Lock,
        Some(Kind::Event) => ObjectKind::Event,
        Some(Kind::Value) => ObjectKind::Value,
        Some(Kind::Semaphore) => ObjectKind::Semaphore,
        Some(Kind::Queue) => ObjectKind::Queue,
        None => ObjectKind::Unfinished,
    };
    let stale = match creator {
        Some(pid) => !sys::process_alive(pid),
        None => abandoned_half_made(name),
    };
    ObjectInfo { id: name.to_owned(), kind, size: examined.size, creator_pid: creator, stale }
}

/// The pipe endpoints of this user.
fn pipes() -> Vec<ObjectInfo> {
    let Ok(dir) = pipe_dir() else { return Vec::new() };
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.strip_suffix(".sock")?.to_owned();
            name.starts_with("pp-").then(|| ObjectInfo {
                stale: is_stale(Path::new(&e.path())),
                id: name,
                kind: ObjectKind::Pipe,
                size: 0,
                creator_pid: None,
            })
        })
        .collect()
}

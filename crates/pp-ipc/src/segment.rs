//! Named shared-memory segments: ids, the validated header, ownership, sweep.
//!
//! Every object is one segment: a 64-byte [`Header`] followed by the
//! object's payload. The creator writes the header and payload, then sets
//! `ready`; `open` checks the header before handing anything out.

use std::fmt;
use std::ptr::NonNull;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result, shorten};
use crate::sys::{self, Mapping};

/// The name of a pp-ipc object: its OS name, always starting with `pp-`.
///
/// Prints and parses as a string; hand it to another process (argv, env, a
/// file) and `open` it there.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(String);

impl ObjectId {
    /// The longest id accepted, in bytes.
    pub const MAX_LEN: usize = 200;

    /// Validates a caller-chosen id: `pp-` then ASCII letters, digits, `.`, `_`, `-`.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        let reason = if !id.starts_with("pp-") {
            Some("it must start with \"pp-\"")
        } else if id.len() <= 3 {
            Some("it has nothing after \"pp-\"")
        } else if id.len() > Self::MAX_LEN {
            Some("it is longer than 200 bytes")
        } else if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
            Some("only ASCII letters, digits, '.', '_' and '-' are allowed")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidId { id: shorten(&id), reason }),
            None => Ok(ObjectId(id)),
        }
    }

    /// A fresh unguessable id, `pp-<kind>-<128 random bits in hex>`; `kind`
    /// follows the rules of [`new`](Self::new) and is at most 32 bytes.
    pub fn generate(kind: &str) -> Result<Self> {
        if kind.is_empty()
            || kind.len() > 32
            || !kind.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(Error::InvalidId {
                id: shorten(&format!("pp-{kind}-…")),
                reason: "the kind of a generated id must be 1 to 32 ASCII letters, digits, '.', '_' or '-'",
            });
        }
        let mut bytes = [0u8; 16];
        sys::random_bytes(&mut bytes).map_err(|source| Error::Io {
            what: "generating an id for a",
            id: kind.into(),
            source,
        })?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ok(ObjectId(format!("pp-{kind}-{hex}")))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl FromStr for ObjectId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        ObjectId::new(s)
    }
}

/// Serialized as its string form; deserializing checks it as [`ObjectId::new`] does.
impl serde::Serialize for ObjectId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for ObjectId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ObjectId::new(text).map_err(serde::de::Error::custom)
    }
}

impl AsRef<str> for ObjectId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// What an object is; recorded in its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Lock = 1,
    Event = 2,
    Value = 3,
    Semaphore = 4,
    Queue = 5,
}

impl Kind {
    fn from_u32(n: u32) -> Option<Kind> {
        [Kind::Lock, Kind::Event, Kind::Value, Kind::Semaphore, Kind::Queue]
            .into_iter()
            .find(|k| *k as u32 == n)
    }

    /// Whether a payload of `len` bytes can be this kind's: the fixed size
    /// its `create` makes, or for a queue enough for its fields and one record.
    fn payload_fits(self, len: u64) -> bool {
        match self {
            Kind::Lock => len == std::mem::size_of::<libc::pthread_mutex_t>() as u64,
            Kind::Event | Kind::Value | Kind::Semaphore => len == 8,
            Kind::Queue => len > crate::queue::MIN_PAYLOAD as u64,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Lock => "lock",
            Kind::Event => "event",
            Kind::Value => "shared value",
            Kind::Semaphore => "semaphore",
            Kind::Queue => "queue",
        }
    }
}

const MAGIC: u64 = u64::from_le_bytes(*b"pp-ipc\0\x01");
const LAYOUT_VERSION: u32 = 1;
/// Bytes before the payload; also the payload's alignment.
pub(crate) const HEADER_LEN: usize = 64;
/// The largest payload of any object (a queue of the largest capacity).
pub(crate) const MAX_PAYLOAD: usize = (1 << 30) + 4096;
/// How long `open` waits for a creator that is still setting the object up.
const OPEN_WAIT: Duration = Duration::from_secs(2);

/// The first 64 bytes of every segment. Written once by the creator before
/// `ready` is set; read-only afterwards.
#[repr(C)]
struct Header {
    magic: u64,
    version: u32,
    kind: u32,
    /// 0 while the creator initialises, 1 once the object may be used.
    ready: AtomicU32,
    creator_pid: u32,
    total_len: u64,
    payload_len: u64,
    /// Kind-specific: the value type of a shared value.
    tag: u32,
    _reserved: [u32; 5],
}

const _: () = assert!(std::mem::size_of::<Header>() == HEADER_LEN);

/// One mapped object. The creating handle owns the name and unlinks it on drop.
#[derive(Debug)]
pub(crate) struct Segment {
    id: ObjectId,
    map: Mapping,
    owner: bool,
    tag: u32,
}

impl Segment {
    /// Creates the object exclusively and runs `init` on its payload before
    /// anyone can open it.
    pub(crate) fn create(
        id: ObjectId,
        kind: Kind,
        tag: u32,
        payload_len: usize,
        init: impl FnOnce(NonNull<u8>) -> std::io::Result<()>,
    ) -> Result<Segment> {
        let name = id.to_string();
        let io = |what| {
            let name = name.clone();
            move |source| Error::Io { what, id: name, source }
        };
        let fd = match sys::shm_create(id.as_str()) {
            Ok(fd) => fd,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::AlreadyExists { id: id.to_string() });
            }
            Err(e) => return Err(io("creating")(e)),
        };
        let total = HEADER_LEN + payload_len;
        // From here on a failure must remove the half-made object.
        let made = (|| {
            sys::shm_size(&fd, total).map_err(io("sizing"))?;
            let map = Mapping::new(&fd, total).map_err(io("mapping"))?;
            let header = map.ptr().cast::<Header>();
            // SAFETY: the mapping is fresh, zero-filled, HEADER_LEN-aligned (page
            // aligned) and at least HEADER_LEN long; `ready` is still 0, so no
            // other process reads the header or payload yet.
            unsafe {
                header.as_ptr().write(Header {
                    magic: MAGIC,
                    version: LAYOUT_VERSION,
                    kind: kind as u32,
                    ready: AtomicU32::new(0),
                    creator_pid: std::process::id(),
                    total_len: total as u64,
                    payload_len: payload_len as u64,
                    tag,
                    _reserved: [0; 5],
                });
            }
            // SAFETY: HEADER_LEN < total, so the payload pointer is inside the mapping.
            let payload = unsafe { map.ptr().add(HEADER_LEN) };
            init(payload).map_err(io("initialising"))?;
            Ok(map)
        })();
        match made {
            Ok(map) => {
                let segment = Segment { id, map, owner: true, tag };
                segment.ready().store(1, Ordering::Release);
                Ok(segment)
            }
            Err(e) => {
                let _ = sys::shm_unlink(id.as_str());
                Err(e)
            }
        }
    }

    /// Opens an existing object of `kind`, checking its header.
    pub(crate) fn open(id: &ObjectId, kind: Kind) -> Result<Segment> {
        let err_id = || id.to_string();
        let io = |what| move |source| Error::Io { what, id: err_id(), source };
        let fd = match sys::shm_open(id.as_str()) {
            Ok(fd) => fd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound { id: err_id() });
            }
            // ELOOP: a symbolic link squats on the name.
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(Error::Untrusted {
                    id: err_id(),
                    reason: "it is a symbolic link",
                    file_type: "symbolic link",
                    owner: None,
                    mode: None,
                });
            }
            Err(e) => return Err(io("opening")(e)),
        };
        let started = Instant::now();
        // Check what the name really is before mapping it: only a regular file
        // of ours that nobody else can write is safe to trust with our mutexes.
        // The creator may not have sized it yet.
        let size = loop {
            let stat = sys::inspect(&fd).map_err(io("inspecting"))?;
            if let Some(reason) = stat.untrusted_because() {
                return Err(Error::Untrusted {
                    id: err_id(),
                    reason,
                    file_type: stat.file_type,
                    owner: Some(stat.owner),
                    mode: Some(stat.mode),
                });
            }
            if stat.size >= HEADER_LEN as u64 {
                if stat.size > (HEADER_LEN + MAX_PAYLOAD) as u64 {
                    return Err(Error::Corrupt {
                        id: err_id(),
                        reason: format!(
                            "file size {} is larger than any pp-ipc object ({} bytes)",
                            stat.size,
                            HEADER_LEN + MAX_PAYLOAD
                        ),
                    });
                }
                break stat.size as usize;
            }
            if started.elapsed() > OPEN_WAIT {
                return Err(Error::NotInitialized { id: err_id(), waited: OPEN_WAIT });
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        let map = Mapping::new(&fd, size).map_err(io("mapping"))?;
        let mut segment = Segment { id: id.clone(), map, owner: false, tag: 0 };
        while segment.ready().load(Ordering::Acquire) != 1 {
            if started.elapsed() > OPEN_WAIT {
                return Err(Error::NotInitialized { id: err_id(), waited: OPEN_WAIT });
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let header = segment.header_snapshot();
        let corrupt = |reason: String| Err(Error::Corrupt { id: err_id(), reason });
        if header.magic != MAGIC {
            return corrupt(format!("bad magic {:#018x}", header.magic));
        }
        if header.version != LAYOUT_VERSION {
            return corrupt(format!(
                "layout version {} (this build reads {LAYOUT_VERSION})",
                header.version
            ));
        }
        let Some(found) = Kind::from_u32(header.kind) else {
            return corrupt(format!("unknown object kind {}", header.kind));
        };
        if found != kind {
            return Err(Error::WrongKind {
                id: err_id(),
                expected: kind.name(),
                found: found.name(),
            });
        }
        if header.total_len != size as u64
            || header.payload_len.checked_add(HEADER_LEN as u64) != Some(header.total_len)
        {
            return corrupt(format!(
                "sizes disagree: file {size}, header total {} and payload {}",
                header.total_len, header.payload_len
            ));
        }
        if !kind.payload_fits(header.payload_len) {
            return corrupt(format!(
                "a {} cannot have a payload of {} bytes",
                kind.name(),
                header.payload_len
            ));
        }
        segment.tag = header.tag;
        Ok(segment)
    }

    fn ready(&self) -> &AtomicU32 {
        // SAFETY: the header is inside the mapping (size checked >= HEADER_LEN),
        // aligned, and `ready` is only ever accessed atomically.
        unsafe { &(*self.map.ptr().cast::<Header>().as_ptr()).ready }
    }

    /// A copy of the header's plain fields (valid once `ready` was seen set).
    fn header_snapshot(&self) -> HeaderCopy {
        let h = self.map.ptr().cast::<Header>().as_ptr();
        // SAFETY: inside the mapping and aligned; the fields are immutable after
        // `ready` was set (Acquire-loaded by the caller). Volatile reads because
        // another process could in principle scribble on them.
        unsafe {
            HeaderCopy {
                magic: std::ptr::addr_of!((*h).magic).read_volatile(),
                version: std::ptr::addr_of!((*h).version).read_volatile(),
                kind: std::ptr::addr_of!((*h).kind).read_volatile(),
                total_len: std::ptr::addr_of!((*h).total_len).read_volatile(),
                payload_len: std::ptr::addr_of!((*h).payload_len).read_volatile(),
                tag: std::ptr::addr_of!((*h).tag).read_volatile(),
            }
        }
    }

    pub(crate) fn id(&self) -> &ObjectId {
        &self.id
    }

    /// The kind-specific tag recorded at creation.
    pub(crate) fn tag(&self) -> u32 {
        self.tag
    }

    /// The payload's start: HEADER_LEN-aligned, `payload_len` bytes, valid while `self` lives.
    #[inline]
    pub(crate) fn payload(&self) -> NonNull<u8> {
        debug_assert!(self.map.len() >= HEADER_LEN);
        // SAFETY: the mapping is at least HEADER_LEN long (checked in create/open).
        unsafe { self.map.ptr().add(HEADER_LEN) }
    }

    /// A reference to an atomic word at `offset` in the payload.
    ///
    /// Panics (a bug in pp-ipc, not user input) if it would leave the payload.
    pub(crate) fn atomic_u32(&self, offset: usize) -> &AtomicU32 {
        assert!(offset.is_multiple_of(4) && HEADER_LEN + offset + 4 <= self.map.len());
        // SAFETY: in bounds and aligned (asserted); shared words are only ever
        // accessed atomically, by every process.
        unsafe { &*self.payload().add(offset).cast::<AtomicU32>().as_ptr() }
    }

    /// A reference to an atomic 64-bit word at `offset` in the payload.
    pub(crate) fn atomic_u64(&self, offset: usize) -> &std::sync::atomic::AtomicU64 {
        assert!(offset.is_multiple_of(8) && HEADER_LEN + offset + 8 <= self.map.len());
        // SAFETY: as for atomic_u32.
        unsafe { &*self.payload().add(offset).cast::<std::sync::atomic::AtomicU64>().as_ptr() }
    }

    /// The payload's length in bytes.
    pub(crate) fn payload_len(&self) -> usize {
        self.map.len() - HEADER_LEN
    }

    /// Removes the name now; mapped handles keep working until they drop.
    pub(crate) fn unlink(&mut self) -> Result<()> {
        self.owner = false;
        match sys::shm_unlink(self.id.as_str()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(Error::Io { what: "removing", id: self.id.to_string(), source }),
        }
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        if self.owner {
            let _ = self.unlink();
        }
    }
}

struct HeaderCopy {
    magic: u64,
    version: u32,
    kind: u32,
    total_len: u64,
    payload_len: u64,
    tag: u32,
}

/// Removes the name of object `id` now, whoever created it: nobody can open
/// it any more, while handles already open keep working until they drop.
/// [`Error::NotFound`] if no such object exists.
pub fn unlink(id: &ObjectId) -> Result<()> {
    sys::shm_unlink(id.as_str()).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound { id: id.to_string() },
        _ => Error::Io { what: "removing", id: id.to_string(), source },
    })
}

/// Opens the object `id` if it exists, else creates it: what two unrelated
/// processes that want the same named object call. The creating handle owns
/// the name (removes it when dropped), as with `create`. A name removed
/// between the failed create and the open is simply created again.
pub(crate) fn open_or_create<T>(
    create: impl Fn() -> Result<T>,
    open: impl Fn() -> Result<T>,
) -> Result<T> {
    const ATTEMPTS: usize = 8;
    for _ in 0..ATTEMPTS {
        match create() {
            Err(Error::AlreadyExists { .. }) => {}
            created => return created,
        }
        match open() {
            Err(Error::NotFound { .. }) => continue,
            opened => return opened,
        }
    }
    open()
}

/// What [`sweep`] did: the names it removed and the `pp-` names it left alone.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Swept {
    /// Objects whose creator died, and pipe endpoints nobody listens on.
    pub removed: Vec<String>,
    /// `pp-` names that are not pp-ipc objects of ours (another user's, a
    /// symbolic link, a FIFO, …) or could not be inspected, each with why.
    pub skipped: Vec<(String, String)>,
}

/// Removes `pp-` objects whose creator has died, and pipe endpoints nobody
/// listens on.
///
/// Objects of live processes are left alone, and so is every name that is
/// not a regular file of ours (reported in [`Swept::skipped`]). Entries are
/// opened without following links or blocking on FIFOs, so a planted entry
/// can neither redirect nor hang it.
pub fn sweep() -> Result<Swept> {
    let dir = std::fs::read_dir(sys::SHM_DIR).map_err(|source| Error::Io {
        what: "listing",
        id: sys::SHM_DIR.into(),
        source,
    })?;
    let mut swept = Swept::default();
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with("pp-") {
            continue;
        }
        match sweep_verdict(name) {
            Ok(true) => {
                if sys::shm_unlink(name).is_ok() {
                    swept.removed.push(name.to_owned());
                }
            }
            Ok(false) => {}
            Err(reason) => swept.skipped.push((name.to_owned(), reason)),
        }
    }
    swept.removed.extend(crate::pipe::sweep_pipes());
    Ok(swept)
}

/// Whether the object `name` is an orphan to remove; `Err` says why it is
/// not ours to judge.
fn sweep_verdict(name: &str) -> std::result::Result<bool, String> {
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
    let magic = u64::from_le_bytes(raw[0..8].try_into().unwrap_or_default());
    let at = std::mem::offset_of!(Header, creator_pid);
    let creator = u32::from_ne_bytes(raw[at..at + 4].try_into().unwrap_or_default());
    Ok(if read == HEADER_LEN && magic == MAGIC {
        !sys::process_alive(creator)
    } else {
        // Too short or no magic: a creator died before writing the header,
        // unless it is still young (a create in progress).
        let age = std::fs::metadata(format!("{}/{name}", sys::SHM_DIR))
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok());
        age.is_some_and(|age| age > OPEN_WAIT * 5)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_validated_and_generated() {
        assert!(ObjectId::new("pp-my-queue_1.x").is_ok());
        for bad in ["queue", "pp-", "pp-a/b", "pp-a b", &format!("pp-{}", "x".repeat(200))] {
            assert!(matches!(ObjectId::new(bad), Err(Error::InvalidId { .. })), "{bad:?}");
        }
        let a = ObjectId::generate("lock").unwrap();
        assert!(a.as_str().starts_with("pp-lock-") && a.as_str().len() == 8 + 32);
        assert_ne!(a, ObjectId::generate("lock").unwrap());
    }

    #[test]
    fn magic_leads_the_header() {
        // sweep reads the magic from the first 8 bytes of the file.
        assert_eq!(std::mem::offset_of!(Header, magic), 0);
    }
}

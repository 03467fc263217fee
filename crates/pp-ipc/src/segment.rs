//! Named shared-memory segments: the validated header, ownership, removal.
//!
//! Every object is one segment: a 64-byte [`Header`] followed by the
//! object's payload. The creator writes the header and payload, then sets
//! `ready`; `open` checks the header before handing anything out.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::id::ObjectId;
use std::sync::Arc;

use crate::sys::{self, Mapping};

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

/// The payload sizes an object of some kind can have; its module says which.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PayloadSize {
    /// Exactly this many bytes: the fixed size the kind's `create` makes.
    Exactly(usize),
    /// More than this many bytes (a queue: its fields and room for a record).
    MoreThan(usize),
}

impl PayloadSize {
    fn admits(self, len: u64) -> bool {
        match self {
            PayloadSize::Exactly(size) => len == size as u64,
            PayloadSize::MoreThan(size) => len > size as u64,
        }
    }
}

const MAGIC: u64 = u64::from_le_bytes(*b"pp-ipc\0\x01");
/// 2: a shared value's tag is a `ValueKind` number (version 1 stored
/// character codes there). 3: an event counts its sleepers in its second
/// word, and `set` wakes only when there are some (a version 2 waiter,
/// which does not count itself, would sleep through a version 3 `set`).
pub(crate) const LAYOUT_VERSION: u32 = 3;
/// Bytes before the payload; also the payload's alignment.
pub(crate) const HEADER_LEN: usize = 64;
/// The largest payload of any object (a queue of the largest capacity).
pub(crate) const MAX_PAYLOAD: usize = (1 << 30) + 4096;
/// How long `open` waits for a creator that is still setting the object up.
pub(crate) const OPEN_WAIT: Duration = Duration::from_secs(2);

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
    /// Shared with [`SharedWord`]s, which the async waiter thread reads.
    map: Arc<Mapping>,
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
                let segment = Segment { id, map: Arc::new(map), owner: true, tag };
                segment.ready().store(1, Ordering::Release);
                Ok(segment)
            }
            Err(e) => {
                let _ = sys::shm_unlink(id.as_str());
                Err(e)
            }
        }
    }

    /// Opens an existing object of `kind`, checking its header, and that its
    /// payload has a size `payload` admits.
    pub(crate) fn open(id: &ObjectId, kind: Kind, payload: PayloadSize) -> Result<Segment> {
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
        let mut segment = Segment { id: id.clone(), map: Arc::new(map), owner: false, tag: 0 };
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
        if !payload.admits(header.payload_len) {
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

    /// The 32-bit word at `offset` in the payload, holding the mapping alive:
    /// for waits that outlive a borrow of this segment (the async waiter).
    pub(crate) fn shared_word(&self, offset: usize) -> SharedWord {
        assert!(offset.is_multiple_of(4) && HEADER_LEN + offset + 4 <= self.map.len());
        SharedWord { map: self.map.clone(), offset: HEADER_LEN + offset }
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

/// The kind recorded in the first bytes of an object's file, if they are a
/// whole header starting with pp-ipc's magic and naming a known kind (for
/// [`list`](crate::list), which reads files it has not validated).
pub(crate) fn kind_in(raw: &[u8]) -> Option<Kind> {
    let field = |at: usize, len: usize| raw.get(at..at + len);
    if raw.len() < HEADER_LEN || field(0, 8)? != MAGIC.to_le_bytes() {
        return None;
    }
    let kind = field(std::mem::offset_of!(Header, kind), 4)?;
    Kind::from_u32(u32::from_ne_bytes(kind.try_into().ok()?))
}

/// The creator's pid in the first bytes of an object's file, if they are a
/// whole header starting with pp-ipc's magic (for [`sweep`](crate::sweep),
/// which reads files it has not validated).
pub(crate) fn creator_in(raw: &[u8]) -> Option<u32> {
    let field = |at: usize, len: usize| raw.get(at..at + len);
    if raw.len() < HEADER_LEN || field(0, 8)? != MAGIC.to_le_bytes() {
        return None;
    }
    let creator = field(std::mem::offset_of!(Header, creator_pid), 4)?;
    Some(u32::from_ne_bytes(creator.try_into().ok()?))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_creator_is_read_only_from_a_whole_header_with_the_magic() {
        let mut raw = [0u8; HEADER_LEN];
        raw[..8].copy_from_slice(&MAGIC.to_le_bytes());
        let at = std::mem::offset_of!(Header, creator_pid);
        raw[at..at + 4].copy_from_slice(&4242u32.to_ne_bytes());
        assert_eq!(creator_in(&raw), Some(4242));
        assert_eq!(creator_in(&raw[..HEADER_LEN - 1]), None, "too short");
        raw[0] ^= 1;
        assert_eq!(creator_in(&raw), None, "no magic");
    }
}

/// A 32-bit word of a segment's mapping, which it keeps mapped: valid for
/// as long as the `SharedWord` lives, whatever happens to the handle.
#[derive(Clone, Debug)]
pub(crate) struct SharedWord {
    map: Arc<Mapping>,
    /// From the mapping's start: in bounds and 4-aligned (checked by `shared_word`).
    offset: usize,
}

impl SharedWord {
    /// Which word this is (its address): equal for two `SharedWord`s of one
    /// word of one mapping.
    pub(crate) fn address(&self) -> usize {
        self.get().as_ptr() as usize
    }

    pub(crate) fn get(&self) -> &AtomicU32 {
        // SAFETY: offset + 4 <= len and 4-aligned (checked when made); the
        // Arc keeps the mapping; shared words are only accessed atomically.
        unsafe { &*self.map.ptr().add(self.offset).cast::<AtomicU32>().as_ptr() }
    }
}

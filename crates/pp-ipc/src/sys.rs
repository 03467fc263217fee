//! Linux calls: POSIX shared memory, mmap, robust process-shared pthread
//! mutexes, futexes, the monotonic clock.
//!
//! All `unsafe` of pp-ipc lives here, behind functions whose contracts say
//! what the caller must uphold.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use rustix::fs::{Mode, OFlags};
use rustix::mm::{MapFlags, ProtFlags};
use rustix::thread::futex;
use rustix::time::{ClockId, Timespec};

/// Creates a new shared-memory object, failing if the name exists (a
/// symlink or FIFO squatting on it included). Mode 0600.
pub(crate) fn shm_create(name: &str) -> io::Result<OwnedFd> {
    let flags = OFlags::CREATE | OFlags::EXCL | OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    Ok(rustix::fs::open(shm_file(name), flags, Mode::RUSR | Mode::WUSR)?)
}

/// Opens an existing shared-memory object read-write without following a
/// symlink or blocking on a FIFO; the caller checks it with [`inspect`]
/// before mapping it. (`rustix::shm::open` adds no `O_NOFOLLOW`.)
pub(crate) fn shm_open(name: &str) -> io::Result<OwnedFd> {
    let flags = OFlags::RDWR | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    Ok(rustix::fs::open(shm_file(name), flags, Mode::empty())?)
}

/// Opens an entry of the shared-memory directory read-only for a look at its
/// header, without following a symlink or blocking on a FIFO.
pub(crate) fn shm_open_to_inspect(name: &str) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    Ok(rustix::fs::open(shm_file(name), flags, Mode::empty())?)
}

pub(crate) fn shm_unlink(name: &str) -> io::Result<()> {
    Ok(rustix::fs::unlink(shm_file(name))?)
}

fn shm_file(name: &str) -> String {
    format!("{SHM_DIR}/{name}")
}

/// What `fstat` says about an open object.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stat {
    /// The file type's name: "regular file", "symbolic link", "FIFO", ….
    pub(crate) file_type: &'static str,
    pub(crate) owner: u32,
    /// Permission bits (and set-id/sticky bits), without the file type.
    pub(crate) mode: u32,
    pub(crate) size: u64,
}

impl Stat {
    /// Why pp must not use this object: `None` if it is a regular file owned
    /// by our effective uid that no group or other user can read or write.
    pub(crate) fn untrusted_because(&self) -> Option<&'static str> {
        if self.file_type != "regular file" {
            Some("it is not a regular file")
        } else if self.owner != effective_uid() {
            Some("another user owns it")
        } else if self.mode & 0o077 != 0 {
            Some("group or other users have access to it")
        } else {
            None
        }
    }
}

/// `fstat` of an open file.
pub(crate) fn inspect(fd: impl AsFd) -> io::Result<Stat> {
    let st = rustix::fs::fstat(fd)?;
    let file_type = match rustix::fs::FileType::from_raw_mode(st.st_mode) {
        rustix::fs::FileType::RegularFile => "regular file",
        rustix::fs::FileType::Directory => "directory",
        rustix::fs::FileType::Symlink => "symbolic link",
        rustix::fs::FileType::Fifo => "FIFO",
        rustix::fs::FileType::Socket => "socket",
        rustix::fs::FileType::CharacterDevice => "character device",
        rustix::fs::FileType::BlockDevice => "block device",
        _ => "file of unknown type",
    };
    Ok(Stat { file_type, owner: st.st_uid, mode: st.st_mode & 0o7777, size: st.st_size as u64 })
}

/// Our effective user id: the owner every object we open must have.
pub(crate) fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Reads up to `buf.len()` bytes at offset 0 (fewer at end of file).
pub(crate) fn read_start(fd: impl AsFd, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match rustix::io::pread(&fd, &mut buf[filled..], filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(filled)
}

/// Where the OS shows shared-memory objects as files.
pub(crate) const SHM_DIR: &str = "/dev/shm";

/// Sizes the object and reserves its pages now, so running out of tmpfs space
/// is an error here rather than a SIGBUS on first touch.
pub(crate) fn shm_size(fd: impl AsFd, len: usize) -> io::Result<()> {
    rustix::fs::ftruncate(&fd, len as u64)?;
    rustix::fs::fallocate(&fd, rustix::fs::FallocateFlags::empty(), 0, len as u64)?;
    Ok(())
}

/// A shared, read-write memory mapping, unmapped on drop.
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain shared memory with no thread affinity; all
// access to its contents goes through atomics or process-shared pthread objects.
unsafe impl Send for Mapping {}
// SAFETY: as above; `&Mapping` only hands out raw pointers.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `fd` shared and read-write.
    pub(crate) fn new(fd: impl AsFd, len: usize) -> io::Result<Mapping> {
        // SAFETY: a fresh mapping chosen by the kernel (null hint) overlaps no
        // Rust object; the fd stays valid for the call.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                fd,
                0,
            )?
        };
        let ptr =
            NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(Mapping { ptr, len })
    }

    #[inline]
    pub(crate) fn ptr(&self) -> NonNull<u8> {
        self.ptr
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len are exactly what mmap returned, and no reference into
        // the mapping outlives its owner (segments hand out borrows tied to self).
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// Fills `buf` with random bytes from the kernel.
pub(crate) fn random_bytes(buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        filled +=
            rustix::rand::getrandom(&mut buf[filled..], rustix::rand::GetRandomFlags::empty())?;
    }
    Ok(())
}

/// Whether process `pid` exists (zombies count as dead).
pub(crate) fn process_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    let state = stat.rfind(')').and_then(|i| stat[i + 1..].split_whitespace().next());
    !matches!(state, Some("Z" | "X"))
}

/// Outcome of a futex wait.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Woken, or the value had already changed, or a signal: re-check.
    Retry,
    /// The timeout passed.
    TimedOut,
}

/// Sleeps while `*word == expected`, at most `timeout` (None: forever).
/// Uses a shared (not process-private) futex so other processes' wakes reach it.
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> Wake {
    let timeout = timeout.map(timespec);
    match futex::wait(word, futex::Flags::empty(), expected, timeout.as_ref()) {
        Err(rustix::io::Errno::TIMEDOUT) => Wake::TimedOut,
        _ => Wake::Retry,
    }
}

/// Wakes up to `n` waiters on `word`, in any process.
pub(crate) fn futex_wake(word: &AtomicU32, n: u32) {
    let _ = futex::wake(word, futex::Flags::empty(), n);
}

/// Wakes every waiter on `word`, in any process.
pub(crate) fn futex_wake_all(word: &AtomicU32) {
    // The kernel reads the count as a signed int: u32::MAX would be -1 and wake one.
    futex_wake(word, i32::MAX as u32);
}

/// The most futex words one `futex_waitv` call waits on (the kernel's limit).
pub(crate) const WAITV_MAX: usize = 128;

/// One word for [`futex_waitv`]: sleep while it holds `expected`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Watched<'a> {
    pub(crate) word: &'a AtomicU32,
    pub(crate) expected: u32,
    /// Only this process wakes it (a private futex); otherwise any process may.
    pub(crate) private: bool,
}

/// Sleeps until one of `words` (at most [`WAITV_MAX`]) is woken or does
/// not hold its expected value, at most `timeout` (None: forever).
/// Linux 5.16 or later; an older kernel's `ENOSYS` comes back as an error.
pub(crate) fn futex_waitv(words: &[Watched<'_>], timeout: Option<Duration>) -> io::Result<Wake> {
    let waits: Vec<futex::Wait> = words
        .iter()
        .map(|w| {
            let mut wait = futex::Wait::new();
            wait.val = u64::from(w.expected);
            wait.uaddr = futex::WaitPtr::new(w.word.as_ptr().cast());
            wait.flags = if w.private {
                futex::WaitFlags::SIZE_U32 | futex::WaitFlags::PRIVATE
            } else {
                futex::WaitFlags::SIZE_U32
            };
            wait
        })
        .collect();
    // futex_waitv takes an absolute time on the clock it is given.
    let deadline = timeout.map(|t| {
        let now = rustix::time::clock_gettime(ClockId::Monotonic);
        timespec(Duration::new(now.tv_sec as u64, now.tv_nsec as u32).saturating_add(t))
    });
    match futex::waitv(&waits, futex::WaitvFlags::empty(), deadline.as_ref(), ClockId::Monotonic) {
        Ok(_) | Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => Ok(Wake::Retry),
        Err(rustix::io::Errno::TIMEDOUT) => Ok(Wake::TimedOut),
        Err(e) => Err(e.into()),
    }
}

/// Sleeps on a word only this process wakes, while it holds `expected`.
pub(crate) fn futex_wait_private(word: &AtomicU32, expected: u32) {
    let _ = futex::wait(word, futex::Flags::PRIVATE, expected, None);
}

/// Wakes every waiter on a word only this process uses.
pub(crate) fn futex_wake_private(word: &AtomicU32) {
    let _ = futex::wake(word, futex::Flags::PRIVATE, i32::MAX as u32);
}

/// The bit a robust mutex's lock word carries while some thread sleeps on
/// it: only then does the holder's unlock wake anyone (the kernel's robust
/// futex ABI, which glibc's robust mutexes follow).
pub(crate) const MUTEX_WAITERS: u32 = futex::WAITERS;
/// The bits of a robust mutex's lock word that hold the holder's thread id
/// (all zero: unlocked).
pub(crate) const MUTEX_HOLDER: u32 = 0x3fff_ffff;

fn timespec(d: Duration) -> Timespec {
    Timespec { tv_sec: d.as_secs().min(i64::MAX as u64) as _, tv_nsec: d.subsec_nanos() as _ }
}

/// The outcome of locking a robust mutex.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Locked {
    /// Locked normally.
    Ok,
    /// Locked, and the previous owner had died holding it; it was made consistent.
    OwnerDied,
    /// Not locked: busy (try) or the deadline passed.
    Busy,
    /// Left unrecoverable by an earlier owner death.
    Unrecoverable,
    /// The calling thread already holds it.
    HeldByCaller,
    /// Not locked: its words are not those of the robust mutex pp made (see
    /// [`mutex_corruption`]); the text says which word holds what.
    Corrupt(String),
}

/// The words of a freshly initialised robust, process-shared, error-checking
/// mutex that are not zero (glibc's kind and flags), with their values.
/// They never change over a mutex's life, so one that differs was written
/// by someone else, and glibc would act on the kind it finds there (a
/// zeroed kind is a plain mutex that no longer survives its holder).
fn reference_kind_words() -> &'static [(usize, u32)] {
    static WORDS: std::sync::OnceLock<Vec<(usize, u32)>> = std::sync::OnceLock::new();
    WORDS.get_or_init(|| {
        let mut m = MaybeUninit::<libc::pthread_mutex_t>::zeroed();
        // SAFETY: a zeroed local we own, not shared with anyone.
        if unsafe { mutex_init(m.as_mut_ptr()) }.is_err() {
            return Vec::new();
        }
        // SAFETY: initialised above; pthread_mutex_t is plain bytes, and its
        // size is a multiple of 4 (checked by the chunking below).
        let bytes: &[u8] = unsafe {
            std::slice::from_raw_parts(
                m.as_ptr().cast::<u8>(),
                std::mem::size_of::<libc::pthread_mutex_t>(),
            )
        };
        let words: Vec<(usize, u32)> = bytes
            .chunks_exact(4)
            .enumerate()
            .map(|(i, w)| (i * 4, u32::from_ne_bytes([w[0], w[1], w[2], w[3]])))
            .filter(|&(_, v)| v != 0)
            .collect();
        // SAFETY: initialised above and never locked.
        unsafe { libc::pthread_mutex_destroy(m.as_mut_ptr()) };
        words
    })
}

/// What is wrong with the mutex at `m`, if its kind words are not those of
/// the mutex pp made.
///
/// # Safety
/// `m` must point to a mapped, 4-byte aligned `pthread_mutex_t`-sized area
/// that is only written atomically or by glibc.
pub(crate) unsafe fn mutex_corruption(m: *const libc::pthread_mutex_t) -> Option<String> {
    for &(offset, expected) in reference_kind_words() {
        // SAFETY: offset < size_of::<pthread_mutex_t>() (it came from chunking
        // one) and is a multiple of 4; the caller guarantees the area is mapped
        // and aligned. Read atomically: other processes may write it.
        let word = unsafe { &*m.cast::<u8>().add(offset).cast::<AtomicU32>() };
        let found = word.load(std::sync::atomic::Ordering::Relaxed);
        if found != expected {
            return Some(format!(
                "mutex word at offset {offset} is {found:#x}, not {expected:#x} (its kind)"
            ));
        }
    }
    None
}

/// Initialises a process-shared, robust, error-checking pthread mutex at `m`.
///
/// # Safety
/// `m` must be valid for writes, aligned for `pthread_mutex_t`, and not used
/// by anyone until this returns.
pub(crate) unsafe fn mutex_init(m: *mut libc::pthread_mutex_t) -> io::Result<()> {
    let mut attr = MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
    // SAFETY: attr is a local we own; init writes it before any other use.
    check(unsafe { libc::pthread_mutexattr_init(attr.as_mut_ptr()) })?;
    let attr = attr.as_mut_ptr();
    // SAFETY: attr was initialised above and is destroyed below.
    let configured = unsafe {
        check(libc::pthread_mutexattr_setpshared(attr, libc::PTHREAD_PROCESS_SHARED))
            .and_then(|()| {
                check(libc::pthread_mutexattr_setrobust(attr, libc::PTHREAD_MUTEX_ROBUST))
            })
            .and_then(|()| {
                check(libc::pthread_mutexattr_settype(attr, libc::PTHREAD_MUTEX_ERRORCHECK))
            })
            // SAFETY: the caller guarantees m is valid, aligned and not yet shared.
            .and_then(|()| check(libc::pthread_mutex_init(m, attr)))
    };
    // SAFETY: attr is initialised; destroying it does not affect the mutex.
    unsafe { libc::pthread_mutexattr_destroy(attr) };
    configured
}

unsafe extern "C" {
    /// glibc 2.30+: like `pthread_mutex_timedlock`, with the clock chosen.
    fn pthread_mutex_clocklock(
        m: *mut libc::pthread_mutex_t,
        clock: libc::clockid_t,
        abstime: *const libc::timespec,
    ) -> libc::c_int;
}

/// Locks `m`, waiting at most `timeout` on the monotonic clock (None: forever;
/// zero: try once).
///
/// # Safety
/// `m` must point to a mutex initialised by [`mutex_init`] that stays mapped
/// for the duration of the call.
#[inline]
pub(crate) unsafe fn mutex_lock(
    m: *mut libc::pthread_mutex_t,
    timeout: Option<Duration>,
) -> io::Result<Locked> {
    // SAFETY: the caller guarantees m is a mapped, aligned mutex.
    if let Some(reason) = unsafe { mutex_corruption(m) } {
        return Ok(Locked::Corrupt(reason));
    }
    // SAFETY: the caller guarantees m is an initialised, mapped mutex.
    let first = unsafe { libc::pthread_mutex_trylock(m) };
    let rc = match timeout {
        // Uncontended: done without reading the clock (a syscall on some VMs).
        _ if first != libc::EBUSY => first,
        Some(t) if t.is_zero() => first,
        // SAFETY: the caller guarantees m is an initialised, mapped mutex.
        None => unsafe { libc::pthread_mutex_lock(m) },
        Some(t) => {
            let now = rustix::time::clock_gettime(ClockId::Monotonic);
            let deadline = Duration::new(now.tv_sec as u64, now.tv_nsec as u32).saturating_add(t);
            let abstime = libc::timespec {
                tv_sec: deadline.as_secs().min(i64::MAX as u64) as _,
                tv_nsec: deadline.subsec_nanos() as _,
            };
            // SAFETY: the caller guarantees m is an initialised, mapped mutex; abstime is a
            // valid timespec with nanoseconds below one second.
            unsafe { pthread_mutex_clocklock(m, libc::CLOCK_MONOTONIC, &abstime) }
        }
    };
    match rc {
        0 => Ok(Locked::Ok),
        libc::EOWNERDEAD => {
            // SAFETY: we hold the mutex (EOWNERDEAD locks it for us).
            check(unsafe { libc::pthread_mutex_consistent(m) })?;
            Ok(Locked::OwnerDied)
        }
        libc::EBUSY | libc::ETIMEDOUT => Ok(Locked::Busy),
        libc::ENOTRECOVERABLE => Ok(Locked::Unrecoverable),
        libc::EDEADLK => Ok(Locked::HeldByCaller),
        // glibc found words it cannot make sense of.
        libc::EINVAL => Ok(Locked::Corrupt("glibc calls it an invalid mutex (EINVAL)".into())),
        other => Err(io::Error::from_raw_os_error(other)),
    }
}

/// Unlocks `m`; `EPERM` if the calling thread does not hold it.
///
/// # Safety
/// As for [`mutex_lock`].
#[inline]
pub(crate) unsafe fn mutex_unlock(m: *mut libc::pthread_mutex_t) -> io::Result<()> {
    // SAFETY: the caller guarantees m is an initialised, mapped mutex.
    check(unsafe { libc::pthread_mutex_unlock(m) })
}

#[inline]
fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 { Ok(()) } else { Err(io::Error::from_raw_os_error(rc)) }
}

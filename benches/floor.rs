//! The raw floors: what the OS gives with no library in between.
//!
//! - [`SharedWords`]: two futex words in a `/dev/shm` mapping, for a bare
//!   futex ping-pong between two processes, and a spinning one.
//! - [`BareMutex`]: a robust, process-shared pthread mutex, locked and
//!   unlocked with nothing around it.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use rustix::fs::Mode;
use rustix::mm::{MapFlags, ProtFlags};
use rustix::shm;
use rustix::thread::futex;

const LEN: usize = 4096;

/// Two `AtomicU32` words in shared memory, named `pp-bench-…`.
#[derive(Debug)]
pub struct SharedWords {
    name: String,
    ptr: NonNull<AtomicU32>,
    owner: bool,
}

impl SharedWords {
    /// Creates the words (zeroed) under a fresh name.
    pub fn create() -> SharedWords {
        static N: AtomicU32 = AtomicU32::new(0);
        let name =
            format!("pp-bench-floor-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let fd = shm::open(
            &*format!("/{name}"),
            shm::OFlags::CREATE | shm::OFlags::EXCL | shm::OFlags::RDWR,
            Mode::RUSR | Mode::WUSR,
        )
        .expect("shm_open");
        rustix::fs::ftruncate(&fd, LEN as u64).expect("ftruncate");
        SharedWords { ptr: map(&fd), name, owner: true }
    }

    /// Opens words another process created.
    pub fn open(name: &str) -> SharedWords {
        let fd =
            shm::open(&*format!("/{name}"), shm::OFlags::RDWR, Mode::empty()).expect("shm_open");
        SharedWords { ptr: map(&fd), name: name.to_owned(), owner: false }
    }

    /// The name to hand to the peer.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Word `i` (0 or 1).
    pub fn word(&self, i: usize) -> &AtomicU32 {
        assert!(i < 2);
        // SAFETY: the mapping is LEN bytes, page aligned, lives as long as self,
        // and its words are only accessed atomically.
        unsafe { &*self.ptr.as_ptr().add(i * 16) }
    }

    /// Waits until word `i` equals `want` (sleeping on the futex, no spinning).
    pub fn wait_for(&self, i: usize, want: u32) {
        loop {
            let now = self.word(i).load(Ordering::Acquire);
            if now == want {
                return;
            }
            let _ = futex::wait(self.word(i), futex::Flags::empty(), now, None);
        }
    }

    /// Waits until word `i` equals `want`, spinning (no system call): the
    /// floor of a shared-memory round trip when both sides are running.
    pub fn spin_for(&self, i: usize, want: u32) {
        while self.word(i).load(Ordering::Acquire) != want {
            std::hint::spin_loop();
        }
    }

    /// Stores `value` in word `i` without waking anyone (for a spinning peer).
    pub fn store(&self, i: usize, value: u32) {
        self.word(i).store(value, Ordering::Release);
    }

    /// Stores `value` in word `i` and wakes its waiter.
    pub fn post(&self, i: usize, value: u32) {
        self.word(i).store(value, Ordering::Release);
        let _ = futex::wake(self.word(i), futex::Flags::empty(), 1);
    }
}

fn map(fd: &std::os::fd::OwnedFd) -> NonNull<AtomicU32> {
    // SAFETY: a fresh shared mapping of LEN bytes chosen by the kernel; it
    // overlaps nothing and is unmapped only in Drop.
    let ptr = unsafe {
        rustix::mm::mmap(
            std::ptr::null_mut(),
            LEN,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::SHARED,
            fd,
            0,
        )
        .expect("mmap")
    };
    NonNull::new(ptr.cast()).expect("non-null mapping")
}

impl Drop for SharedWords {
    fn drop(&mut self) {
        // SAFETY: exactly the mapping made in `map`; no reference outlives self.
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), LEN) };
        if self.owner {
            let _ = shm::unlink(&*format!("/{}", self.name));
        }
    }
}

// SAFETY: the pointer is to shared memory accessed only through atomics.
unsafe impl Send for SharedWords {}

/// A robust, process-shared pthread mutex on the heap: pp's `Lock` without pp.
#[derive(Debug)]
pub struct BareMutex {
    mutex: Box<libc::pthread_mutex_t>,
}

impl Default for BareMutex {
    fn default() -> Self {
        Self::new()
    }
}

impl BareMutex {
    /// Initialises the mutex with the attributes pp's `Lock` uses.
    pub fn new() -> BareMutex {
        // SAFETY: zeroed memory is a valid starting point for pthread_mutex_init,
        // which overwrites it.
        let mut mutex: Box<libc::pthread_mutex_t> = Box::new(unsafe { std::mem::zeroed() });
        let mut attr = std::mem::MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
        // SAFETY: attr is initialised by pthread_mutexattr_init before use and
        // destroyed after; the mutex is ours and not shared yet.
        unsafe {
            libc::pthread_mutexattr_init(attr.as_mut_ptr());
            libc::pthread_mutexattr_setpshared(attr.as_mut_ptr(), libc::PTHREAD_PROCESS_SHARED);
            libc::pthread_mutexattr_setrobust(attr.as_mut_ptr(), libc::PTHREAD_MUTEX_ROBUST);
            libc::pthread_mutexattr_settype(attr.as_mut_ptr(), libc::PTHREAD_MUTEX_ERRORCHECK);
            libc::pthread_mutex_init(&mut *mutex, attr.as_ptr());
            libc::pthread_mutexattr_destroy(attr.as_mut_ptr());
        }
        BareMutex { mutex }
    }

    /// Locks and unlocks once.
    pub fn lock_unlock(&mut self) {
        // SAFETY: the mutex was initialised in new and is only used by this thread.
        unsafe {
            assert_eq!(libc::pthread_mutex_lock(&mut *self.mutex), 0);
            assert_eq!(libc::pthread_mutex_unlock(&mut *self.mutex), 0);
        }
    }
}

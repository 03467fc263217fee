//! Calling a function of this binary in another process running the same
//! binary: function addresses travel as offsets from an anchor function, so
//! address-space randomisation (which moves the whole image) cancels out.
//!
//! All of pp-pool's `unsafe` lives here. It is sound only between processes
//! of the same executable, which the worker handshake checks
//! ([`Identity`]) before any task runs.

use std::os::unix::fs::MetadataExt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::thread_pool::panic_message;

/// What a task produced, as it crosses back to the pool.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum WireOutcome {
    Value(Vec<u8>),
    Panicked(String),
    Serialization { what: String, reason: String },
}

/// Runs a task from its function's address and its encoded argument.
pub(crate) type Trampoline = fn(usize, &[u8]) -> WireOutcome;

#[inline(never)]
fn anchor() {}

fn anchor_address() -> usize {
    anchor as fn() as usize
}

/// The offset of a function of this binary from the anchor.
pub(crate) fn offset_of(address: usize) -> i64 {
    address as i64 - anchor_address() as i64
}

/// A task function and its trampoline, as offsets.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct RemoteFn {
    pub(crate) trampoline: i64,
    pub(crate) func: i64,
}

impl RemoteFn {
    /// `f`, callable with an encoded `A` in a worker of this binary.
    pub(crate) fn new<A, R>(f: fn(A) -> R) -> RemoteFn
    where
        A: DeserializeOwned,
        R: Serialize,
    {
        let trampoline: Trampoline = trampoline::<A, R>;
        RemoteFn { trampoline: offset_of(trampoline as usize), func: offset_of(f as usize) }
    }

    /// A function with no argument and no result (a worker initializer).
    pub(crate) fn nullary(f: fn()) -> RemoteFn {
        let trampoline: Trampoline = nullary_trampoline;
        RemoteFn { trampoline: offset_of(trampoline as usize), func: offset_of(f as usize) }
    }

    /// Runs the function on `arg`.
    ///
    /// # Safety
    /// `self` must come from [`RemoteFn::new`] in a process running the same
    /// executable as this one (so both offsets name the functions they named there).
    pub(crate) unsafe fn call(self, arg: &[u8]) -> WireOutcome {
        let base = anchor_address() as i64;
        // SAFETY: by the caller's guarantee, base + trampoline is the address of
        // `trampoline::<A, R>` in this image, a `Trampoline`; fn pointers and
        // usize have the same size.
        let trampoline =
            unsafe { std::mem::transmute::<usize, Trampoline>((base + self.trampoline) as usize) };
        trampoline((base + self.func) as usize, arg)
    }
}

fn trampoline<A, R>(func: usize, arg: &[u8]) -> WireOutcome
where
    A: DeserializeOwned,
    R: Serialize,
{
    // SAFETY: `func` is the address of the `fn(A) -> R` this trampoline was
    // instantiated for (RemoteFn::new pairs them; RemoteFn::call's contract
    // keeps the pair valid in this process).
    let f = unsafe { std::mem::transmute::<usize, fn(A) -> R>(func) };
    let arg: A = match postcard::from_bytes(arg) {
        Ok(arg) => arg,
        Err(e) => {
            return WireOutcome::Serialization { what: "argument".into(), reason: e.to_string() };
        }
    };
    match catch_unwind(AssertUnwindSafe(|| f(arg))) {
        Ok(value) => match postcard::to_allocvec(&value) {
            Ok(bytes) => WireOutcome::Value(bytes),
            Err(e) => WireOutcome::Serialization { what: "result".into(), reason: e.to_string() },
        },
        Err(payload) => WireOutcome::Panicked(panic_message(&*payload)),
    }
}

fn nullary_trampoline(func: usize, _arg: &[u8]) -> WireOutcome {
    // SAFETY: `func` is the address of the `fn()` RemoteFn::nullary was given.
    let f = unsafe { std::mem::transmute::<usize, fn()>(func) };
    match catch_unwind(f) {
        Ok(()) => WireOutcome::Value(Vec::new()),
        Err(payload) => WireOutcome::Panicked(panic_message(&*payload)),
    }
}

/// Who a process is: its executable file, and where the anchor sits relative
/// to a probe function (the same in every run of the same binary).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Identity {
    dev: u64,
    inode: u64,
    size: u64,
    mtime_ns: i64,
    probe: i64,
}

#[inline(never)]
fn probe() {}

impl Identity {
    pub(crate) fn of_this_process() -> std::io::Result<Identity> {
        let meta = std::fs::metadata("/proc/self/exe")?;
        Ok(Identity {
            dev: meta.dev(),
            inode: meta.ino(),
            size: meta.size(),
            mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            probe: offset_of(probe as fn() as usize),
        })
    }

    /// What differs between two identities, for the error message.
    pub(crate) fn difference(&self, other: &Identity) -> String {
        if (self.dev, self.inode) != (other.dev, other.inode) {
            format!(
                "executable file {}:{} is not {}:{}",
                other.dev, other.inode, self.dev, self.inode
            )
        } else if (self.size, self.mtime_ns) != (other.size, other.mtime_ns) {
            "the executable changed on disk".into()
        } else {
            "the code layout differs".into()
        }
    }
}

//! Calling a function of this binary in another process running the same
//! binary: function addresses travel as offsets from an anchor function, so
//! address-space randomisation (which moves the whole image) cancels out.
//!
//! With `sys.rs`, the only `unsafe` of pp-pool: turning a received offset back
//! into a function pointer and calling it. A worker does that only through a
//! [`Gate`], and this is exactly what holds when it does:
//!
//! 1. **Same executable.** The gate opens only if the pool's [`Identity`]
//!    (device, inode, size and mtime of the executable, and the offset of a
//!    probe function from the anchor) equals the worker's, so an offset names
//!    in the worker the function it named in the pool.
//! 2. **The frame comes from the pool, and from its `RemoteFn::new`.** The
//!    worker reads frames only from the socket it inherited from its parent
//!    (the creator of the pair is its parent, checked; the pair has no name,
//!    so no other process can connect to it or write into it). The pool sends
//!    a random 128-bit key (from `getrandom`, never in the environment or
//!    argv) in its first frame; every function it sends after is sealed with
//!    a SipHash-2-4 tag of (sequence number, trampoline offset, function
//!    offset) under that key, and the pool seals only what [`RemoteFn::new`]
//!    and [`RemoteFn::nullary`] built: a real trampoline (the only values of
//!    [`Trampoline`] type this crate creates) paired with the function it was
//!    instantiated for. A frame the pool did not seal (bytes garbled, spliced,
//!    replayed or reordered, or written by anyone but the holder of the key)
//!    fails the tag check: [`Forgery::BadTag`].
//! 3. **Inside our code.** Both offsets, added to the anchor's address with
//!    overflow-checked arithmetic, must land inside an executable mapping of
//!    this program's own file (`/proc/self/maps`, read once): otherwise
//!    [`Forgery::OutsideText`]. Even a frame that passed 1–2 wrongly (a pool
//!    bug) cannot send the worker to the heap, the stack, a library or an
//!    unmapped address.
//!
//! So a forged frame cannot make a worker call an arbitrary address: it is
//! refused with a typed [`Forgery`] before any call, and the worker exits.
//! What this does not cover: a process allowed to ptrace the pool or the
//! worker (same uid without Yama restrictions) can read the key, or simply
//! write the worker's memory; no in-process check can stop that.

use std::hash::Hasher;
use std::os::unix::fs::MetadataExt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::panic_message::panic_message;

/// What a task produced, as it crosses back to the pool.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum WireOutcome {
    Value(Vec<u8>),
    Panicked(String),
    Serialization { what: String, reason: String },
}

/// Runs a task from its function's address and its encoded argument.
pub(crate) type Trampoline = fn(usize, &[u8]) -> WireOutcome;

// The anchor and the probe must never share an address: release builds merge
// functions with identical bodies (LLVM's mergefunc made two empty functions
// one, and the probe offset 0). Distinct constants through `black_box` keep
// the bodies different.
#[inline(never)]
fn anchor() -> u64 {
    std::hint::black_box(0x616e_6368_6f72) // "anchor"
}

#[inline(never)]
fn probe() -> u64 {
    std::hint::black_box(0x7072_6f62_6521) // "probe!"
}

fn anchor_address() -> usize {
    anchor as fn() -> u64 as usize
}

/// The offset of a function of this binary from the anchor.
pub(crate) fn offset_of(address: usize) -> i64 {
    (address as i128 - anchor_address() as i128) as i64
}

/// A task function and its trampoline, as offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

fn trampoline<A, R>(func: usize, arg: &[u8]) -> WireOutcome
where
    A: DeserializeOwned,
    R: Serialize,
{
    // SAFETY: `func` is the address of the `fn(A) -> R` this trampoline was
    // instantiated for: RemoteFn::new pairs them, and Gate::run calls a
    // trampoline only with the function sealed with it (see the module docs).
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
    // SAFETY: `func` is the address of the `fn()` RemoteFn::nullary was given
    // (paired and checked as in `trampoline`).
    let f = unsafe { std::mem::transmute::<usize, fn()>(func) };
    match catch_unwind(f) {
        Ok(()) => WireOutcome::Value(Vec::new()),
        Err(payload) => WireOutcome::Panicked(panic_message(&*payload)),
    }
}

/// A per-worker secret: 128 random bits, sent once over the worker's socket.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Key([u64; 2]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)") // never in logs
    }
}

impl Key {
    pub(crate) fn random() -> std::io::Result<Key> {
        let mut bytes = [0u8; 16];
        let mut filled = 0;
        while filled < bytes.len() {
            filled += rustix::rand::getrandom(
                &mut bytes[filled..],
                rustix::rand::GetRandomFlags::empty(),
            )?;
        }
        let (a, b) = bytes.split_at(8);
        Ok(Key([
            u64::from_le_bytes(a.try_into().expect("8 bytes")),
            u64::from_le_bytes(b.try_into().expect("8 bytes")),
        ]))
    }

    fn tag(&self, seq: u64, function: RemoteFn) -> u64 {
        // SipHash-2-4 is a keyed PRF made for short inputs, i.e. a MAC; std
        // deprecates this type only as a HashMap hasher.
        #[allow(deprecated)]
        let mut mac = std::hash::SipHasher::new_with_keys(self.0[0], self.0[1]);
        mac.write_u64(seq);
        mac.write_i64(function.trampoline);
        mac.write_i64(function.func);
        mac.finish()
    }

    /// `function` as the `seq`-th function sent under this key.
    pub(crate) fn seal(&self, seq: u64, function: RemoteFn) -> Sealed {
        Sealed { function, tag: self.tag(seq, function) }
    }
}

/// A function as sent to a worker: its offsets and their tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Sealed {
    pub(crate) function: RemoteFn,
    pub(crate) tag: u64,
}

/// Why a worker refused to call a function it was sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum Forgery {
    /// The tag is not the pool's seal of these offsets at this point of the stream.
    #[error(
        "function #{seq} (offsets {trampoline:#x}, {func:#x}) is not sealed with this worker's key"
    )]
    BadTag { seq: u64, trampoline: i64, func: i64 },
    /// An offset points outside this executable's code.
    #[error("the {which} offset {offset:#x} points outside this executable's code")]
    OutsideText { which: &'static str, offset: i64 },
}

/// The executable mappings of this program's own file, and the anchor's address.
#[derive(Clone, Debug)]
pub(crate) struct Text {
    ranges: Vec<(usize, usize)>,
    anchor: usize,
}

impl Text {
    /// Reads `/proc/self/maps` (once per call: a worker calls it once).
    pub(crate) fn of_this_process() -> std::io::Result<Text> {
        let exe = std::fs::read_link("/proc/self/exe")?;
        let exe = exe.to_string_lossy();
        let inode = std::fs::metadata("/proc/self/exe")?.ino();
        let maps = std::fs::read_to_string("/proc/self/maps")?;
        let text = Text { ranges: parse_text_ranges(&maps, &exe, inode), anchor: anchor_address() };
        if !text.contains(text.anchor) {
            return Err(std::io::Error::other(format!(
                "cannot find this program's code in /proc/self/maps (executable {exe})"
            )));
        }
        Ok(text)
    }

    fn contains(&self, address: usize) -> bool {
        self.ranges.iter().any(|&(start, end)| (start..end).contains(&address))
    }

    /// The address `offset` names, if it is inside our code.
    fn locate(&self, which: &'static str, offset: i64) -> Result<usize, Forgery> {
        isize::try_from(offset)
            .ok()
            .and_then(|offset| self.anchor.checked_add_signed(offset))
            .filter(|&address| self.contains(address))
            .ok_or(Forgery::OutsideText { which, offset })
    }
}

/// `start..end` of the executable (`x`) mappings of the file `exe` (or of
/// inode `inode`, for file systems that show another path) in a maps text.
fn parse_text_ranges(maps: &str, exe: &str, inode: u64) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms), Some(_offset), Some(_dev), Some(ino)) =
            (fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let path = fields.collect::<Vec<_>>().join(" ");
        if perms.as_bytes().get(2) != Some(&b'x') {
            continue;
        }
        if path != exe && ino.parse::<u64>().ok() != Some(inode) {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else { continue };
        if let (Ok(start), Ok(end)) =
            (usize::from_str_radix(start, 16), usize::from_str_radix(end, 16))
            && start < end
        {
            ranges.push((start, end));
        }
    }
    ranges
}

/// The only way a worker calls a received function (see the module docs).
#[derive(Debug)]
pub(crate) struct Gate {
    key: Key,
    /// The sequence number the next sealed function must carry.
    next: u64,
    text: Text,
}

/// Why a gate did not open.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Closed {
    /// The pool runs another executable (or another build of it).
    #[error("not the pool's binary: {0}")]
    NotSameBinary(String),
    /// Our own identity or code mappings could not be read.
    #[error("cannot read this process's identity: {0}")]
    Unreadable(String),
}

impl Gate {
    /// Opens only if `pool` is this process's identity.
    pub(crate) fn open(key: Key, pool: &Identity) -> Result<Gate, Closed> {
        let ours = Identity::of_this_process().map_err(|e| Closed::Unreadable(e.to_string()))?;
        if &ours != pool {
            return Err(Closed::NotSameBinary(pool.difference(&ours)));
        }
        let text = Text::of_this_process().map_err(|e| Closed::Unreadable(e.to_string()))?;
        Ok(Gate { key, next: 0, text })
    }

    /// Checks `sealed` and, if it passes, calls it on `arg`.
    pub(crate) fn run(&mut self, sealed: Sealed, arg: &[u8]) -> Result<WireOutcome, Forgery> {
        let seq = self.next;
        let RemoteFn { trampoline, func } = sealed.function;
        if self.key.tag(seq, sealed.function) != sealed.tag {
            return Err(Forgery::BadTag { seq, trampoline, func });
        }
        let trampoline = self.text.locate("trampoline", trampoline)?;
        let func = self.text.locate("function", func)?;
        self.next += 1;
        // SAFETY: the gate opened because the pool runs this very executable
        // (Identity), so offsets mean the same functions here; the tag proves
        // the pool sealed exactly these offsets, and the pool seals only what
        // RemoteFn::new/nullary built: the address of a `Trampoline` and of the
        // function it was instantiated for; both addresses were checked to be
        // inside this executable's code. fn pointers and usize have one size.
        let trampoline = unsafe { std::mem::transmute::<usize, Trampoline>(trampoline) };
        Ok(trampoline(func, arg))
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

impl Identity {
    pub(crate) fn of_this_process() -> std::io::Result<Identity> {
        let meta = std::fs::metadata("/proc/self/exe")?;
        Ok(Identity {
            dev: meta.dev(),
            inode: meta.ino(),
            size: meta.size(),
            mtime_ns: meta.mtime().saturating_mul(1_000_000_000).saturating_add(meta.mtime_nsec()),
            probe: offset_of(probe as fn() -> u64 as usize),
        })
    }

    #[cfg(test)]
    pub(crate) fn set_probe_for_test(&mut self, probe: i64) {
        self.probe = probe;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_is_not_merged_with_the_anchor() {
        let identity = Identity::of_this_process().unwrap();
        assert_ne!(
            identity.probe, 0,
            "probe() and anchor() share an address: the probe proves nothing"
        );
        assert_ne!(anchor(), probe());
    }

    #[test]
    fn text_ranges_are_the_executable_mappings_of_our_file() {
        let maps = "\
5600-5700 r--p 00000000 fe:00 42 /usr/bin/prog
5700-5900 r-xp 00001000 fe:00 42 /usr/bin/prog
5900-5a00 rw-p 00003000 fe:00 42 /usr/bin/prog
7f00-7f10 r-xp 00000000 fe:00 77 /usr/lib/libc.so.6
7f10-7f20 rwxp 00000000 00:00 0 
8000-9000 r-xp 00000000 fe:00 42 /usr/bin/prog (deleted)
ffff-1 r-xp 00000000 fe:00 42 /usr/bin/prog
garbage line
";
        assert_eq!(
            parse_text_ranges(maps, "/usr/bin/prog", 42),
            vec![(0x5700, 0x5900), (0x8000, 0x9000)]
        );
        assert_eq!(parse_text_ranges(maps, "/elsewhere/prog", 1), vec![]);
        let text = Text::of_this_process().unwrap();
        assert!(text.locate("function", 0).is_ok(), "the anchor itself");
        for offset in [i64::MAX, i64::MIN, -(text.anchor as i64)] {
            assert_eq!(
                text.locate("function", offset),
                Err(Forgery::OutsideText { which: "function", offset })
            );
        }
    }
}

//! The byte ring under every queue: length-prefixed records in shared
//! memory, behind a robust mutex, with futex waits for items and room.
//! [`Queue`](crate::Queue) and [`AnyQueue`](crate::AnyQueue) put typed items through it.
//!
//! Layout of the payload (offsets in bytes):
//!
//! | offset | what |
//! |---|---|
//! | 0 | robust process-shared mutex guarding the ring |
//! | 64 | ring capacity in bytes (u64, immutable) |
//! | 72 | maxsize in items, 0 = bytes only (u64, immutable) |
//! | 80 | put state: tail offset (low 32 bits), items put (high 32) |
//! | 88 | get state: head offset (low 32 bits), items got (high 32) |
//! | 96, 100 | futex words bumped on every put / get |
//! | 104, 108 | consumers / producers waiting (only to skip needless wakes) |
//! | 128 | the ring: records of a u32 length then the item's bytes, wrapping |
//!
//! Crash safety: a put or get changes the queue with **one** store of its
//! state word, made under the mutex after the bytes are in place. A process
//! killed before that store changed nothing visible; after it, the operation
//! is complete. The robust mutex hands the lock on when a holder dies, and
//! the next holder finds a consistent queue.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::task::{Poll, ready};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{decode_whole, with_encoded, with_scratch};
use crate::error::{Error, Result};
use crate::futures::{Pending, Watch};
use crate::id::ObjectId;
use crate::segment::{Kind, PayloadSize, Segment};
use crate::spin::Spinner;
use crate::sys::{self, Locked};
use crate::wait::Wait;
use crate::wait_error::PutError;
use crate::wait_error::Stopped;

const MUTEX: usize = 0;
const CAPACITY: usize = 64;
const MAXSIZE: usize = 72;
const PUT_STATE: usize = 80;
const GET_STATE: usize = 88;
const PUT_SEQ: usize = 96;
const GET_SEQ: usize = 100;
const CONSUMERS_WAITING: usize = 104;
const PRODUCERS_WAITING: usize = 108;
const RING: usize = 128;
/// The smallest payload a queue can have: its fields and a ring for one record.
const MIN_PAYLOAD: usize = RING + PREFIX;
/// Bytes of the length prefix of every record.
const PREFIX: usize = 4;
/// Trylock attempts before sleeping on the mutex: the critical section is short.
const SPINS: u32 = 64;
/// Longest single futex sleep; bounds the delay if a woken waiter died before acting.
const MAX_SLEEP: Duration = Duration::from_millis(100);
/// How long a call that does not wait for room or items (`try_put`, `try_get`,
/// `clear`) waits for the ring's mutex. Holders keep it for microseconds; one
/// that keeps it this long is stuck or hostile, and the call says so.
const LOCK_PATIENCE: Duration = Duration::from_secs(1);
/// Bytes a batched put or get moves under one hold of the mutex at most
/// (past one record): a longer hold makes the other side wait for the lock
/// instead of working beside it.
const BATCH_BYTES: usize = 64 << 10;

/// The ring's state words, read under the mutex and checked against the
/// capacity: another process may have written anything into them.
#[derive(Clone, Copy, Debug)]
struct RingState {
    head: u32,
    tail: u32,
    got: u32,
    put: u32,
    /// Items in the ring.
    len: u32,
    /// Bytes in use.
    used: usize,
}

const _: () = assert!(std::mem::size_of::<libc::pthread_mutex_t>() <= CAPACITY);

/// Sizes of a new queue: `QueueOptions::default().maxsize(100).capacity_bytes(1 << 16)`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct QueueOptions {
    /// The most items it holds; 0 means bounded only by `capacity_bytes`.
    pub maxsize: usize,
    /// Bytes of item storage (each item takes its serialized size plus 4).
    pub capacity_bytes: usize,
    /// The queue's id; generated when `None`.
    pub id: Option<ObjectId>,
}

impl QueueOptions {
    /// The most items it holds; 0 means bounded only by the byte capacity.
    pub fn maxsize(mut self, maxsize: usize) -> Self {
        self.maxsize = maxsize;
        self
    }

    /// Bytes of item storage (each item takes its serialized size plus 4).
    pub fn capacity_bytes(mut self, capacity_bytes: usize) -> Self {
        self.capacity_bytes = capacity_bytes;
        self
    }

    /// The queue's id (else one is generated).
    pub fn id(mut self, id: ObjectId) -> Self {
        self.id = Some(id);
        self
    }

    /// The default byte capacity: 1 MiB.
    pub const DEFAULT_CAPACITY: usize = 1 << 20;
    /// The largest byte capacity: 1 GiB.
    pub const MAX_CAPACITY: usize = 1 << 30;
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions { maxsize: 0, capacity_bytes: Self::DEFAULT_CAPACITY, id: None }
    }
}

/// A queue's ring, mapped: what [`Queue`](crate::Queue) and
/// [`AnyQueue`](crate::AnyQueue) share.
#[derive(Debug)]
pub(crate) struct Ring {
    segment: Segment,
    capacity: usize,
    maxsize: u32,
    /// How long this process spins for items or room before it sleeps.
    spinner: Spinner,
}

/// An attempt's outcome as [`Pending::poll`] takes it: `None` to wait on.
fn stopped<T>(outcome: Result<T, Stopped>) -> Option<Result<T>> {
    match outcome {
        Ok(taken) => Some(Ok(taken)),
        Err(Stopped::NotReady) => None,
        Err(Stopped::Failed(error)) => Some(Err(error)),
    }
}

fn pack(offset: u32, count: u32) -> u64 {
    (count as u64) << 32 | offset as u64
}

fn unpack(state: u64) -> (u32, u32) {
    (state as u32, (state >> 32) as u32)
}

impl Ring {
    /// Creates a ring with `options`' sizes and id (generated when `None`).
    pub(crate) fn create(options: QueueOptions) -> Result<Ring> {
        let id = match options.id {
            Some(id) => id,
            None => ObjectId::generate("queue")?,
        };
        let invalid = |reason: String| Err(Error::InvalidOptions { id: id.to_string(), reason });
        if options.capacity_bytes <= PREFIX || options.capacity_bytes > QueueOptions::MAX_CAPACITY {
            return invalid(format!(
                "capacity_bytes {} is not within {}..={}",
                options.capacity_bytes,
                PREFIX + 1,
                QueueOptions::MAX_CAPACITY
            ));
        }
        if options.maxsize > u32::MAX as usize / 2 {
            return invalid(format!("maxsize {} is larger than {}", options.maxsize, u32::MAX / 2));
        }
        let capacity = options.capacity_bytes;
        let maxsize = options.maxsize;
        let segment = Segment::create(id, Kind::Queue, 0, RING + capacity, |payload| {
            // SAFETY: the payload is fresh, 64-byte aligned, RING + capacity bytes,
            // zero-filled (so the state words start at 0) and not yet shared.
            unsafe {
                sys::mutex_init(payload.add(MUTEX).cast().as_ptr())?;
                payload.add(CAPACITY).cast::<u64>().as_ptr().write(capacity as u64);
                payload.add(MAXSIZE).cast::<u64>().as_ptr().write(maxsize as u64);
            }
            Ok(())
        })?;
        Ok(Ring { segment, capacity, maxsize: maxsize as u32, spinner: Spinner::default() })
    }

    /// Opens the ring `id` if it exists, else creates it with `options`.
    pub(crate) fn open_or_create(id: &ObjectId, options: QueueOptions) -> Result<Ring> {
        crate::segment::open_or_create(
            || Ring::create(QueueOptions { id: Some(id.clone()), ..options.clone() }),
            || Ring::open(id),
        )
    }

    /// Opens an existing ring, checking its sizes.
    pub(crate) fn open(id: &ObjectId) -> Result<Ring> {
        let segment = Segment::open(id, Kind::Queue, PayloadSize::MoreThan(MIN_PAYLOAD))?;
        let capacity = segment.atomic_u64(CAPACITY).load(Ordering::Acquire) as usize;
        let maxsize = segment.atomic_u64(MAXSIZE).load(Ordering::Acquire);
        if RING.checked_add(capacity) != Some(segment.payload_len())
            || capacity <= PREFIX
            || capacity > QueueOptions::MAX_CAPACITY
            || maxsize > u32::MAX as u64 / 2
        {
            return Err(Error::Corrupt {
                id: id.to_string(),
                reason: format!(
                    "queue sizes disagree: capacity {capacity}, maxsize {maxsize}, payload {}",
                    segment.payload_len()
                ),
            });
        }
        Ok(Ring { segment, capacity, maxsize: maxsize as u32, spinner: Spinner::default() })
    }

    /// Puts `item` serialized, waiting for room as `wait` says.
    pub(crate) fn put<U: Serialize + ?Sized>(&self, item: &U, wait: Wait) -> Result<(), Stopped> {
        match with_encoded(self.id(), item, |bytes| self.put_bytes(bytes, wait)) {
            Ok(true) => Ok(()),
            Ok(false) => Err(Stopped::NotReady),
            Err(error) => Err(Stopped::Failed(error)),
        }
    }

    /// Takes the oldest item as a `U`, waiting for one as `wait` says. An
    /// item that is not a whole `U` stays in the ring ([`Error::WrongItemType`]).
    pub(crate) fn get<U: DeserializeOwned>(&self, wait: Wait) -> Result<U, Stopped> {
        match self.get_with(wait, |bytes| decode_whole(self.id(), bytes)) {
            Ok(Some(item)) => Ok(item),
            Ok(None) => Err(Stopped::NotReady),
            Err(error) => Err(Stopped::Failed(error)),
        }
    }

    /// [`get`](Self::get) as a future that waits as long as it takes
    /// (cancel-safe: see `futures.rs`).
    pub(crate) fn get_async<U: DeserializeOwned>(
        &self,
    ) -> impl std::future::Future<Output = Result<U>> + '_ {
        let mut pending = Pending::spinning(&self.spinner);
        std::future::poll_fn(move |cx| {
            pending.poll(cx, self.id(), || self.watch_items(), || stopped(self.get::<U>(Wait::No)))
        })
    }

    /// [`put`](Self::put) as a future that waits as long as it takes for
    /// room; the item (seen through `borrow`) comes back with any error.
    /// Polled again after it completed, it stays pending.
    pub(crate) fn put_async<I, U: Serialize + ?Sized>(
        &self,
        item: I,
        borrow: impl Fn(&I) -> &U,
    ) -> impl std::future::Future<Output = Result<(), PutError<I>>> {
        let mut pending = Pending::spinning(&self.spinner);
        let mut item = Some(item);
        std::future::poll_fn(move |cx| {
            let Some(held) = &item else { return Poll::Pending };
            let put = || stopped(self.put(borrow(held), Wait::No));
            let done = ready!(pending.poll(cx, self.id(), || self.watch_room(), put));
            let Some(item) = item.take() else { return Poll::Pending };
            Poll::Ready(done.map_err(|error| PutError { item, error }))
        })
    }

    /// What an async get waits on when the ring is empty: the put sequence.
    pub(crate) fn watch_items(&self) -> Watch {
        self.watch(PUT_SEQ, CONSUMERS_WAITING)
    }

    /// What an async put waits on when the ring is full: the get sequence.
    pub(crate) fn watch_room(&self) -> Watch {
        self.watch(GET_SEQ, PRODUCERS_WAITING)
    }

    fn watch(&self, seq: usize, waiting: usize) -> Watch {
        Watch::settled(
            self.segment.shared_word(seq),
            self.word32(seq).load(Ordering::SeqCst),
            Some(self.segment.shared_word(waiting)),
        )
    }

    /// The queue's id.
    pub(crate) fn id(&self) -> &ObjectId {
        self.segment.id()
    }

    /// The most items it holds (0: bounded by bytes only).
    pub(crate) fn maxsize(&self) -> usize {
        self.maxsize as usize
    }

    /// The largest serialized item it can hold, in bytes.
    pub(crate) fn max_item_bytes(&self) -> usize {
        self.capacity - PREFIX
    }

    fn word64(&self, offset: usize) -> &AtomicU64 {
        self.segment.atomic_u64(offset)
    }

    fn word32(&self, offset: usize) -> &AtomicU32 {
        self.segment.atomic_u32(offset)
    }

    /// Items in the queue now (a snapshot; others may change it at once).
    pub(crate) fn len(&self) -> usize {
        // Gets first: `got` never passes `put`, so a later `put` is never behind it.
        let (_, got) = unpack(self.word64(GET_STATE).load(Ordering::Acquire));
        let (_, put) = unpack(self.word64(PUT_STATE).load(Ordering::Acquire));
        // Clamped: corrupt words must not make a count no ring could hold.
        (put.wrapping_sub(got) as usize).min(self.max_len())
    }

    /// The most records the ring could hold (each takes at least PREFIX bytes).
    fn max_len(&self) -> usize {
        match self.maxsize {
            0 => self.capacity / PREFIX,
            max => (max as usize).min(self.capacity / PREFIX),
        }
    }

    /// Whether the queue holds no item now.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the queue holds `maxsize` items, or has no byte left for even
    /// an empty item.
    pub(crate) fn is_full(&self) -> bool {
        let (head, got) = unpack(self.word64(GET_STATE).load(Ordering::Acquire));
        let (tail, put) = unpack(self.word64(PUT_STATE).load(Ordering::Acquire));
        let len = put.wrapping_sub(got);
        (self.maxsize != 0 && len >= self.maxsize)
            || self.capacity.saturating_sub(self.used(head, tail, len)) <= PREFIX
    }

    /// Removes every item; returns how many.
    pub(crate) fn clear(&self) -> Result<usize> {
        let held = self.lock_for(Wait::No)?;
        let state = self.state()?;
        self.word64(GET_STATE).store(pack(state.tail, state.put), Ordering::Release);
        self.word32(GET_SEQ).fetch_add(1, Ordering::SeqCst);
        drop(held);
        // Every producer: the kernel reads the count as an int (u32::MAX would wake one).
        self.wake(GET_SEQ, PRODUCERS_WAITING, i32::MAX as u32);
        Ok(state.len as usize)
    }

    /// Removes the ring's name now (the creating handle only).
    pub(crate) fn delete(mut self) -> Result<()> {
        self.segment.unlink()
    }

    /// Bytes in use between `head` and `tail` holding `len` records.
    /// Arithmetic only (never an access), so any input is harmless.
    fn used(&self, head: u32, tail: u32, len: u32) -> usize {
        if len == 0 {
            return 0;
        }
        let (head, tail) = (head as usize % self.capacity, tail as usize % self.capacity);
        match (tail + self.capacity - head) % self.capacity {
            0 => self.capacity,
            used => used,
        }
    }

    /// Reads the ring's state words (caller holds the mutex) and checks them
    /// before any of them becomes an offset: [`Error::Corrupt`] names the field.
    fn state(&self) -> Result<RingState> {
        let (tail, put) = unpack(self.word64(PUT_STATE).load(Ordering::Acquire));
        let (head, got) = unpack(self.word64(GET_STATE).load(Ordering::Acquire));
        let len = put.wrapping_sub(got);
        let corrupt = |reason: String| Error::Corrupt { id: self.id().to_string(), reason };
        if tail as usize >= self.capacity {
            return Err(corrupt(format!(
                "ring tail {tail} is not below capacity {}",
                self.capacity
            )));
        }
        if head as usize >= self.capacity {
            return Err(corrupt(format!(
                "ring head {head} is not below capacity {}",
                self.capacity
            )));
        }
        if len as usize > self.max_len() {
            return Err(corrupt(format!(
                "item count {len} (put {put}, got {got}) exceeds the {} a ring of {} bytes{} holds",
                self.max_len(),
                self.capacity,
                if self.maxsize == 0 {
                    String::new()
                } else {
                    format!(" and maxsize {}", self.maxsize)
                }
            )));
        }
        if len == 0 && head != tail {
            return Err(corrupt(format!("empty ring with head {head} not at tail {tail}")));
        }
        let used = self.used(head, tail, len);
        if used < len as usize * PREFIX {
            return Err(corrupt(format!("{len} items cannot fit in {used} used bytes")));
        }
        Ok(RingState { head, tail, got, put, len, used })
    }

    fn mutex(&self) -> *mut libc::pthread_mutex_t {
        self.segment.payload().cast().as_ptr()
    }

    /// Takes the ring's mutex for an operation that waits as `wait` says:
    /// `Ok(None)` when a deadline passed first; [`Error::Busy`] when an
    /// operation that does not wait found it held longer than [`LOCK_PATIENCE`].
    fn lock_for(&self, wait: Wait) -> Result<Option<RingLock<'_>>> {
        match wait {
            Wait::Forever => self.lock(None),
            Wait::Until { deadline, .. } => self.lock(Some(deadline)),
            Wait::No => {
                let patience = Instant::now() + LOCK_PATIENCE;
                match self.lock(Some(patience))? {
                    Some(held) => Ok(Some(held)),
                    None => Err(Error::Busy { id: self.id().to_string(), waited: LOCK_PATIENCE }),
                }
            }
        }
    }

    /// Takes the ring's mutex; `None` waits forever. A holder that died left
    /// the queue consistent (see the module docs), so its death needs no repair.
    fn lock(&self, deadline: Option<Instant>) -> Result<Option<RingLock<'_>>> {
        let io = |source| Error::Io { what: "locking queue", id: self.id().to_string(), source };
        for _ in 0..SPINS {
            // SAFETY: the payload starts with the mutex initialised at creation,
            // mapped while `self` lives.
            match unsafe { sys::mutex_lock(self.mutex(), Some(Duration::ZERO)) }.map_err(io)? {
                Locked::Ok | Locked::OwnerDied => return Ok(Some(RingLock { ring: self })),
                Locked::Busy => std::hint::spin_loop(),
                Locked::Unrecoverable | Locked::HeldByCaller | Locked::Corrupt(_) => break,
            }
        }
        let timeout = deadline
            .map(|d| d.saturating_duration_since(Instant::now()).max(Duration::from_nanos(1)));
        // SAFETY: as above.
        match unsafe { sys::mutex_lock(self.mutex(), timeout) }.map_err(io)? {
            Locked::Ok | Locked::OwnerDied => Ok(Some(RingLock { ring: self })),
            Locked::Busy => Ok(None),
            Locked::Unrecoverable => Err(Error::Unrecoverable { id: self.id().to_string() }),
            Locked::HeldByCaller => Err(Error::AlreadyHeld { id: self.id().to_string() }),
            Locked::Corrupt(reason) => Err(Error::Corrupt { id: self.id().to_string(), reason }),
        }
    }

    fn ring_ptr(&self) -> *mut u8 {
        // SAFETY: RING is inside the payload (its length was checked to be RING + capacity).
        unsafe { self.segment.payload().add(RING).as_ptr() }
    }

    /// Copies `src` into the ring at `at`, wrapping at the end. Caller holds the mutex.
    fn write_ring(&self, at: usize, src: &[u8]) {
        let first = src.len().min(self.capacity - at);
        // SAFETY: at < capacity and first <= capacity - at keep the copies inside
        // the ring; the mutex gives us the only writer, and readers never read
        // bytes past the committed tail.
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), self.ring_ptr().add(at), first);
            std::ptr::copy_nonoverlapping(
                src.as_ptr().add(first),
                self.ring_ptr(),
                src.len() - first,
            );
        }
    }

    /// Copies ring bytes at `at` (wrapping) into `dst`. Caller holds the mutex.
    fn read_ring(&self, at: usize, dst: &mut [u8]) {
        let first = dst.len().min(self.capacity - at);
        // SAFETY: as in write_ring; these bytes were committed by a put.
        unsafe {
            std::ptr::copy_nonoverlapping(self.ring_ptr().add(at), dst.as_mut_ptr(), first);
            std::ptr::copy_nonoverlapping(
                self.ring_ptr(),
                dst.as_mut_ptr().add(first),
                dst.len() - first,
            );
        }
    }

    /// Wakes up to `n` sleepers on `seq` (just bumped), if any sleep.
    /// SeqCst, like the bump and the sleepers' count-then-sleep: either the
    /// sleeper's futex call sees the new value, or this sees it counted.
    fn wake(&self, seq: usize, waiting: usize, n: u32) {
        if self.word32(waiting).load(Ordering::SeqCst) > 0 {
            sys::futex_wake(self.word32(seq), n);
        }
    }

    /// Sleeps on `seq` (seen as `seen` under the lock) until bumped or the deadline.
    /// Returns false once the deadline has passed.
    fn sleep(&self, seq: usize, waiting: usize, seen: u32, wait: Wait) -> bool {
        let remaining = match wait {
            Wait::No => return false,
            Wait::Until { deadline, .. } => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => left,
                _ => return false,
            },
            _ => MAX_SLEEP,
        };
        // The other side may be running and answer within microseconds.
        if self.spinner.spin_while(self.word32(seq), seen) {
            return true;
        }
        self.word32(waiting).fetch_add(1, Ordering::SeqCst);
        sys::futex_wait(self.word32(seq), seen, Some(remaining.min(MAX_SLEEP)));
        self.word32(waiting).fetch_sub(1, Ordering::SeqCst);
        true
    }

    /// Puts `items` in order, as many per lock as fit, waiting for room as
    /// `wait` says; returns how many were put (all, or those put before the
    /// deadline). Every item is serialized first, outside the lock, into one
    /// buffer of ready records; an item too large for the ring puts nothing.
    /// All the records put under one lock are committed by one store.
    pub(crate) fn put_many<I, U: Serialize + ?Sized>(
        &self,
        items: &[I],
        borrow: impl Fn(&I) -> &U,
        wait: Wait,
    ) -> Result<usize> {
        if items.is_empty() {
            return Ok(0);
        }
        with_scratch(self.id(), |records| {
            for item in items {
                let start = records.len();
                records.extend_from_slice(&[0; PREFIX]);
                let taken = std::mem::take(records);
                *records = postcard::to_extend(borrow(item), taken).map_err(|e| {
                    Error::Serialization { id: self.id().to_string(), reason: e.to_string() }
                })?;
                let size = records.len() - start - PREFIX;
                if size > self.max_item_bytes() {
                    return Err(Error::ItemTooLarge {
                        id: self.id().to_string(),
                        size,
                        capacity: self.max_item_bytes(),
                    });
                }
                records[start..start + PREFIX].copy_from_slice(&(size as u32).to_le_bytes());
            }
            self.put_records(records, items.len(), wait)
        })
    }

    /// Copies whole `records` (prefixed, `count` of them, made by this
    /// process) into the ring, as many per lock as fit; returns how many.
    fn put_records(&self, records: &[u8], count: usize, wait: Wait) -> Result<usize> {
        let (mut offset, mut put) = (0, 0);
        loop {
            let Some(held) = self.lock_for(wait)? else { return Ok(put) };
            let state = self.state()?;
            let mut room = self.capacity - state.used;
            let mut len = state.len;
            let (first, mut end) = (offset, offset);
            while put < count
                && (self.maxsize == 0 || len < self.maxsize)
                && (end == first || end - first < BATCH_BYTES)
            {
                let size = PREFIX
                    + u32::from_le_bytes(records[end..end + PREFIX].try_into().unwrap_or_default())
                        as usize;
                if size > room {
                    break;
                }
                room -= size;
                end += size;
                len += 1;
                put += 1;
            }
            if end > first {
                let at = state.tail as usize;
                self.write_ring(at, &records[first..end]);
                let new_tail = ((at + end - first) % self.capacity) as u32;
                let added = len - state.len;
                // The commit: one store makes every record of this round visible.
                self.word64(PUT_STATE)
                    .store(pack(new_tail, state.put.wrapping_add(added)), Ordering::Release);
                self.word32(PUT_SEQ).fetch_add(1, Ordering::SeqCst);
                drop(held);
                self.wake(PUT_SEQ, CONSUMERS_WAITING, added.min(i32::MAX as u32));
                offset = end;
                if put == count {
                    return Ok(put);
                }
                continue;
            }
            let seen = self.word32(GET_SEQ).load(Ordering::Acquire);
            drop(held);
            if !self.sleep(GET_SEQ, PRODUCERS_WAITING, seen, wait) {
                return Ok(put);
            }
        }
    }

    /// Takes up to `max` of the oldest items, under one lock, waiting for
    /// at least one as `wait` says (none came: empty). An item that is not
    /// a whole `U` stays, with those behind it: the items before it are
    /// returned, or [`Error::WrongItemType`] if it is the first.
    pub(crate) fn get_many<U: DeserializeOwned>(&self, max: usize, wait: Wait) -> Result<Vec<U>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        loop {
            let Some(held) = self.lock_for(wait)? else { return Ok(Vec::new()) };
            let state = self.state()?;
            if state.len > 0 {
                let mut items = Vec::with_capacity(max.min(state.len as usize).min(1024));
                let mut at = state.head as usize;
                let mut used = state.used;
                let mut moved = 0;
                while items.len() < max
                    && items.len() < state.len as usize
                    && (items.is_empty() || moved < BATCH_BYTES)
                {
                    let mut prefix = [0u8; PREFIX];
                    self.read_ring(at, &mut prefix);
                    let size = u32::from_le_bytes(prefix) as usize;
                    if PREFIX + size > used {
                        return Err(Error::Corrupt {
                            id: self.id().to_string(),
                            reason: format!(
                                "record length {size} at offset {at} overruns the {used} bytes in use"
                            ),
                        });
                    }
                    let decoded = with_scratch(self.id(), |buf| {
                        buf.resize(size, 0);
                        self.read_ring((at + PREFIX) % self.capacity, buf);
                        decode_whole::<U>(self.id(), buf)
                    });
                    match decoded {
                        Ok(item) => items.push(item),
                        Err(error) if items.is_empty() => return Err(error),
                        // The wrong-type item and those behind it stay.
                        Err(_) => break,
                    }
                    at = (at + PREFIX + size) % self.capacity;
                    used -= PREFIX + size;
                    moved += PREFIX + size;
                }
                let taken = items.len() as u32;
                // The commit: one store removes every item taken.
                self.word64(GET_STATE)
                    .store(pack(at as u32, state.got.wrapping_add(taken)), Ordering::Release);
                self.word32(GET_SEQ).fetch_add(1, Ordering::SeqCst);
                drop(held);
                self.wake(GET_SEQ, PRODUCERS_WAITING, taken);
                if state.len > taken {
                    // Pass the baton: a woken consumer that died must not strand items.
                    self.wake(PUT_SEQ, CONSUMERS_WAITING, 1);
                }
                return Ok(items);
            }
            let seen = self.word32(PUT_SEQ).load(Ordering::Acquire);
            drop(held);
            if !self.sleep(PUT_SEQ, CONSUMERS_WAITING, seen, wait) {
                return Ok(Vec::new());
            }
        }
    }

    /// Puts one record, waiting for room as `wait` says. Returns false if
    /// there was no room in time.
    fn put_bytes(&self, bytes: &[u8], wait: Wait) -> Result<bool> {
        if bytes.len() > self.max_item_bytes() {
            return Err(Error::ItemTooLarge {
                id: self.id().to_string(),
                size: bytes.len(),
                capacity: self.max_item_bytes(),
            });
        }
        let record = PREFIX + bytes.len();
        loop {
            let Some(held) = self.lock_for(wait)? else { return Ok(false) };
            let state = self.state()?;
            let room = self.capacity - state.used;
            if (self.maxsize == 0 || state.len < self.maxsize) && room >= record {
                let at = state.tail as usize;
                self.write_ring(at, &(bytes.len() as u32).to_le_bytes());
                self.write_ring((at + PREFIX) % self.capacity, bytes);
                let new_tail = ((at + record) % self.capacity) as u32;
                // The commit: one store makes the whole item visible.
                self.word64(PUT_STATE)
                    .store(pack(new_tail, state.put.wrapping_add(1)), Ordering::Release);
                self.word32(PUT_SEQ).fetch_add(1, Ordering::SeqCst);
                drop(held);
                self.wake(PUT_SEQ, CONSUMERS_WAITING, 1);
                return Ok(true);
            }
            let seen = self.word32(GET_SEQ).load(Ordering::Acquire);
            drop(held);
            if !self.sleep(GET_SEQ, PRODUCERS_WAITING, seen, wait) {
                return Ok(false);
            }
        }
    }

    /// Takes the oldest record through `decode`, waiting for one as `wait`
    /// says; `None` if none came in time. The record is removed only when
    /// `decode` succeeds, so a failed decode (a wrong type) loses nothing.
    fn get_with<R>(&self, wait: Wait, decode: impl Fn(&[u8]) -> Result<R>) -> Result<Option<R>> {
        loop {
            let Some(held) = self.lock_for(wait)? else { return Ok(None) };
            let state = self.state()?;
            if state.len > 0 {
                let at = state.head as usize;
                let mut prefix = [0u8; PREFIX];
                self.read_ring(at, &mut prefix);
                let size = u32::from_le_bytes(prefix) as usize;
                if PREFIX + size > state.used {
                    return Err(Error::Corrupt {
                        id: self.id().to_string(),
                        reason: format!(
                            "record length {size} at offset {at} overruns the {} bytes in use",
                            state.used
                        ),
                    });
                }
                let value = with_scratch(self.id(), |buf| {
                    buf.resize(size, 0);
                    self.read_ring((at + PREFIX) % self.capacity, buf);
                    decode(buf)
                })?;
                let new_head = ((at + PREFIX + size) % self.capacity) as u32;
                // The commit: one store removes the whole item.
                self.word64(GET_STATE)
                    .store(pack(new_head, state.got.wrapping_add(1)), Ordering::Release);
                self.word32(GET_SEQ).fetch_add(1, Ordering::SeqCst);
                drop(held);
                self.wake(GET_SEQ, PRODUCERS_WAITING, 1);
                if state.len > 1 {
                    // Pass the baton: a woken consumer that died must not strand items.
                    self.wake(PUT_SEQ, CONSUMERS_WAITING, 1);
                }
                return Ok(Some(value));
            }
            let seen = self.word32(PUT_SEQ).load(Ordering::Acquire);
            drop(held);
            if !self.sleep(PUT_SEQ, CONSUMERS_WAITING, seen, wait) {
                return Ok(None);
            }
        }
    }
}

/// The ring's mutex, held; released on drop.
struct RingLock<'a> {
    ring: &'a Ring,
}

impl Drop for RingLock<'_> {
    fn drop(&mut self) {
        // SAFETY: we hold the mutex, which lives in the queue's mapping.
        let _ = unsafe { sys::mutex_unlock(self.ring.mutex()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_words_pack_and_unpack() {
        assert_eq!(unpack(pack(7, 9)), (7, 9));
        assert_eq!(unpack(pack(u32::MAX, u32::MAX)), (u32::MAX, u32::MAX));
    }

    #[test]
    fn items_wrap_around_the_ring_intact() {
        let ring = Ring::create(QueueOptions::default().capacity_bytes(100)).unwrap();
        for round in 0..50u8 {
            let item = vec![round; 30 + (round as usize % 7)];
            ring.put(&item, Wait::No).unwrap();
            assert_eq!(ring.get::<Vec<u8>>(Wait::No).unwrap(), item);
        }
        assert!(ring.is_empty());
    }

    #[test]
    fn byte_capacity_bounds_a_ring_without_maxsize() {
        let ring = Ring::create(QueueOptions::default().capacity_bytes(12)).unwrap();
        // Each u8 item takes 4 + 1 bytes: two fit in 12.
        ring.put(&1u8, Wait::No).unwrap();
        ring.put(&2u8, Wait::No).unwrap();
        assert!(matches!(ring.put(&3u8, Wait::No), Err(Stopped::NotReady)));
        assert_eq!(ring.len(), 2);
    }

    #[test]
    fn a_record_that_does_not_decode_stays_in_the_ring() {
        let ring = Ring::create(QueueOptions::default().maxsize(4)).unwrap();
        ring.put(&(1u32, 2u32), Wait::No).unwrap();
        assert!(matches!(
            ring.get::<u32>(Wait::No),
            Err(Stopped::Failed(Error::WrongItemType { expected: "u32", .. }))
        ));
        assert_eq!(ring.len(), 1);
        assert_eq!(ring.get::<(u32, u32)>(Wait::No).unwrap(), (1, 2));
    }
}

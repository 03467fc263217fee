//! The async waiter: one thread per process that watches the futex words of
//! every pending async wait (queue gets and puts, event waits, lock and
//! semaphore acquires) and wakes the right task when a word changes.
//!
//! A futex word in shared memory is changed by other processes, which wake
//! sleepers with `FUTEX_WAKE`; a `Waker` cannot be handed to them. So a
//! pending future registers (word, the value it saw, its waker) here and
//! costs no thread of its own. The thread sleeps in one `futex_waitv` on a
//! private control word (rung when the set of registrations changes) and up
//! to 127 distinct registered words; after every return it compares each
//! registered word with the value its future saw and wakes those that
//! changed. Beyond 127 distinct words the rest are compared every
//! [`OVERFLOW_TICK`] (the window rotates, so each takes its turn in the
//! kernel's set); and every word is compared at least every [`RECHECK`],
//! as a blocking waiter re-checks, for a wake-up that went to another
//! sleeper who could not use it. With nothing registered it sleeps on the
//! control word alone: no CPU.
//!
//! A registration is fire-once: a woken future polls its object again and
//! registers anew if it still has to wait. The futures never take anything
//! out of an object except inside `poll`, returning it from that same
//! `poll`, so dropping a future can never lose an item (see `futures.rs`).
//! A wake-up meant for one sleeper that reached this thread for a future
//! that then went away is passed on to another sleeper.

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::Waker;
use std::time::Duration;

use crate::segment::SharedWord;
use crate::sys::{self, WAITV_MAX, Watched};

/// How often words beyond the kernel's set are compared.
pub(crate) const OVERFLOW_TICK: Duration = Duration::from_millis(1);
/// How often every registered word is compared at the latest.
pub(crate) const RECHECK: Duration = Duration::from_millis(100);
/// The longest pause between comparisons without `futex_waitv` (Linux
/// before 5.16, or a sandbox that refuses it).
const FALLBACK_TICK_MAX: Duration = Duration::from_millis(16);

/// One pending wait.
struct Entry {
    word: SharedWord,
    seen: u32,
    /// Taken when the word changed (the entry then only waits for its
    /// future to drop or re-register).
    waker: Option<Waker>,
}

#[derive(Default)]
struct Table {
    entries: HashMap<u64, Entry>,
    /// Where the next kernel set starts among the words, so that with more
    /// than fit every word gets its turn.
    rotation: usize,
}

struct Waiter {
    table: Mutex<Table>,
    /// Bumped and woken whenever registrations change.
    control: AtomicU32,
    next_key: AtomicU64,
}

impl Waiter {
    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn ring(&self) {
        self.control.fetch_add(1, Ordering::SeqCst);
        sys::futex_wake_private(&self.control);
    }
}

/// The process's waiter, its thread started on first use; why it could not
/// start otherwise (the futures then fail with that error).
fn waiter() -> Result<&'static Waiter, std::io::Error> {
    static WAITER: OnceLock<Result<&'static Waiter, (std::io::ErrorKind, String)>> =
        OnceLock::new();
    let started = WAITER.get_or_init(|| {
        let waiter: &'static Waiter = Box::leak(Box::new(Waiter {
            table: Mutex::new(Table::default()),
            control: AtomicU32::new(0),
            next_key: AtomicU64::new(1),
        }));
        std::thread::Builder::new()
            .name("pp-ipc-waiter".into())
            // Wakers run executor code here (some poll inline).
            .stack_size(256 * 1024)
            .spawn(move || watch(waiter))
            .map(|_| waiter)
            .map_err(|e| (e.kind(), e.to_string()))
    });
    started.as_ref().map(|w| *w).map_err(|(kind, text)| std::io::Error::new(*kind, text.clone()))
}

/// The words the thread sleeps on in one round: (key, word, seen).
type KernelSet = Vec<(u64, SharedWord, u32)>;

/// The waiter thread's loop; never returns, never unwinds (a waker that
/// panics is caught; a poisoned table is taken as is: its entries are
/// plain data).
fn watch(waiter: &'static Waiter) {
    let mut kernel_set: KernelSet = Vec::with_capacity(WAITV_MAX - 1);
    let mut fallback_tick = OVERFLOW_TICK;
    loop {
        let control_seen = waiter.control.load(Ordering::SeqCst);
        let (wake, overflow) = scan(waiter, &mut kernel_set);
        // Outside the lock: a waker may run the task's executor code.
        for waker in wake {
            let _ = catch_unwind(AssertUnwindSafe(|| waker.wake()));
        }
        if kernel_set.is_empty() {
            sys::futex_wait_private(&waiter.control, control_seen);
            continue;
        }
        let mut words = Vec::with_capacity(kernel_set.len() + 1);
        words.push(Watched { word: &waiter.control, expected: control_seen, private: true });
        words.extend(kernel_set.iter().map(|(_, word, seen)| Watched {
            word: word.get(),
            expected: *seen,
            private: false,
        }));
        let timeout = if overflow { OVERFLOW_TICK } else { RECHECK };
        match sys::futex_waitv(&words, Some(timeout)) {
            Ok(_) => fallback_tick = OVERFLOW_TICK,
            Err(_) => {
                // No futex_waitv: compare on a tick that backs off while
                // nothing changes.
                std::thread::sleep(fallback_tick);
                fallback_tick = (fallback_tick * 2).min(FALLBACK_TICK_MAX);
            }
        }
        pass_on_stray_wakes(waiter, &kernel_set);
    }
}

/// Compares every waiting entry's word with what its future saw: the
/// wakers of those that changed are returned (taken out); up to 127
/// distinct unchanged words go into `kernel_set`. Also returns whether
/// more distinct words wait than fit.
fn scan(waiter: &Waiter, kernel_set: &mut KernelSet) -> (Vec<Waker>, bool) {
    let mut wake = Vec::new();
    let mut table = waiter.table();
    kernel_set.clear();
    // One kernel entry per distinct word: a second one on the same word
    // would absorb a wake-up meant for a sleeper in another process.
    let mut distinct: HashMap<usize, u32> = HashMap::new();
    for entry in table.entries.values_mut() {
        if entry.waker.is_none() {
            continue;
        }
        if entry.word.get().load(Ordering::SeqCst) != entry.seen {
            wake.extend(entry.waker.take());
            continue;
        }
        distinct.entry(entry.word.address()).or_insert(entry.seen);
    }
    let words = distinct.len();
    let overflow = words > WAITV_MAX - 1;
    let start = if overflow { table.rotation % words } else { 0 };
    let mut chosen: HashSet<usize> = HashSet::new();
    let mut order: Vec<usize> = distinct.keys().copied().collect();
    order.sort_unstable();
    for &address in order.iter().cycle().skip(start).take(words.min(WAITV_MAX - 1)) {
        chosen.insert(address);
    }
    for (&key, entry) in &table.entries {
        if entry.waker.is_some()
            && chosen.remove(&entry.word.address())
            && distinct.get(&entry.word.address()) == Some(&entry.seen)
        {
            kernel_set.push((key, entry.word.clone(), entry.seen));
        }
    }
    table.rotation = table.rotation.wrapping_add(WAITV_MAX - 1);
    (wake, overflow)
}

/// A wake-up meant for one sleeper (a put's, a release's, an unlock's) may
/// have reached this thread for a wait whose future was dropped while the
/// thread slept: the sleeper in another process it should have reached
/// would sleep on. So for every such word that changed, one wake-up is
/// passed on (a spare one only makes a sleeper look again).
fn pass_on_stray_wakes(waiter: &Waiter, kernel_set: &KernelSet) {
    let table = waiter.table();
    for (key, word, seen) in kernel_set {
        if !table.entries.contains_key(key) && word.get().load(Ordering::SeqCst) != *seen {
            sys::futex_wake(word.get(), 1);
        }
    }
}

/// A pending wait of one future: removed (and the waiting count given back)
/// when dropped.
#[derive(Debug)]
pub(crate) struct Registration {
    key: u64,
    word: SharedWord,
    /// A count in shared memory of waiters, held up while registered: the
    /// queue's and event's wakers skip the futex wake when it is zero.
    counter: Option<SharedWord>,
    /// Set by a poll that acted on the wake-up (took or tried to take).
    handled: bool,
}

/// Registers a wait on `word`, which held `seen` before the caller's
/// attempt failed: `waker` is woken once the word holds anything else.
/// `counter` is a shared waiting count to hold up meanwhile.
/// The error is why the waiter thread could not start.
pub(crate) fn register(
    word: SharedWord,
    seen: u32,
    counter: Option<SharedWord>,
    waker: &Waker,
) -> std::io::Result<Registration> {
    let waiter = waiter()?;
    if let Some(counter) = &counter {
        counter.get().fetch_add(1, Ordering::SeqCst);
    }
    let key = waiter.next_key.fetch_add(1, Ordering::Relaxed);
    let entry = Entry { word: word.clone(), seen, waker: Some(waker.clone()) };
    waiter.table().entries.insert(key, entry);
    waiter.ring();
    Ok(Registration { key, word, counter, handled: false })
}

impl Registration {
    /// Whether it still waits for its word to change; if so, `waker` is the
    /// one woken (a future may move between tasks).
    pub(crate) fn still_waiting(&self, waker: &Waker) -> bool {
        let Ok(waiter) = waiter() else { return false };
        let mut table = waiter.table();
        let Some(registered) = table.entries.get_mut(&self.key).and_then(|e| e.waker.as_mut())
        else {
            return false;
        };
        if registered.will_wake(waker) {
            return true;
        }
        let old = std::mem::replace(registered, waker.clone());
        drop(table);
        // Outside the lock: the last reference to a waker may own a future
        // whose drop comes back here.
        drop(old);
        true
    }

    /// The future acts on its wake-up (takes, or tries to): dropping the
    /// registration passes nothing on; the word is the caller's to pass on
    /// if it ends without taking.
    pub(crate) fn handled(mut self) -> SharedWord {
        self.handled = true;
        self.word.clone()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let Ok(waiter) = waiter() else { return };
        let removed = waiter.table().entries.remove(&self.key);
        if let Some(counter) = &self.counter {
            counter.get().fetch_sub(1, Ordering::SeqCst);
        }
        match removed {
            Some(entry) if entry.waker.is_some() => {
                // The word may have changed and its wake-up reached the
                // thread, which then found this entry still there and
                // passed nothing on: pass one on here.
                if entry.word.get().load(Ordering::SeqCst) != entry.seen {
                    sys::futex_wake(self.word.get(), 1);
                }
                waiter.ring();
            }
            // Woken, and the future was dropped without looking: a wake-up
            // meant for one waiter (a put's) may have been spent on us, so
            // pass it on to another.
            _ if !self.handled => sys::futex_wake(self.word.get(), 1),
            _ => {}
        }
    }
}

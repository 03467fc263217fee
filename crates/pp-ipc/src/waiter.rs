//! The async waiter: one thread per process that watches the futex words of
//! every pending async wait (queue gets and puts, event waits, lock and
//! semaphore acquires) and wakes the right task when a word changes.
//!
//! A futex word in shared memory is changed by other processes, which wake
//! sleepers with `FUTEX_WAKE`; a `Waker` cannot be handed to them. So a
//! pending future registers (word, the value it saw, its waker) here and
//! costs no thread of its own. The thread sleeps in one `futex_waitv` on a
//! private control word (rung when the set of registrations changes) and up
//! to 127 registered words; after every return it compares each registered
//! word with the value its future saw and wakes those that changed. Beyond
//! 127 distinct registrations the rest are compared every
//! [`OVERFLOW_TICK`] (the window rotates, so each takes its turn in the
//! kernel's set). With nothing registered it sleeps on the control word
//! alone: no CPU.
//!
//! A registration is fire-once: a woken future polls its object again and
//! registers anew if it still has to wait. The futures never take anything
//! out of an object except inside `poll`, returning it from that same
//! `poll`, so dropping a future can never lose an item (see `futures.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::Waker;
use std::time::Duration;

use crate::segment::SharedWord;
use crate::sys::{self, WAITV_MAX, Watched};

/// How often words beyond the kernel's set are compared.
pub(crate) const OVERFLOW_TICK: Duration = Duration::from_millis(1);

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
    /// Where the next kernel set starts among the entries, so that with more
    /// than fit every entry gets its turn.
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
            .stack_size(64 * 1024)
            .spawn(move || watch(waiter))
            .map(|_| waiter)
            .map_err(|e| (e.kind(), e.to_string()))
    });
    started.as_ref().map(|w| *w).map_err(|(kind, text)| std::io::Error::new(*kind, text.clone()))
}

/// The waiter thread's loop; never returns, never panics (a poisoned table
/// is taken as is: its entries are plain data).
fn watch(waiter: &'static Waiter) {
    let mut kernel_set: Vec<(u64, SharedWord, u32)> = Vec::with_capacity(WAITV_MAX - 1);
    loop {
        let control_seen = waiter.control.load(Ordering::SeqCst);
        let mut wake = Vec::new();
        let overflow;
        {
            let mut table = waiter.table();
            kernel_set.clear();
            let waiting = table.entries.values().filter(|e| e.waker.is_some()).count();
            overflow = waiting > WAITV_MAX - 1;
            let start = if overflow { table.rotation % waiting } else { 0 };
            let mut index = 0;
            for (&key, entry) in table.entries.iter_mut() {
                if entry.waker.is_none() {
                    continue;
                }
                if entry.word.get().load(Ordering::SeqCst) != entry.seen {
                    wake.extend(entry.waker.take());
                    continue;
                }
                let turn = (index + waiting - start) % waiting;
                index += 1;
                if turn < WAITV_MAX - 1 {
                    kernel_set.push((key, entry.word.clone(), entry.seen));
                }
            }
            table.rotation = table.rotation.wrapping_add(WAITV_MAX - 1);
        }
        // Outside the lock: a waker may run the task's executor code.
        for waker in wake {
            waker.wake();
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
        let timeout = overflow.then_some(OVERFLOW_TICK);
        if sys::futex_waitv(&words, timeout).is_err() {
            // No futex_waitv (Linux before 5.16): compare on a tick instead.
            std::thread::sleep(OVERFLOW_TICK);
        }
        pass_on_stray_wakes(waiter, &kernel_set);
    }
}

/// A wake-up meant for one sleeper (a put's, a release's, an unlock's) may
/// have reached this thread for a wait whose future was dropped while the
/// thread slept: the sleeper in another process it should have reached
/// would sleep on. So for every such word that changed, one wake-up is
/// passed on (a spare one only makes a sleeper look again).
fn pass_on_stray_wakes(waiter: &Waiter, kernel_set: &[(u64, SharedWord, u32)]) {
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
    /// queue's wakers skip the futex wake when it is zero.
    counter: Option<SharedWord>,
    /// Set by a poll that acted on the wake-up (took or tried to take).
    handled: bool,
}

/// Registers a wait on `word`, which held `seen` before the caller's
/// attempt failed: `waker` is woken once the word holds anything else.
/// `counter` is a shared waiting count to hold up meanwhile. `None` when
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
        match table.entries.get_mut(&self.key).and_then(|e| e.waker.as_mut()) {
            Some(registered) => {
                if !registered.will_wake(waker) {
                    registered.clone_from(waker);
                }
                true
            }
            None => false,
        }
    }

    /// The future acted on its wake-up: dropping it passes nothing on.
    pub(crate) fn handled(mut self) {
        self.handled = true;
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
            // Still waiting: the thread may have it in its kernel set.
            Some(entry) if entry.waker.is_some() => waiter.ring(),
            // Woken, and the future was dropped without looking: a wake-up
            // meant for one waiter (a put's) may have been spent on us, so
            // pass it on to another.
            _ if !self.handled => sys::futex_wake(self.word.get(), 1),
            _ => {}
        }
    }
}

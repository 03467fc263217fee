//! The background thread: work that no caller should wait for and that must
//! not hold up the reactor (exit callbacks, removing unused spare cgroups).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Mutex, OnceLock};

use crate::sys::cgroup;

pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// Runs `job` on the background thread (exit callbacks; it also removes
/// spare cgroups left unused):
/// work no caller should wait for, nor the reactor be held up by. Inline
/// if that thread cannot start.
pub(crate) fn in_background(job: Job) {
    match background_thread() {
        Some(jobs) => {
            let sent = jobs.lock().unwrap_or_else(|e| e.into_inner()).send(job);
            if let Err(unsent) = sent {
                (unsent.0)();
            }
        }
        None => job(),
    }
}

/// The background thread, started on first use; `None` if it cannot start.
fn background_thread() -> Option<&'static Mutex<Sender<Job>>> {
    static JOBS: OnceLock<Option<Mutex<Sender<Job>>>> = OnceLock::new();
    JOBS.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        let started = std::thread::Builder::new()
            .name("pp-process-background".into())
            .spawn(move || {
                loop {
                    // While empty cgroups are kept for reuse, wake up to
                    // remove those left unused (`in_background` is called
                    // when the first one is kept, so this loop sees it).
                    let job = if cgroup::has_spares() {
                        match rx.recv_timeout(cgroup::SPARE_IDLE) {
                            Ok(job) => Some(job),
                            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
                            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                        }
                    } else {
                        match rx.recv() {
                            Ok(job) => Some(job),
                            Err(_) => break,
                        }
                    };
                    // A job never takes this thread down (callbacks catch
                    // their own panics; this is for the rest).
                    let _ = catch_unwind(AssertUnwindSafe(|| match job {
                        Some(job) => job(),
                        None => cgroup::remove_idle_spares(),
                    }));
                }
            });
        match started {
            Ok(_) => Some(Mutex::new(tx)),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the background thread; its work runs inline");
                None
            }
        }
    })
    .as_ref()
}

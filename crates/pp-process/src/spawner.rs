//! Where a child is forked. `PR_SET_PDEATHSIG` fires when the *thread* that
//! forked the child exits, not the process: a child started with
//! `die_with_parent` from a short-lived thread would be killed when that
//! thread ends. Such children are started by one spawner thread that lives
//! as long as the process.

use std::sync::mpsc::{Sender, channel};
use std::sync::{Mutex, OnceLock};

use crate::sys;

type Job = Box<dyn FnOnce() + Send>;

/// Runs `start` (which starts a child) on the spawner thread when
/// `outlive_this_thread` and the calling thread is not the main thread
/// (which lives as long as the process); here otherwise. `None` if `start`
/// panicked on the spawner thread (which survives it).
pub(crate) fn start<T: Send + 'static>(
    outlive_this_thread: bool,
    start: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    if !outlive_this_thread || sys::on_main_thread() {
        return Some(start());
    }
    let Some(jobs) = spawner() else { return Some(start()) };
    let (reply, answer) = channel();
    let job: Job = Box::new(move || {
        let _ = reply.send(start());
    });
    let sent = jobs.lock().unwrap_or_else(|e| e.into_inner()).send(job);
    if let Err(unsent) = sent {
        // The thread is gone: run the job here.
        (unsent.0)();
    }
    answer.recv().ok()
}

fn spawner() -> Option<&'static Mutex<Sender<Job>>> {
    static JOBS: OnceLock<Option<Mutex<Sender<Job>>>> = OnceLock::new();
    JOBS.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        let started = std::thread::Builder::new()
            .name("pp-process-spawner".into())
            .spawn(move || {
                for job in rx {
                    // A panicking job drops its reply; the caller sees `None`.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            });
        match started {
            Ok(_) => Some(Mutex::new(tx)),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the spawner thread; spawning on the caller's");
                None
            }
        }
    })
    .as_ref()
}

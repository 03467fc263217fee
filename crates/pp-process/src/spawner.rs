//! Where a child is forked. `PR_SET_PDEATHSIG` fires when the *thread* that
//! forked the child exits, not the process: a child started with
//! `die_with_parent` from a short-lived thread would be killed when that
//! thread ends. Such children are forked by one spawner thread that lives
//! as long as the process.

use std::io;
use std::process::{Child, Command};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Mutex, OnceLock};

use crate::sys;

type Job = (Command, Sender<io::Result<Child>>);

/// Spawns `cmd`; on the spawner thread when `outlive_this_thread` and the
/// calling thread is not the main thread (which lives as long as the process).
pub(crate) fn spawn(mut cmd: Command, outlive_this_thread: bool) -> io::Result<Child> {
    if !outlive_this_thread || sys::on_main_thread() {
        return cmd.spawn();
    }
    let Some(jobs) = spawner() else { return cmd.spawn() };
    let (reply, answer) = channel();
    let sent = jobs.lock().unwrap_or_else(|e| e.into_inner()).send((cmd, reply));
    match sent {
        Ok(()) => {
            answer.recv().unwrap_or_else(|_| Err(io::Error::other("the spawner thread stopped")))
        }
        // The thread is gone (it never is, short of a panic in `spawn`): fork here.
        Err(mut unsent) => (unsent.0).0.spawn(),
    }
}

fn spawner() -> Option<&'static Mutex<Sender<Job>>> {
    static JOBS: OnceLock<Option<Mutex<Sender<Job>>>> = OnceLock::new();
    JOBS.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        let started = std::thread::Builder::new().name("pp-process-spawner".into()).spawn(
            move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            },
        );
        match started {
            Ok(_) => Some(Mutex::new(tx)),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the spawner thread; forking on the caller's");
                None
            }
        }
    })
    .as_ref()
}

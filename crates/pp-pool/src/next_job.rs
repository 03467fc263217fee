//! How a pool thread (a thread-pool worker, a process-pool supervisor) takes
//! its next job from the shared queue.

use crossbeam_channel::{Receiver, TryRecvError};

/// Empty polls, with a growing pause between them, before a pool thread sleeps.
const SPIN_ROUNDS: u32 = 64;

/// The next job, or `None` once the queue is closed and empty. Spins briefly
/// before sleeping, because a sleeping thread costs the submitter a wake-up
/// system call per task.
pub(crate) fn next_job<J>(jobs: &Receiver<J>) -> Option<J> {
    for round in 0..SPIN_ROUNDS {
        match jobs.try_recv() {
            Ok(job) => return Some(job),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => {
                for _ in 0..round.min(32) {
                    std::hint::spin_loop();
                }
            }
        }
    }
    jobs.recv().ok()
}

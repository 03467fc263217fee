//! The seed's Python vocabulary for tasks, which pp-pool does not speak:
//! the status names its records carry, and `ThreadPoolExecutor`'s default size.

use pp_pool::TaskStatus;

/// A task status as the seed's records name it: `pending`, `running`,
/// `completed`, `failed`, `cancelled`, `timeout`, `worker_died`.
pub(crate) fn task_status_name(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Pending => "pending",
        TaskStatus::Running => "running",
        TaskStatus::Completed => "completed",
        TaskStatus::Failed => "failed",
        TaskStatus::Cancelled => "cancelled",
        TaskStatus::TimedOut => "timeout",
        TaskStatus::WorkerDied => "worker_died",
        // A status pp-pool added later, which the seed has no name for.
        _ => "unknown",
    }
}

/// Python's default for `ThreadPoolExecutor`, kept for the facade's
/// default thread pool: min(32, cpus + 4). (pp-pool's own default thread
/// pool has one thread per CPU.)
pub(crate) fn default_thread_count() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cpus + 4).min(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_the_seeds_name() {
        let names: Vec<_> = [
            TaskStatus::Pending,
            TaskStatus::Running,
            TaskStatus::Completed,
            TaskStatus::Failed,
            TaskStatus::Cancelled,
            TaskStatus::TimedOut,
            TaskStatus::WorkerDied,
        ]
        .into_iter()
        .map(task_status_name)
        .collect();
        assert_eq!(
            names,
            ["pending", "running", "completed", "failed", "cancelled", "timeout", "worker_died"]
        );
    }
}

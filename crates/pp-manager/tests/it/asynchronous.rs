//! The facade's async forms under tokio (current-thread and multi-thread)
//! and a minimal executor: results as the blocking calls give them, no
//! thread per pending call, and a dropped future loses nothing.

use std::time::Duration;

use pp_manager::prelude::*;

pub(crate) const TESTS: &[pp_tests::Test] = &[
    (
        "asynchronous::processes_and_tasks_are_awaited_without_a_thread_each",
        processes_and_tasks_are_awaited_without_a_thread_each,
    ),
    (
        "asynchronous::a_timed_out_await_loses_nothing_and_block_on_works",
        a_timed_out_await_loses_nothing_and_block_on_works,
    ),
    (
        "asynchronous::queue_items_and_events_are_awaited_and_a_dropped_get_takes_nothing",
        queue_items_and_events_are_awaited_and_a_dropped_get_takes_nothing,
    ),
];

fn double(x: u64) -> u64 {
    x * 2
}

fn sleep_then(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// The names of this process's threads, sorted.
fn threads() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect();
    names.sort();
    names
}

fn processes_and_tasks_are_awaited_without_a_thread_each() {
    let pm = ProcessManager::new();
    let threads_pool = pm.create_thread_pool(2).unwrap();
    let processes_pool = pm.create_process_pool(2).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // Start pp's own threads (reactor, background, spawner) and both
    // workers (the second is started from a supervisor thread, through
    // pp-process's spawner) before counting.
    runtime.block_on(pm.asynchronous().run_process(&Command::new("true"))).unwrap();
    let warm: Vec<TaskId> =
        (0..2).map(|_| pm.submit_task(sleep_then, 200, Some(&processes_pool)).unwrap()).collect();
    for id in &warm {
        pm.get_task_result::<u64>(id, Some(Duration::from_secs(60))).unwrap();
    }
    let before = threads();
    let during = runtime.block_on(async {
        let async_pm = pm.asynchronous();
        let runs = (0..50).map(|i| {
            let cmd = Command::shell(format!("sleep 0.5; echo {i}"));
            async move { async_pm.run_process(&cmd).await }
        });
        let on_threads: Vec<TaskId> =
            (0..50).map(|i| pm.submit_task(double, i, Some(&threads_pool)).unwrap()).collect();
        let on_processes: Vec<TaskId> =
            (0..50).map(|i| pm.submit_task(double, i, Some(&processes_pool)).unwrap()).collect();
        let (outputs, (doubled, doubled_elsewhere), during) = tokio::join!(
            futures::future::join_all(runs),
            async {
                let a = futures::future::join_all(
                    on_threads.iter().map(|id| async_pm.get_task_result::<u64>(id)),
                );
                let b = futures::future::join_all(
                    on_processes.iter().map(|id| async_pm.get_task_result::<u64>(id)),
                );
                tokio::join!(a, b)
            },
            async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                threads()
            },
        );
        for (i, output) in outputs.into_iter().enumerate() {
            let output = output.unwrap();
            assert_eq!(
                (output.status, output.stdout.trim()),
                (ProcessState::Completed, &*i.to_string())
            );
        }
        for (i, value) in doubled.into_iter().chain(doubled_elsewhere).enumerate() {
            assert_eq!(value.unwrap(), 2 * (i as u64 % 50));
        }
        during
    });
    println!(
        "    threads: {} before, {} while 50 processes and 100 tasks were awaited",
        before.len(),
        during.len()
    );
    assert!(
        during.len() <= before.len(),
        "a pending await started a thread: {before:?} -> {during:?}"
    );
}

fn a_timed_out_await_loses_nothing_and_block_on_works() {
    let pm = ProcessManager::new();
    let pool = pm.create_process_pool(1).unwrap();
    let slow = pm.submit_task(sleep_then, 700, Some(&pool)).unwrap();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let early = runtime.block_on(async {
        tokio::time::timeout(
            Duration::from_millis(100),
            pm.asynchronous().get_task_result::<u64>(&slow),
        )
        .await
    });
    assert!(early.is_err(), "the timeout fired first");
    // The dropped future took nothing: the result is there for the blocking call.
    assert_eq!(pm.get_task_result::<u64>(&slow, Some(Duration::from_secs(60))).unwrap(), 700);
    // A typed result through the minimal executor.
    let typed = pm.submit_typed_task(double, 21, Some(&pool)).unwrap();
    assert_eq!(
        futures::executor::block_on(pm.asynchronous().take_task_result(&typed)).unwrap(),
        42
    );
    let wrong =
        futures::executor::block_on(pm.asynchronous().get_task_result::<String>(typed.id()));
    assert!(matches!(wrong, Err(ManagerError::WrongResultType { .. })), "{wrong:?}");
}

fn queue_items_and_events_are_awaited_and_a_dropped_get_takes_nothing() {
    let pm = ProcessManager::new();
    let queue = pm.create_queue(4).unwrap();
    let event = pm.create_event().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let a = pm.asynchronous();
    // Nothing there: the timeout fires, and the dropped get takes nothing.
    let early = runtime.block_on(async {
        tokio::time::timeout(Duration::from_millis(50), a.get_queue_item::<String>(&queue)).await
    });
    assert!(early.is_err(), "an empty queue gave an item");
    std::thread::scope(|scope| {
        // Put and set while the awaits below are pending.
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(100));
            pm.put_queue_item(&queue, &"late".to_owned(), true, None).unwrap();
            std::thread::sleep(Duration::from_millis(100));
            pm.set_event(&event).unwrap();
        });
        runtime.block_on(async {
            assert_eq!(a.get_queue_item::<String>(&queue).await.unwrap(), "late");
            a.wait_for_event(&event).await.unwrap();
        });
    });
    runtime.block_on(async {
        a.put_queue_item(&queue, &7u32).await.unwrap();
        let wrong = a.get_queue_item::<String>(&queue).await;
        assert!(wrong.is_err(), "a u32 read as a String: {wrong:?}");
    });
    // The wrong-type read left the item for the right one.
    assert_eq!(pm.get_queue_item::<u32>(&queue, false, None).unwrap(), 7);
    pm.shutdown();
}

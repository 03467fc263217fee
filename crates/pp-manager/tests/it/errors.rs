//! The error contract: unknown ids, wrapped layer errors, bad values.

use std::time::Duration;

use pp_manager::prelude::*;
use pp_manager::{QueueId, TaskId};

pub(crate) const TESTS: &[pp_tests::Test] = &[
    (
        "errors::unknown_process_and_task_ids_have_no_status",
        unknown_process_and_task_ids_have_no_status,
    ),
    ("errors::unknown_or_deleted_ipc_ids_are_not_found", unknown_or_deleted_ipc_ids_are_not_found),
    ("errors::layer_errors_keep_their_variants", layer_errors_keep_their_variants),
    ("errors::bad_values_and_types_are_refused", bad_values_and_types_are_refused),
    ("errors::the_reexports_reach_each_layer", the_reexports_reach_each_layer),
];

fn unknown_process_and_task_ids_have_no_status() {
    let pm = ProcessManager::new();
    assert!(pm.get_process_status("never-started").is_none());
    let unknown: TaskId = "task-1-999999".parse().unwrap();
    assert!(pm.get_task_status(&unknown).is_none());
    assert!(!pm.cancel_task(&unknown));
    let err = pm.get_task_result::<u8>(&unknown, None).unwrap_err();
    assert!(
        matches!(&err, ManagerError::NotFound { kind: "task", id } if id == "task-1-999999"),
        "{err}"
    );
    let err = pm.shutdown_executor(&"no-pool".parse().unwrap(), true).unwrap_err();
    assert!(matches!(err, ManagerError::NotFound { kind: "executor", .. }), "{err}");
}

fn unknown_or_deleted_ipc_ids_are_not_found() {
    let pm = ProcessManager::new();
    let ghost: QueueId = "pp-queue-never-created".parse().unwrap();
    let err = pm.put_queue_item(&ghost, &1, true, None).unwrap_err();
    assert!(
        matches!(&err, ManagerError::NotFound { kind: "queue", id } if id == "pp-queue-never-created"),
        "{err}"
    );
    assert!(err.to_string().contains("pp-queue-never-created"));
    assert!(matches!(
        pm.get_shared_value(&"pp-value-never".parse().unwrap()),
        Err(ManagerError::NotFound { kind: "shared value", .. })
    ));
    assert!(matches!(
        pm.set_event(&"pp-event-never".parse().unwrap()),
        Err(ManagerError::NotFound { kind: "event", .. })
    ));
    assert!(matches!(
        pm.acquire_lock(&"pp-lock-never".parse().unwrap(), None),
        Err(ManagerError::NotFound { kind: "lock", .. })
    ));

    let queue = pm.create_queue(1).unwrap();
    pm.delete_queue(&queue).unwrap();
    assert!(
        matches!(pm.get_queue_size(&queue), Err(ManagerError::NotFound { kind: "queue", .. })),
        "deleted"
    );
    let value = pm.create_shared_value("i", 1).unwrap();
    pm.delete_shared_value(&value).unwrap();
    assert!(matches!(pm.get_shared_value(&value), Err(ManagerError::NotFound { .. })));
    let event = pm.create_event().unwrap();
    pm.delete_event(&event).unwrap();
    assert!(matches!(pm.is_event_set(&event), Err(ManagerError::NotFound { .. })));
    let lock = pm.create_lock().unwrap();
    pm.delete_lock(&lock).unwrap();
    assert!(matches!(pm.release_lock(&lock), Err(ManagerError::NotFound { .. })));

    let err = "not-a-pp-name".parse::<QueueId>().unwrap_err();
    assert!(matches!(err, ManagerError::InvalidId { kind: "queue", .. }), "{err}");
}

fn layer_errors_keep_their_variants() {
    let pm = ProcessManager::new();
    let err = pm
        .run_process(&Command::shell("sleep 30 & sleep 30").timeout(Duration::from_millis(200)))
        .unwrap_err();
    assert!(
        matches!(err, ManagerError::Process(pp_manager::process::Error::Timeout { .. })),
        "{err}"
    );
    let err = pm.run_process(&Command::new("pp-no-such-program")).unwrap_err();
    assert!(
        matches!(err, ManagerError::Process(pp_manager::process::Error::ProgramNotFound { .. })),
        "{err}"
    );
    let queue = pm.create_queue(1).unwrap();
    pm.put_queue_item(&queue, &1u8, false, None).unwrap();
    let err = pm.put_queue_item(&queue, &2u8, false, None).unwrap_err();
    assert!(matches!(err, ManagerError::Ipc(pp_manager::ipc::Error::Full { .. })), "{err}");
    pm.clear_queue(&queue).unwrap();
    let err = pm.get_queue_item::<u8>(&queue, false, None).unwrap_err();
    assert!(matches!(err, ManagerError::Ipc(pp_manager::ipc::Error::Empty { .. })), "{err}");
    let err = pm.get_queue_item::<u8>(&queue, true, Some(Duration::from_millis(50))).unwrap_err();
    assert!(matches!(err, ManagerError::Ipc(pp_manager::ipc::Error::Timeout { .. })), "{err}");
    let lock = pm.create_lock().unwrap();
    let err = pm.release_lock(&lock).unwrap_err();
    assert!(matches!(err, ManagerError::Ipc(pp_manager::ipc::Error::NotOwner { .. })), "{err}");
    assert!(matches!(
        pm.create_process_pool(0),
        Err(ManagerError::Pool(pp_manager::pool::PoolError::NoWorkers))
    ));
}

fn double(x: u32) -> u32 {
    x * 2
}

fn bad_values_and_types_are_refused() {
    let pm = ProcessManager::new();
    assert!(matches!(pm.create_shared_value("x", 1), Err(ManagerError::InvalidTypecode { .. })));
    let small = pm.create_shared_value("i", 1).unwrap();
    let err = pm.set_shared_value(&small, 1i64 << 40).unwrap_err();
    assert!(matches!(err, ManagerError::ValueDoesNotFit { holds: "i32", .. }), "{err}");
    let err = pm.set_shared_value(&small, 2.5).unwrap_err();
    assert!(matches!(err, ManagerError::ValueDoesNotFit { .. }), "{err}");
    assert_eq!(
        pm.get_shared_value(&small).unwrap().as_i64(),
        Some(1),
        "a refused set changed nothing"
    );
    let threads = pm.create_thread_pool(1).unwrap();
    let task = pm.submit_task(double, 4, Some(&threads)).unwrap();
    let err = pm.get_task_result::<String>(&task, None).unwrap_err();
    assert!(matches!(err, ManagerError::WrongResultType { .. }), "{err}");
    assert_eq!(pm.get_task_result::<u32>(&task, None).unwrap(), 8);
}

fn the_reexports_reach_each_layer() {
    // pp_manager::process is pp-process …
    let out = pp_manager::process::Command::new("true").run().unwrap();
    assert!(out.success());
    // … pp_manager::pool is pp-pool …
    let pool = pp_manager::pool::ThreadPool::new(1).unwrap();
    assert_eq!(pool.submit(|| 3).unwrap().result().unwrap(), 3);
    // … and pp_manager::ipc is pp-ipc; facade ids convert to and from its ids.
    let event = pp_manager::ipc::Event::create().unwrap();
    let id: pp_manager::EventId = event.id().clone().into();
    assert_eq!(id.object_id(), event.id());
    set_event(&id).unwrap();
    assert!(event.is_set());
    assert!(!pp_manager::pool::is_worker(), "the test process is not a pool worker");
}

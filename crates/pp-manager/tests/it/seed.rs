//! One test per section of PROCESS_MANAGEMENT.md, doing what its example does.

use std::collections::HashMap;
use std::time::Duration;

use pp_manager::prelude::*;
use pp_manager::{Scalar, TaskId};

pub(crate) const TESTS: &[pp_tests::Test] = &[
    ("seed::getting_the_process_manager", getting_the_process_manager),
    ("seed::running_processes", running_processes),
    ("seed::managing_processes", managing_processes),
    ("seed::process_pool_management", process_pool_management),
    ("seed::thread_pools", thread_pools),
    ("seed::default_pools", default_pools),
    ("seed::task_management", task_management),
    ("seed::queues", queues),
    ("seed::shared_values", shared_values),
    ("seed::events", events),
    ("seed::locks", locks),
    ("seed::integration_normalized_cwd", integration_normalized_cwd),
    (
        "seed::records_serialize_with_the_seed_field_names",
        records_serialize_with_the_seed_field_names,
    ),
    ("seed::shutdown_leaves_nothing", shutdown_leaves_nothing),
];

const WAIT: Option<Duration> = Some(Duration::from_secs(60));

fn getting_the_process_manager() {
    let manager = pp_manager::get_process_manager();
    assert!(std::ptr::eq(manager, pp_manager::get_process_manager()), "one per process");
}

fn running_processes() {
    let dir = std::env::temp_dir();
    let result =
        run_process(&Command::new("ls").arg(".").cwd(&dir).timeout(Duration::from_secs(60)))
            .unwrap();
    assert_eq!(result.returncode, 0, "{result:?}");
    assert_eq!(result.status, "completed");
    assert!(result.pid > 0 && result.duration >= 0.0);

    let failed = run_process(&Command::shell("echo oops >&2; exit 4")).unwrap();
    assert_eq!((failed.returncode, failed.stderr.as_str()), (4, "oops\n"));

    // Long enough to be seen running by a test thread slowed by a busy machine.
    let process_id = run_process_async(&Command::new("sleep").arg("2").cwd(&dir)).unwrap();
    let status = get_process_status(process_id.as_str()).unwrap();
    assert_eq!(status.status, "running");
    assert!(crate::support::eventually(
        || get_process_status(process_id.as_str()).unwrap().status == "completed"
    ));
}

fn managing_processes() {
    let pm = ProcessManager::new();
    let sleeper = pm.run_process_async(&Command::new("sleep").arg("60")).unwrap();
    let quick = pm.run_process_async(&Command::new("true")).unwrap();
    assert_eq!(pm.get_process_status(sleeper.as_str()).unwrap().status, "running");

    assert!(pm.terminate_process(sleeper.as_str()), "Process terminated");
    assert_eq!(pm.get_process_status(sleeper.as_str()).unwrap().status, "terminated");
    assert!(!pm.terminate_process(sleeper.as_str()), "already finished");
    assert!(!pm.terminate_process("no-such-process"), "not found");

    assert!(crate::support::eventually(
        || pm.get_process_status(quick.as_str()).unwrap().status == "completed"
    ));
    let processes = pm.list_processes();
    assert_eq!(processes.len(), 2);
    assert!(processes.iter().all(|p| p.status != "running"));
    assert_eq!(pm.cleanup_processes(), 2, "Cleaned up 2 processes");
    assert!(pm.list_processes().is_empty());
}

fn process_file(file_path: String) -> String {
    format!("Processed {file_path}")
}

fn process_pool_management() {
    let pm = ProcessManager::new();
    let pool_id = pm.create_process_pool(4).unwrap();
    let task_ids: Vec<TaskId> = ["file1.mp4", "file2.mp4", "file3.mp4"]
        .into_iter()
        .map(|path| pm.submit_task(process_file, path.to_owned(), Some(&pool_id)).unwrap())
        .collect();
    let results: Vec<String> =
        task_ids.iter().map(|id| pm.get_task_result(id, WAIT).unwrap()).collect();
    assert_eq!(results, ["Processed file1.mp4", "Processed file2.mp4", "Processed file3.mp4"]);
    pm.shutdown_executor(&pool_id, true).unwrap();
    assert!(pm.list_executors().is_empty());
}

fn download_file(url: String) -> String {
    format!("Downloaded {url}")
}

fn thread_pools() {
    let pm = ProcessManager::new();
    let pool_id = pm.create_thread_pool(10).unwrap();
    let task_ids: Vec<TaskId> = ["http://example.com/file1", "http://example.com/file2"]
        .into_iter()
        .map(|url| pm.submit_task(download_file, url.to_owned(), Some(&pool_id)).unwrap())
        .collect();
    let first: String = pm.get_task_result(&task_ids[0], WAIT).unwrap();
    assert_eq!(first, "Downloaded http://example.com/file1");
    assert_eq!(pm.list_executors()[0].kind, "thread");
    assert_eq!(pm.list_executors()[0].max_workers, 10);
    pm.shutdown_executor(&pool_id, true).unwrap();
}

fn default_pools() {
    let pm = ProcessManager::new();
    let process_pool_id = pm.get_default_process_pool().unwrap();
    let thread_pool_id = pm.get_default_thread_pool().unwrap();
    assert_eq!(pm.get_default_process_pool().unwrap(), process_pool_id, "created once");
    let on_default = pm.submit_task(process_file, "file.mp4".to_owned(), None).unwrap();
    assert_eq!(pm.get_task_status(&on_default).unwrap().executor_id, process_pool_id.to_string());
    let on_threads = pm
        .submit_task(download_file, "http://example.com/file".to_owned(), Some(&thread_pool_id))
        .unwrap();
    assert_eq!(pm.get_task_result::<String>(&on_default, WAIT).unwrap(), "Processed file.mp4");
    assert_eq!(
        pm.get_task_result::<String>(&on_threads, WAIT).unwrap(),
        "Downloaded http://example.com/file"
    );
    let cpus = std::thread::available_parallelism().unwrap().get();
    let kinds: HashMap<String, usize> =
        pm.list_executors().into_iter().map(|e| (e.kind.to_string(), e.max_workers)).collect();
    assert_eq!(kinds["process"], cpus);
    assert_eq!(kinds["thread"], pp_manager::pool::default_thread_pool().unwrap().max_workers());

    // One default pool per kind in the program: the facade's is pp-pool's.
    let worker_pid = pm.submit_task(worker_pid, (), None).unwrap();
    let worker_pid: u32 = pm.get_task_result(&worker_pid, WAIT).unwrap();
    let pp_pool_default = pp_manager::pool::default_process_pool().unwrap();
    assert!(pp_pool_default.worker_pids().contains(&worker_pid), "ran on pp-pool's default pool");
    // Shutting the shared default down through the facade only forgets its id.
    pm.shutdown_executor(&process_pool_id, true).unwrap();
    let again = pp_pool_default.submit(|x: u32| x + 1, 1).unwrap();
    assert_eq!(again.result_timeout(Duration::from_secs(60)).unwrap(), 2);
    assert_ne!(pm.get_default_process_pool().unwrap(), process_pool_id, "a new id");
}

fn worker_pid((): ()) -> u32 {
    std::process::id()
}

fn sleep_ms(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

fn task_management() {
    let pm = ProcessManager::new();
    let pool = pm.create_process_pool(1).unwrap();
    let running = pm.submit_task(sleep_ms, 60_000, Some(&pool)).unwrap();
    let pending = pm.submit_task(sleep_ms, 1, Some(&pool)).unwrap();
    assert!(crate::support::eventually(
        || pm.get_task_status(&running).unwrap().status == "running"
    ));
    assert_eq!(pm.get_task_status(&pending).unwrap().status, "pending");
    assert!(pm.cancel_task(&pending), "Task cancelled");
    assert_eq!(pm.get_task_status(&pending).unwrap().status, "cancelled");
    assert!(pm.cancel_task(&running), "a running process task is stopped too");
    let err = pm.get_task_result::<u64>(&running, WAIT).unwrap_err();
    assert!(
        matches!(
            err,
            ManagerError::Task(pp_manager::pool::TaskError {
                kind: pp_manager::pool::TaskErrorKind::Cancelled,
                ..
            })
        ),
        "{err}"
    );
    assert!(!pm.cancel_task(&running), "already finished");
    let next = pm.submit_task(sleep_ms, 2, Some(&pool)).unwrap();
    assert_eq!(pm.get_task_result::<u64>(&next, WAIT).unwrap(), 2);
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
enum Item {
    Text(String),
    Map(HashMap<String, String>),
}

fn queues() {
    let queue_id = create_queue(10).unwrap();
    put_queue_item(&queue_id, &Item::Text("item1".into()), true, None).unwrap();
    put_queue_item(
        &queue_id,
        &Item::Map(HashMap::from([("key".into(), "value".into())])),
        true,
        None,
    )
    .unwrap();
    let item1: Item = get_queue_item(&queue_id, true, None).unwrap();
    let item2: Item = get_queue_item(&queue_id, true, None).unwrap();
    assert_eq!(item1, Item::Text("item1".into()));
    assert_eq!(item2, Item::Map(HashMap::from([("key".into(), "value".into())])));

    assert_eq!(get_queue_size(&queue_id).unwrap(), 0);
    assert!(is_queue_empty(&queue_id).unwrap());
    assert!(!is_queue_full(&queue_id).unwrap());
    for i in 0..10 {
        put_queue_item(&queue_id, &i, false, None).unwrap();
    }
    assert!(is_queue_full(&queue_id).unwrap());
    assert!(list_queues().contains(&queue_id));
    assert_eq!(clear_queue(&queue_id).unwrap(), 10, "Cleared 10 items from the queue");
    delete_queue(&queue_id).unwrap();
    assert!(!list_queues().contains(&queue_id));
}

fn shared_values() {
    let value_id = create_shared_value("i", 0).unwrap();
    assert_eq!(get_shared_value(&value_id).unwrap(), Scalar::Int(0));
    set_shared_value(&value_id, 42).unwrap();
    assert_eq!(get_shared_value(&value_id).unwrap().as_i64(), Some(42));
    let bool_id = create_shared_value("b", false).unwrap();
    assert_eq!(get_shared_value(&bool_id).unwrap(), Scalar::Bool(false));
    let double_id = create_shared_value("d", 2.5).unwrap();
    assert_eq!(get_shared_value(&double_id).unwrap(), Scalar::Float(2.5));
    let typed = create_shared_value_typed(7u64).unwrap();
    assert_eq!(add_shared_value(&typed, 3).unwrap(), Scalar::UInt(7));
    assert_eq!(get_shared_value(&typed).unwrap(), Scalar::UInt(10));
}

fn events() {
    let event_id = create_event().unwrap();
    set_event(&event_id).unwrap();
    assert!(is_event_set(&event_id).unwrap(), "Event is set");
    clear_event(&event_id).unwrap();
    assert!(!is_event_set(&event_id).unwrap());
    let started = std::time::Instant::now();
    assert!(
        !wait_for_event(&event_id, Some(Duration::from_millis(100))).unwrap(),
        "Timeout waiting for event"
    );
    assert!(started.elapsed() >= Duration::from_millis(100));
    let setter = {
        let id = event_id.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            set_event(&id).unwrap();
        })
    };
    assert!(wait_for_event(&event_id, Some(Duration::from_secs(10))).unwrap(), "Event was set");
    setter.join().unwrap();
}

fn locks() {
    let lock_id = create_lock().unwrap();
    assert!(acquire_lock(&lock_id, Some(Duration::from_secs(5))).unwrap(), "Lock acquired");
    // Held: another thread cannot take it within its timeout.
    let id = lock_id.clone();
    let other =
        std::thread::spawn(move || acquire_lock(&id, Some(Duration::from_millis(100))).unwrap());
    assert!(!other.join().unwrap());
    release_lock(&lock_id).unwrap();
    {
        let guard = lock_context(&lock_id, Some(Duration::from_secs(5))).unwrap();
        assert!(!guard.previous_owner_died());
    }
    // Released by the guard's drop: acquirable again.
    assert!(acquire_lock(&lock_id, Some(Duration::from_secs(5))).unwrap());
    release_lock(&lock_id).unwrap();
}

fn integration_normalized_cwd() {
    let here = std::env::current_dir().unwrap();
    let result = run_process(&Command::new("pwd").cwd("./././")).unwrap();
    assert_eq!(result.stdout.trim(), here.to_str().unwrap());
    let err = run_process(&Command::new("true").cwd("/path/to/working/dir")).unwrap_err();
    assert!(
        matches!(err, ManagerError::Process(pp_manager::process::Error::BadCwd { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("/path/to/working/dir"));
}

fn records_serialize_with_the_seed_field_names() {
    let pm = ProcessManager::new();
    let result = pm.run_process(&Command::new("echo").arg("hi").id("json-demo")).unwrap();
    let json = serde_json::to_value(&result).unwrap();
    for key in
        ["process_id", "pid", "command", "status", "returncode", "stdout", "stderr", "duration"]
    {
        assert!(json.get(key).is_some(), "ProcessResult lacks {key}: {json}");
    }
    assert_eq!(json["stdout"], "hi\n");
    let status = serde_json::to_value(pm.get_process_status("json-demo").unwrap()).unwrap();
    assert_eq!(status["status"], "completed");
    assert_eq!(status["returncode"], 0);
    assert_eq!(status["process_id"], "json-demo");
    let pool = pm.create_thread_pool(1).unwrap();
    let task = pm.submit_task(sleep_ms, 1, Some(&pool)).unwrap();
    pm.get_task_result::<u64>(&task, WAIT).unwrap();
    let record = serde_json::to_value(pm.get_task_status(&task).unwrap()).unwrap();
    assert_eq!(record["status"], "completed");
    assert_eq!(record["task_id"], task.to_string());
    assert_eq!(serde_json::to_value(Scalar::Float(1.5)).unwrap(), 1.5);
}

fn shutdown_leaves_nothing() {
    let pm = ProcessManager::new();
    let queue = pm.create_queue(4).unwrap();
    let event = pm.create_event().unwrap();
    let sleeper = pm.run_process_async(&Command::new("sleep").arg("60")).unwrap();
    let pid = pm.get_process_status(sleeper.as_str()).unwrap().pid.unwrap();
    let pool = pm.create_process_pool(1).unwrap();
    let task = pm.submit_task(sleep_ms, 60_000, Some(&pool)).unwrap();
    assert!(crate::support::eventually(|| pm.get_task_status(&task).unwrap().status == "running"));
    pm.shutdown();
    assert!(pm.list_executors().is_empty());
    assert!(pm.list_processes().is_empty());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}/cmdline")).exists() || pp_tests::is_gone(pid)
    );
    let other = ProcessManager::new();
    assert!(matches!(
        other.get_queue_size(&queue),
        Err(ManagerError::NotFound { kind: "queue", .. })
    ));
    assert!(matches!(
        other.is_event_set(&event),
        Err(ManagerError::NotFound { kind: "event", .. })
    ));
}

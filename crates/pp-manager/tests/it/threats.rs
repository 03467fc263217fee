//! Hostile input through the facade: a clear typed error naming the value
//! (shortened), never a panic, and the program carries on.

use std::time::Duration;

use pp_manager::prelude::*;

pub(crate) const TESTS: &[pp_tests::Test] = &[
    (
        "threats::a_one_megabyte_executor_id_is_refused_with_a_short_error",
        a_one_megabyte_executor_id_is_refused_with_a_short_error,
    ),
    (
        "threats::a_one_megabyte_queue_id_makes_a_short_error",
        a_one_megabyte_queue_id_makes_a_short_error,
    ),
    (
        "threats::a_one_megabyte_process_id_makes_a_short_error",
        a_one_megabyte_process_id_makes_a_short_error,
    ),
    (
        "threats::a_one_megabyte_typecode_makes_a_short_error",
        a_one_megabyte_typecode_makes_a_short_error,
    ),
    (
        "threats::names_planted_in_dev_shm_are_refused_by_every_facade_function",
        names_planted_in_dev_shm_are_refused_by_every_facade_function,
    ),
    (
        "threats::a_descendant_that_leaves_the_group_is_stopped_through_the_facade",
        a_descendant_that_leaves_the_group_is_stopped_through_the_facade,
    ),
];

const MEGABYTE: usize = 1 << 20;

/// The error is short and names the id by its head and its length.
fn assert_short(err: &ManagerError, head: &str) {
    let message = err.to_string();
    println!("    {} bytes: {message}", message.len());
    assert!(message.len() < 400, "a {}-byte message", message.len());
    assert!(message.contains(head), "{message}");
    assert!(message.contains(&format!("…({MEGABYTE} bytes)")), "{message}");
}

/// The process-wide manager still serves (its pools and the process
/// reactor): the error left nothing broken.
fn assert_still_serving() {
    assert_eq!(run_process(&Command::new("true")).unwrap().returncode, 0);
    let pool = create_thread_pool(1).unwrap();
    let task = submit_task(|x: u32| x + 1, 41, Some(&pool)).unwrap();
    assert_eq!(get_task_result::<u32>(&task, Some(Duration::from_secs(30))).unwrap(), 42);
    shutdown_executor(&pool, true).unwrap();
}

fn a_one_megabyte_executor_id_is_refused_with_a_short_error() {
    let huge = "x".repeat(MEGABYTE);
    let err = huge.parse::<ExecutorId>().unwrap_err();
    assert!(
        matches!(&err, ManagerError::InvalidId { kind: "executor", id, .. } if id.len() < 100),
        "{err:?}"
    );
    assert_short(&err, &"x".repeat(64));
    let err = "y".repeat(ExecutorId::MAX_LEN + 1).parse::<ExecutorId>().unwrap_err();
    assert!(matches!(err, ManagerError::InvalidId { kind: "executor", .. }), "{err}");
    // The longest accepted id is simply not found, and echoed whole.
    let longest: ExecutorId = "z".repeat(ExecutorId::MAX_LEN).parse().unwrap();
    let err = shutdown_executor(&longest, true).unwrap_err();
    assert!(matches!(err, ManagerError::NotFound { kind: "executor", .. }), "{err}");
    assert!(err.to_string().len() < 400, "{err}");
    assert_still_serving();
}

fn a_one_megabyte_queue_id_makes_a_short_error() {
    let huge = format!("pp-{}", "q".repeat(MEGABYTE - 3));
    let err = huge.parse::<QueueId>().unwrap_err();
    assert!(matches!(&err, ManagerError::InvalidId { kind: "queue", .. }), "{err:?}");
    assert_short(&err, "pp-qqq");
    assert!(err.to_string().contains("longer than 200 bytes"), "{err}");
    assert_still_serving();
}

fn a_one_megabyte_process_id_makes_a_short_error() {
    let err = run_process(&Command::new("true").id("p".repeat(MEGABYTE))).unwrap_err();
    assert!(
        matches!(
            &err,
            ManagerError::Process(pp_manager::process::Error::InvalidProcessId(invalid))
                if invalid.id().len() < 100
        ),
        "{err:?}"
    );
    assert_short(&err, "ppp");
    let err = run_process_async(&Command::new("true").id("p".repeat(MEGABYTE))).unwrap_err();
    assert_short(&err, "ppp");
    assert_still_serving();
}

fn a_one_megabyte_typecode_makes_a_short_error() {
    let err = create_shared_value(&"t".repeat(MEGABYTE), 1).unwrap_err();
    assert!(matches!(&err, ManagerError::InvalidTypecode { .. }), "{err:?}");
    assert_short(&err, "ttt");
    assert_still_serving();
}

/// A name planted in `/dev/shm`, removed on drop whatever it is.
struct Planted(std::path::PathBuf);

impl Drop for Planted {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Plants `name` as `how`; `None` where this process cannot (not root).
fn plant(name: &str, how: &str) -> Option<Planted> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let path = std::path::Path::new("/dev/shm").join(name);
    let planted = Planted(path.clone());
    let regular = |mode: u32| {
        let file = std::fs::OpenOptions::new().create_new(true).write(true).mode(0o600).open(&path);
        file.unwrap().set_len(4096).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    match how {
        "symlink" => {
            let target = create_queue(1).unwrap();
            std::os::unix::fs::symlink(format!("/dev/shm/{target}"), &path).unwrap();
        }
        "fifo" => {
            assert!(std::process::Command::new("mkfifo").arg(&path).status().unwrap().success());
        }
        "world-writable" => regular(0o666),
        "another user's" => {
            if pp_tests::effective_uid() != 0 {
                println!("    skipped: chown to another user needs root");
                return None;
            }
            regular(0o600);
            std::os::unix::fs::chown(&path, Some(pp_tests::OTHER_UID), Some(pp_tests::OTHER_UID))
                .unwrap();
        }
        other => panic!("no such plant {other}"),
    }
    Some(planted)
}

fn names_planted_in_dev_shm_are_refused_by_every_facade_function() {
    for how in ["symlink", "fifo", "world-writable", "another user's"] {
        let name =
            format!("pp-test-planted-{}-{}", std::process::id(), how.replace(['\'', ' '], "-"));
        let Some(_planted) = plant(&name, how) else { continue };
        let untrusted = |result: Result<(), ManagerError>, call: &str| match result {
            Err(ManagerError::Ipc(pp_manager::ipc::Error::Untrusted { .. })) => {}
            other => panic!("{how}: {call} gave {other:?}"),
        };
        let short = Some(Duration::from_millis(10));
        let queue: QueueId = name.parse().unwrap();
        untrusted(put_queue_item(&queue, &1u32, false, None), "put_queue_item");
        untrusted(get_queue_item::<u32>(&queue, true, short).map(drop), "get_queue_item");
        untrusted(get_queue_size(&queue).map(drop), "get_queue_size");
        untrusted(is_queue_empty(&queue).map(drop), "is_queue_empty");
        untrusted(is_queue_full(&queue).map(drop), "is_queue_full");
        untrusted(clear_queue(&queue).map(drop), "clear_queue");
        let value: ValueId = name.parse().unwrap();
        untrusted(get_shared_value(&value).map(drop), "get_shared_value");
        untrusted(set_shared_value(&value, 1i64), "set_shared_value");
        untrusted(add_shared_value(&value, 1).map(drop), "add_shared_value");
        let event: EventId = name.parse().unwrap();
        untrusted(set_event(&event), "set_event");
        untrusted(clear_event(&event), "clear_event");
        untrusted(wait_for_event(&event, short).map(drop), "wait_for_event");
        untrusted(is_event_set(&event).map(drop), "is_event_set");
        let lock: LockId = name.parse().unwrap();
        untrusted(acquire_lock(&lock, short).map(drop), "acquire_lock");
        untrusted(release_lock(&lock), "release_lock");
        untrusted(lock_context(&lock, short).map(drop), "lock_context");
        assert!(std::path::Path::new("/dev/shm").join(&name).symlink_metadata().is_ok());
    }
    assert_still_serving();
}

fn a_descendant_that_leaves_the_group_is_stopped_through_the_facade() {
    let dir = std::env::temp_dir().join(format!("pp-test-escapee-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pid_file = dir.join("pid");
    let script = format!("setsid sleep 300 & echo $! > {}; sleep 300", pid_file.display());
    let id = run_process_async(&Command::shell(script)).unwrap();
    let mut escapee = None;
    assert!(crate::support::eventually(|| {
        escapee =
            std::fs::read_to_string(&pid_file).ok().and_then(|p| p.trim().parse::<u32>().ok());
        escapee.is_some()
    }));
    let escapee = escapee.unwrap();
    let record = get_process_status(id.as_str()).unwrap();
    assert!(terminate_process(id.as_str()));
    let _ = std::fs::remove_dir_all(&dir);
    println!("    contained by {} {:?}", record.containment, record.cgroup);
    match record.containment.as_str() {
        "cgroup" => {
            assert!(record.cgroup.is_some());
            assert!(pp_tests::is_gone(escapee), "the setsid escapee {escapee} survived");
        }
        "process group" => {
            // Reported as the mechanism that cannot reach it; stop it by hand.
            assert!(!pp_tests::is_gone(escapee));
            let _ =
                std::process::Command::new("kill").args(["-KILL", &escapee.to_string()]).status();
        }
        other => panic!("containment {other:?}"),
    }
    if pp_tests::effective_uid() == 0 && pp_tests::cgroup2_mounted() {
        assert_eq!(record.containment, "cgroup", "root can always make cgroups here");
    }
}

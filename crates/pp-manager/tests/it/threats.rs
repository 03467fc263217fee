//! Hostile input through the facade: a clear typed error naming the value
//! (shortened), never a panic, and the program carries on.

use std::time::Duration;

use pp_manager::prelude::*;

pub(crate) const TESTS: &[crate::Test] = &[
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
            ManagerError::Process(pp_manager::process::Error::InvalidProcessId { id, .. })
                if id.len() < 100
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

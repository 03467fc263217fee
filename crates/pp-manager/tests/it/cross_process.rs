//! Ids handed to unrelated processes work there with the same free functions.

use std::time::Duration;

use pp_manager::prelude::*;

pub(crate) const TESTS: &[pp_tests::Test] = &[
    (
        "cross_process::an_unrelated_helper_uses_our_ids_through_the_free_functions",
        an_unrelated_helper_uses_our_ids_through_the_free_functions,
    ),
    (
        "cross_process::a_typed_id_sent_through_a_queue_is_used_by_another_process",
        a_typed_id_sent_through_a_queue_is_used_by_another_process,
    ),
];

fn a_typed_id_sent_through_a_queue_is_used_by_another_process() {
    let queue = create_queue(0).unwrap();
    let event = create_event().unwrap();
    // The id itself is the item: it serializes as its name.
    put_queue_item(&queue, &event, false, None).unwrap();
    let out = crate::helper::command(["event-from-queue", queue.as_str()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("set {event}"));
    assert!(is_event_set(&event).unwrap(), "the other process set our event");
    delete_queue(&queue).unwrap();
    get_process_manager().delete_event(&event).unwrap();
}

const PER_HELPER: usize = 300;

fn an_unrelated_helper_uses_our_ids_through_the_free_functions() {
    let queue = create_queue(0).unwrap();
    let value = create_shared_value("l", 0).unwrap();
    let event = create_event().unwrap();
    let lock = create_lock().unwrap();
    let helper = crate::helper::path();
    // Two helpers at once, started through the facade itself; the ids travel on argv.
    let ids = [
        queue.to_string(),
        value.to_string(),
        event.to_string(),
        lock.to_string(),
        PER_HELPER.to_string(),
    ];
    let helpers: Vec<ProcessId> = (0..2)
        .map(|_| {
            let command = Command::new(&helper).env(crate::helper::HELPER_ENV, "1").args(&ids);
            run_process_async(&command.timeout(Duration::from_secs(120))).unwrap()
        })
        .collect();
    assert!(
        wait_for_event(&event, Some(Duration::from_secs(120))).unwrap(),
        "a helper set the event"
    );
    for id in &helpers {
        assert!(crate::support::eventually(
            || get_process_status(id.as_str()).unwrap().status != "running"
        ));
        let status = get_process_status(id.as_str()).unwrap();
        assert_eq!(
            (status.status.as_str(), status.returncode),
            ("completed", Some(0)),
            "{status:?}"
        );
    }
    assert_eq!(
        get_shared_value(&value).unwrap().as_i64(),
        Some(2 * PER_HELPER as i64),
        "increments lost: the lock did not exclude"
    );
    assert_eq!(get_queue_size(&queue).unwrap(), 2 * PER_HELPER);
    let first: String = get_queue_item(&queue, false, None).unwrap();
    assert!(first.starts_with("item 0 from "), "{first}");
    delete_queue(&queue).unwrap();
}

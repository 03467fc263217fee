//! `pp ipc ls|rm|sweep` on real objects: one of this test process (alive)
//! and a copy whose header names a dead creator (stale).

use std::os::unix::fs::OpenOptionsExt;

use crate::support::{pp, run};

/// Where the OS shows shared-memory objects.
fn shm(id: &str) -> std::path::PathBuf {
    std::path::Path::new("/dev/shm").join(id)
}

/// A pid that is dead: a child that ran and was reaped.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().expect("true starts");
    let pid = child.id();
    child.wait().expect("reaped");
    pid
}

/// Plants a copy of `from` named `id` whose header says a dead process made it.
fn plant_stale_copy(from: &str, id: &str) {
    let mut bytes = std::fs::read(shm(from)).expect("read the object");
    // The header's creator pid: after magic (8), version (4), kind (4), ready (4).
    bytes[20..24].copy_from_slice(&dead_pid().to_ne_bytes());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(shm(id))
        .expect("plant");
    std::io::Write::write_all(&mut file, &bytes).expect("write");
}

fn json(args: &[&str]) -> serde_json::Value {
    let ran = run(&mut pp(args), "");
    assert_eq!(ran.no_panic().code, Some(0), "{args:?}: {ran:?}");
    serde_json::from_str(&ran.stdout).expect("--json prints JSON")
}

fn listed(id: &str) -> Option<serde_json::Value> {
    json(&["ipc", "ls", "--json"])["objects"].as_array()?.iter().find(|o| o["id"] == id).cloned()
}

#[test]
fn ls_rm_and_sweep_see_alive_and_stale_objects() {
    let queue = pp_ipc::Queue::<u32>::create(8).expect("a queue");
    let live = queue.id().as_str().to_owned();
    let stale = format!("pp-test-cli-stale-{}", std::process::id());
    plant_stale_copy(&live, &stale);

    let alive = listed(&live).expect("the queue is listed");
    assert_eq!(alive["kind"], "queue");
    assert_eq!(alive["state"], "alive");
    assert_eq!(alive["creator_pid"], std::process::id());
    assert!(alive["size"].as_u64().is_some_and(|s| s > 64));
    assert_eq!(listed(&stale).expect("the copy is listed")["state"], "stale");
    let table = run(&mut pp(&["ipc", "ls"]), "");
    assert!(table.stdout.contains(&live) && table.stdout.contains("stale"), "{}", table.stdout);

    let swept = json(&["ipc", "sweep", "--json"]);
    assert!(
        swept["removed"].as_array().is_some_and(|r| r.iter().any(|n| n == stale.as_str())),
        "{swept}"
    );
    assert!(swept["count"].as_u64().is_some_and(|n| n >= 1));
    assert!(!shm(&stale).exists(), "the stale copy was swept");
    assert!(shm(&live).exists(), "the live queue stays");

    assert_eq!(json(&["ipc", "rm", &live, "--json"])["removed"][0], live.as_str());
    assert!(!shm(&live).exists());
    let again = run(&mut pp(&["ipc", "rm", &live]), "");
    assert_eq!(again.no_panic().code, Some(1));
    assert!(again.stderr.contains(&live), "{}", again.stderr);
    let bad = run(&mut pp(&["ipc", "rm", "not-a-pp-name"]), "");
    assert_eq!(bad.no_panic().code, Some(1));
    assert!(bad.stderr.contains("not-a-pp-name"), "{}", bad.stderr);
    drop(queue);
}

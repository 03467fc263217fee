//! Named pipes between unrelated processes.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::{Duration, Instant};

use pp_ipc::{Error, ObjectId, Pipe, PipeListener, TimeoutError};

use crate::support::{Helper, watchdog};

#[test]
fn an_unrelated_process_connects_by_id_and_messages_round_trip() {
    watchdog(Duration::from_secs(60), || {
        let listener = PipeListener::create().unwrap();
        let mut helper = Helper::start(&["pipe-echo", listener.id().as_str()]);
        let mut pipe = listener.accept_timeout(Duration::from_secs(20)).unwrap();
        assert_eq!(helper.line(), "connected");
        for message in [b"hello".to_vec(), Vec::new(), (0..8u32 << 20).map(|i| i as u8).collect()] {
            pipe.send(&message).unwrap();
            let mut expected = message.clone();
            expected.reverse();
            assert!(
                pipe.recv_timeout(Duration::from_secs(20)).unwrap() == expected,
                "message of {} bytes",
                message.len()
            );
        }
        pipe.send_item(&("item", 42u64)).unwrap();
        pipe.send(b"bye").unwrap();
        let mut echoed = pipe.recv_timeout(Duration::from_secs(20)).unwrap();
        echoed.reverse();
        assert_eq!(
            postcard::from_bytes::<(String, u64)>(&echoed).unwrap(),
            ("item".to_owned(), 42)
        );
        assert!(
            matches!(
                pipe.recv_timeout(Duration::from_secs(20)),
                Err(TimeoutError::Failed(e)) if matches!(*e, Error::Closed { .. })
            ),
            "the peer hung up"
        );
        assert!(matches!(pipe.recv(), Err(Error::Closed { .. })), "and stays gone");
        assert!(helper.success());
    });
}

#[test]
fn the_endpoint_is_private_and_removed_with_its_listener() {
    let listener = PipeListener::create().unwrap();
    let dir = pp_ipc::pipe_dir().unwrap();
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    let socket = dir.join(format!("{}.sock", listener.id()));
    let meta = std::fs::metadata(&socket).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.uid(), rustix_uid());
    let id = listener.id().clone();
    drop(listener);
    assert!(!socket.exists());
    assert!(matches!(Pipe::connect(&id), Err(Error::NotFound { .. })));
}

fn rustix_uid() -> u32 {
    std::fs::metadata("/proc/self").unwrap().uid()
}

#[test]
fn accept_and_recv_time_out_and_a_taken_id_is_refused() {
    let id = ObjectId::new(format!("pp-test-pipe-{}", std::process::id())).unwrap();
    let listener = PipeListener::create_with_id(id.clone()).unwrap();
    assert!(matches!(PipeListener::create_with_id(id.clone()), Err(Error::AlreadyExists { .. })));
    let started = Instant::now();
    assert!(matches!(
        listener.accept_timeout(Duration::from_millis(100)),
        Err(TimeoutError::Timeout)
    ));
    assert!(started.elapsed() >= Duration::from_millis(100));
    let mut client = Pipe::connect(&id).unwrap();
    let mut server = listener.accept_timeout(Duration::from_secs(5)).unwrap();
    assert!(matches!(server.recv_timeout(Duration::from_millis(50)), Err(TimeoutError::Timeout)));
    client.set_max_message(16);
    let err = client.send(&[0u8; 17]).unwrap_err();
    assert!(matches!(err, Error::ItemTooLarge { size: 17, capacity: 16, .. }), "{err}");
    client.send(b"fits").unwrap();
    assert_eq!(server.recv_timeout(Duration::from_secs(5)).unwrap(), b"fits");
}

#[test]
fn a_pipe_directory_others_can_enter_is_refused() {
    let runtime = std::env::temp_dir().join(format!("pp-test-runtime-{}", std::process::id()));
    std::fs::create_dir_all(runtime.join("pp")).unwrap();
    std::fs::set_permissions(runtime.join("pp"), std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut helper = Helper::start_with_env(&["pipe-dir"], &[("XDG_RUNTIME_DIR", &runtime)]);
    let said = helper.line();
    std::fs::set_permissions(runtime.join("pp"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut again = Helper::start_with_env(&["pipe-dir"], &[("XDG_RUNTIME_DIR", &runtime)]);
    let accepted = again.line();
    std::fs::remove_dir_all(&runtime).unwrap();
    assert!(said.contains("refusing pipe directory") && said.contains("777"), "{said}");
    assert_eq!(accepted, runtime.join("pp").display().to_string());
}

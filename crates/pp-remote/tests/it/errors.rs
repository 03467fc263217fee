//! Bad input: each a typed error naming the value, in bounded time.

use std::time::{Duration, Instant};

use pp_remote::{RemoteError, RemotePool, RemoteTaskOptions};

use crate::support::{Server, options, square};

pub(crate) const TESTS: &[pp_tests::Test] = &[
    ("an_unreachable_server_is_an_error_naming_it", an_unreachable_server_is_an_error_naming_it),
    ("an_unknown_task_id_is_an_error", an_unknown_task_id_is_an_error),
    ("bad_ids_and_namespaces_are_refused", bad_ids_and_namespaces_are_refused),
    (
        "a_stream_of_the_wrong_configuration_is_refused",
        a_stream_of_the_wrong_configuration_is_refused,
    ),
    ("a_server_gone_mid_run_gives_errors_not_hangs", a_server_gone_mid_run_gives_errors_not_hangs),
];

const ACK_WAIT: Duration = Duration::from_secs(2);

fn an_unreachable_server_is_an_error_naming_it() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("nats://127.0.0.1:{port}");
    let error = RemotePool::connect(&url, options(ACK_WAIT)).unwrap_err();
    assert!(matches!(error, RemoteError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains(&url), "{error}");
    let error = RemotePool::connect("not a url at all", options(ACK_WAIT)).unwrap_err();
    assert!(error.to_string().contains("not a url at all"), "{error}");
}

fn an_unknown_task_id_is_an_error() {
    let server = Server::start();
    let pool = RemotePool::connect(&server.url(), options(ACK_WAIT)).unwrap();
    let task = pool.task::<u64>("never-submitted").unwrap();
    let error = task.status().unwrap_err();
    assert!(
        matches!(error, RemoteError::UnknownTask { ref id } if id == "never-submitted"),
        "{error:?}"
    );
    assert!(matches!(
        task.result_timeout(Duration::from_secs(30)),
        Err(RemoteError::UnknownTask { .. })
    ));
    assert!(matches!(task.cancel(), Err(RemoteError::UnknownTask { .. })));
}

fn bad_ids_and_namespaces_are_refused() {
    let server = Server::start();
    let pool = RemotePool::connect(&server.url(), options(ACK_WAIT)).unwrap();
    for bad in ["", "a.b", "a b", "*", ">", &"x".repeat(65)] {
        let error = pool.task::<u64>(bad).unwrap_err();
        assert!(matches!(error, RemoteError::BadTaskId { .. }), "{bad:?}: {error:?}");
        let error = pool.submit_with(square, 1, RemoteTaskOptions::default().id(bad)).unwrap_err();
        assert!(matches!(error, RemoteError::BadTaskId { .. }), "{bad:?}: {error:?}");
    }
    // A result TTL shorter than the two-minute duplicate window is fine.
    let short = options(ACK_WAIT).namespace("short").result_ttl(Duration::from_secs(30));
    RemotePool::connect(&server.url(), short).unwrap();
    let error = RemotePool::connect(&server.url(), options(ACK_WAIT).namespace("a.b")).unwrap_err();
    assert!(matches!(error, RemoteError::BadNamespace { .. }), "{error:?}");
}

fn a_stream_of_the_wrong_configuration_is_refused() {
    let server = Server::start();
    // Someone else's stream under pp's name: limits retention, other subjects.
    let url = server.url();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let client = async_nats::connect(url.as_str()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        js.create_stream(async_nats::jetstream::stream::Config {
            name: "other-tasks".into(),
            subjects: vec!["elsewhere.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    });
    let error = RemotePool::connect(&url, options(ACK_WAIT).namespace("other")).unwrap_err();
    assert!(
        matches!(error, RemoteError::WrongStream { ref stream, .. } if stream == "other-tasks"),
        "{error:?}"
    );
    assert!(error.to_string().contains("WorkQueue"), "{error}");
}

fn a_server_gone_mid_run_gives_errors_not_hangs() {
    let mut server = Server::start();
    let pool = RemotePool::connect(&server.url(), options(ACK_WAIT)).unwrap();
    let task = pool.submit(square, 3).unwrap();
    server.stop();
    let started = Instant::now();
    assert!(pool.submit(square, 4).is_err());
    assert!(task.status().is_err());
    assert!(matches!(
        task.result_timeout(Duration::from_secs(2)),
        Err(RemoteError::Timeout { .. })
    ));
    // Each call gave up within its request timeout (5 s, three tries at most).
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
}

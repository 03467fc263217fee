//! More than one machine through the facade: `create_remote_pool`, then the
//! seed's task functions, against a real nats-server with a worker process
//! (this binary, started as `--pp-remote-worker URL`, which `init` serves).

use std::process::{Command, Stdio};
use std::time::Duration;

use pp_manager::prelude::*;
use pp_manager::remote::{Key, RemoteOptions};
use pp_tests::nats::Server;

pub(crate) const TESTS: &[pp_tests::Test] = &[(
    "remote::a_remote_pool_runs_the_seeds_task_functions_end_to_end",
    a_remote_pool_runs_the_seeds_task_functions_end_to_end,
)];

fn cube(x: u64) -> u64 {
    x * x * x
}

fn a_remote_pool_runs_the_seeds_task_functions_end_to_end() {
    let server = Server::start();
    let key = Key::generate().unwrap();
    let _worker = KilledOnDrop(
        Command::new(std::env::current_exe().unwrap())
            .args([pp_manager::remote::WORKER_FLAG, &server.url(), "1"])
            .env(pp_manager::remote::KEY_ENV, key.to_hex())
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pool = pp_manager::create_remote_pool_with(&server.url(), RemoteOptions::new(key)).unwrap();
    let executor = list_executors().into_iter().find(|e| e.executor_id == pool.to_string());
    assert_eq!(executor.map(|e| e.kind), Some(pp_manager::ExecutorKind::Remote));
    let task = submit_task(cube, 3, Some(&pool)).unwrap();
    assert_eq!(get_task_result::<u64>(&task, Some(Duration::from_secs(120))).unwrap(), 27);
    assert_eq!(get_task_status(&task).unwrap().status, "completed");
    assert!(!cancel_task(&task), "a finished task cannot be cancelled");
    let error = get_task_result::<String>(&task, Some(Duration::from_secs(5))).unwrap_err();
    assert!(matches!(error, pp_manager::ManagerError::WrongResultType { .. }), "{error:?}");
    // Awaited too, from a runtime-free executor.
    let awaited = submit_task(cube, 4, Some(&pool)).unwrap();
    let value =
        futures::executor::block_on(pp_manager::asynchronous::get_task_result::<u64>(&awaited));
    assert_eq!(value.unwrap(), 64);
    shutdown_executor(&pool, true).unwrap();
    assert!(submit_task(cube, 3, Some(&pool)).is_err(), "the pool is gone");
}

/// The worker process, killed and reaped however the test ends.
struct KilledOnDrop(std::process::Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

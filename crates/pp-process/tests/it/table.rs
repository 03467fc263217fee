//! The process table: get, list, cleanup, terminate, terminate_all.

use std::time::Duration;

use pp_process::{Command, Error, ProcessStatus, ProcessTable, TerminateOutcome};

use crate::support::{is_gone, watchdog};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn the_table_tracks_lists_and_cleans_up() {
    watchdog(LIMIT, || {
        let table = ProcessTable::new();
        let out = table.run(&Command::new("echo").arg("hi").id("quick")).unwrap();
        assert_eq!(out.stdout_str(), "hi\n");
        let sleepers: Vec<_> = (0..3)
            .map(|i| {
                table.spawn(&Command::new("sleep").arg("60").id(format!("sleeper-{i}"))).unwrap()
            })
            .collect();

        let quick = table.get("quick").unwrap();
        assert_eq!(
            (quick.status, quick.code, quick.signal),
            (ProcessStatus::Completed, Some(0), None)
        );
        assert_eq!(quick.command, ["echo", "hi"]);
        let listed = table.list();
        assert_eq!(listed.len(), 4);
        assert_eq!(listed[0].process_id.as_str(), "quick", "oldest first");
        assert!(listed[1..].iter().all(|p| p.status == ProcessStatus::Running));

        assert_eq!(table.cleanup(), 1, "only the finished process is removed");
        assert_eq!(table.len(), 3);

        assert_eq!(
            table.terminate("sleeper-0", Some(Duration::from_secs(5))).unwrap(),
            TerminateOutcome::Terminated
        );
        assert_eq!(table.get("sleeper-0").unwrap().status, ProcessStatus::Terminated);
        assert_eq!(table.terminate_all(Duration::from_secs(5)), 2);
        for s in &sleepers {
            assert!(s.status().is_finished());
            assert!(is_gone(s.pid().unwrap()));
        }
        assert_eq!(table.terminate_all(Duration::from_secs(5)), 0, "nothing left to stop");
        assert_eq!(table.cleanup(), 3);
        assert!(table.is_empty());
    });
}

#[test]
fn durations_grow_while_running_and_freeze_when_done() {
    watchdog(LIMIT, || {
        let table = ProcessTable::new();
        let handle = table.spawn(&Command::new("sleep").arg("0.3").id("timed")).unwrap();
        handle.wait().unwrap();
        let done = table.get("timed").unwrap();
        assert!(done.duration >= Duration::from_millis(300));
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(table.get("timed").unwrap().duration, done.duration);
    });
}

#[test]
fn a_blocking_run_can_be_terminated_by_id_from_another_thread() {
    watchdog(LIMIT, || {
        let table = std::sync::Arc::new(ProcessTable::new());
        let runner = {
            let table = table.clone();
            std::thread::spawn(move || {
                table.run(&Command::shell("sleep 60 & sleep 60").id("blocking"))
            })
        };
        assert!(crate::support::eventually(Duration::from_secs(20), || table
            .get("blocking")
            .is_some_and(|p| p.status == ProcessStatus::Running)));
        assert_eq!(table.terminate("blocking", None).unwrap(), TerminateOutcome::Terminated);
        let output = runner.join().unwrap().unwrap();
        assert_eq!(output.status, ProcessStatus::Terminated);
        assert_eq!(output.signal, Some(15));
    });
}

#[test]
fn threads_starting_one_id_at_once_get_it_once() {
    watchdog(Duration::from_secs(60), || {
        // The table does not hold its lock across a spawn: the id is claimed
        // first, so of many threads starting the same id exactly one wins.
        for round in 0..20 {
            let table = ProcessTable::new();
            let id = format!("same-{round}");
            let outcomes: Vec<Result<_, _>> = std::thread::scope(|scope| {
                let starts: Vec<_> = (0..4)
                    .map(|_| {
                        let (table, id) = (&table, &id);
                        scope.spawn(move || table.spawn(&Command::new("true").id(id.as_str())))
                    })
                    .collect();
                starts.into_iter().map(|s| s.join().unwrap()).collect()
            });
            let won = outcomes.iter().filter(|o| o.is_ok()).count();
            assert_eq!(won, 1, "round {round}: {outcomes:?}");
            assert!(outcomes.iter().filter_map(|o| o.as_ref().err()).all(
                |e| matches!(e, Error::DuplicateProcessId { id: taken } if taken.as_str() == id)
            ));
            for handle in outcomes.into_iter().flatten() {
                handle.wait().unwrap();
            }
            assert_eq!(table.list().len(), 1);
        }
    });
}

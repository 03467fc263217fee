//! Every error variant, produced by the bad input that causes it.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use pp_process::{Command, Error, Output, ProcessStatus, ProcessTable};

use crate::support::{TempDir, watchdog};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn a_missing_program_is_named() {
    let err = Command::new("pp-no-such-program-4711").run().unwrap_err();
    assert!(
        matches!(&err, Error::ProgramNotFound { program } if program == "pp-no-such-program-4711")
    );
    assert!(err.to_string().contains("pp-no-such-program-4711"), "{err}");
}

#[test]
fn a_file_without_execute_permission_is_refused() {
    let dir = TempDir::new("perm");
    let script = dir.0.join("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = Command::new(&script).run().unwrap_err();
    assert!(
        matches!(&err, Error::PermissionDenied { program } if program.ends_with("not-executable.sh")),
        "{err}"
    );
}

#[test]
fn a_missing_working_directory_is_named() {
    let err = Command::new("true").cwd("/no/such/dir/for/pp").run().unwrap_err();
    assert!(
        matches!(&err, Error::BadCwd { path, .. } if path.ends_with("no/such/dir/for/pp")),
        "{err}"
    );
    assert!(err.to_string().contains("/no/such/dir/for/pp"), "{err}");
    let err = Command::new("true").cwd("/etc/hostname").run().unwrap_err();
    assert!(err.to_string().contains("not a directory"), "{err}");
}

#[test]
fn empty_commands_are_refused() {
    assert!(matches!(Command::from_argv(Vec::<&str>::new()).run(), Err(Error::EmptyCommand)));
    assert!(matches!(Command::new("").spawn(), Err(Error::EmptyCommand)));
}

#[test]
fn nul_bytes_are_refused_and_located() {
    let err = Command::new("echo").arg("fine").arg("bad\0arg").run().unwrap_err();
    assert!(
        matches!(&err, Error::NulByte { what, value } if what == "argument 2" && value.contains("bad")),
        "{err}"
    );
    let err = Command::new("echo").env("KEY", "va\0lue").run().unwrap_err();
    assert!(matches!(&err, Error::NulByte { what, .. } if what.contains("KEY")), "{err}");
}

#[test]
fn invalid_process_ids_are_refused() {
    let err = Command::new("true").id("").run().unwrap_err();
    assert!(matches!(err, Error::InvalidProcessId(_)), "{err}");
    let err = Command::new("true").id("bad\nid").run().unwrap_err();
    assert!(err.to_string().contains("bad\\nid"), "{err}");
}

#[test]
fn unknown_and_duplicate_process_ids() {
    watchdog(LIMIT, || {
        let table = ProcessTable::new();
        let err = table.terminate("nope-42", None).unwrap_err();
        assert!(matches!(&err, Error::UnknownProcess { id } if id == "nope-42"), "{err}");
        assert!(table.get("nope-42").is_none());

        let sleeper = Command::new("sleep").arg("60").id("job-1");
        let first = table.spawn(&sleeper).unwrap();
        let err = table.spawn(&sleeper).unwrap_err();
        assert!(
            matches!(&err, Error::DuplicateProcessId { id } if id.as_str() == "job-1"),
            "{err}"
        );
        // The refused duplicate lost nothing: the first process is still tracked and running.
        assert_eq!(table.get("job-1").unwrap().pid, first.pid());
        assert_eq!(first.status(), ProcessStatus::Running);
        first.kill().unwrap();
    });
}

#[test]
fn timeouts_carry_the_id_the_limit_and_partial_output() {
    watchdog(LIMIT, || {
        let err = Command::shell("echo started; sleep 60")
            .id("slow-job")
            .timeout(Duration::from_millis(300))
            .run()
            .unwrap_err();
        let Error::Timeout { process_id, limit, output } = &err else { panic!("{err}") };
        assert_eq!(process_id.as_str(), "slow-job");
        assert_eq!(*limit, Duration::from_millis(300));
        assert_eq!(output.stdout_str(), "started\n");
        assert!(err.to_string().contains("slow-job") && err.to_string().contains("300ms"), "{err}");
    });
}

#[test]
fn an_unwritable_output_file_is_named() {
    let err =
        Command::new("true").stdout(Output::File("/no/such/dir/out.txt".into())).run().unwrap_err();
    assert!(matches!(&err, Error::OutputFile { path, .. } if path.ends_with("out.txt")), "{err}");
}

#[test]
fn a_failed_start_is_recorded_in_the_table() {
    let table = ProcessTable::new();
    let err = table.run(&Command::new("pp-no-such-program-4711").id("ghost")).unwrap_err();
    assert!(matches!(err, Error::ProgramNotFound { .. }));
    let info = table.get("ghost").unwrap();
    assert_eq!((info.status, info.pid), (ProcessStatus::FailedToStart, None));
    assert_eq!(table.cleanup(), 1);
}

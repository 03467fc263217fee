//! Descriptors passed to a child (`Command::pass_fd`) and its `argv[0]`:
//! a passed descriptor arrives at its number, and nothing else of ours does.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use pp_process::{Command, Error, ProcessHandle};

use crate::support::{eventually, passes_on_std_spawn, watchdog};

const LIMIT: Duration = Duration::from_secs(120);

/// A pipe, both ends close-on-exec (as Rust opens every descriptor).
fn pipe() -> (OwnedFd, OwnedFd) {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap()
}

/// What a descriptor is (`pipe:[inode]`, `/dev/null`, …), from `/proc`.
fn target_of(pid: u32, fd: i32) -> Option<String> {
    let link = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()?;
    Some(link.to_string_lossy().into_owned())
}

/// A process's descriptors: number → what it is.
fn fds_of(pid: u32) -> BTreeMap<i32, String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .filter_map(|fd| Some((fd, target_of(pid, fd)?)))
                .collect()
        })
        .unwrap_or_default()
}

/// Our descriptors above 2 without close-on-exec: every child inherits
/// those (this test process got them so from whoever started it, e.g. a
/// build tool's jobserver pipe), not because of pp.
fn inheritable_fds() -> BTreeSet<i32> {
    let cloexec = 0o2000000; // O_CLOEXEC in fdinfo's octal `flags`
    fds_of(std::process::id())
        .into_keys()
        .filter(|&fd| fd > 2)
        .filter(|fd| {
            let info =
                std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).unwrap_or_default();
            let flags = info.lines().find_map(|l| l.strip_prefix("flags:")).map(str::trim);
            flags.and_then(|f| u32::from_str_radix(f, 8).ok()).is_some_and(|f| f & cloexec == 0)
        })
        .collect()
}

/// Waits until `handle`'s process holds exactly the descriptors `passed`
/// besides its standard streams and what any child of ours inherits (a
/// freshly exec'd program may briefly hold files it is loading).
fn assert_fds(handle: &ProcessHandle, passed: &[i32]) {
    let pid = handle.pid().unwrap();
    let want: BTreeSet<i32> =
        [0, 1, 2].into_iter().chain(passed.iter().copied()).chain(inheritable_fds()).collect();
    let mut seen = BTreeMap::new();
    let exact = eventually(Duration::from_secs(30), || {
        seen = fds_of(pid);
        seen.keys().eq(want.iter())
    });
    assert!(exact, "child {pid} holds {seen:?}, expected exactly the numbers {want:?}");
}

#[test]
fn a_passed_descriptor_arrives_at_its_number_and_nothing_else_does() {
    watchdog(LIMIT, || {
        let (read, write) = pipe();
        let pipe_name = target_of(std::process::id(), write.as_raw_fd()).unwrap();
        let spare_write = write.try_clone().unwrap();
        // Not passed: must reach no child.
        let (_unrelated_read, _unrelated_write) = pipe();
        let cmd = Command::new("sleep").arg("60").pass_fd(write, 7);
        let child = cmd.spawn().unwrap();
        // Started while the command holds its copy: it must not get it.
        let bystander = Command::new("sleep").arg("60").spawn().unwrap();
        assert_fds(&child, &[7]);
        assert_eq!(target_of(child.pid().unwrap(), 7), Some(pipe_name));
        assert_fds(&bystander, &[]);
        child.kill().unwrap();
        bystander.kill().unwrap();
        drop(cmd);

        // It works as that descriptor: the child writes into our pipe. Once
        // the command is dropped, the child's copy was the last writer.
        let out = Command::shell("echo through seven >&7").pass_fd(spare_write, 7).run().unwrap();
        assert!(out.success(), "{out:?}");
        let mut text = String::new();
        std::fs::File::from(read).read_to_string(&mut text).unwrap();
        assert_eq!(text, "through seven\n");
    });
}

#[test]
fn descriptors_passed_onto_each_others_numbers_arrive_swapped() {
    watchdog(LIMIT, || {
        // Each end is passed as the number the other has here: moving one
        // first must not overwrite the other.
        let (read, write) = pipe();
        let (read_no, write_no) = (read.as_raw_fd(), write.as_raw_fd());
        let pipe_name = target_of(std::process::id(), read_no).unwrap();
        let child = Command::new("sleep")
            .arg("60")
            .pass_fd(read, write_no)
            .pass_fd(write, read_no)
            .spawn()
            .unwrap();
        assert_fds(&child, &[read_no, write_no]);
        let pid = child.pid().unwrap();
        for (fd, mode) in [(write_no, "read"), (read_no, "write")] {
            assert_eq!(target_of(pid, fd).as_ref(), Some(&pipe_name));
            assert_eq!(access_mode(pid, fd), mode, "descriptor {fd} of the child");
        }
        child.kill().unwrap();
    });
}

/// Whether descriptor `fd` of process `pid` is open for "read" or "write".
fn access_mode(pid: u32, fd: i32) -> &'static str {
    let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).unwrap();
    let flags = info.lines().find_map(|l| l.strip_prefix("flags:")).unwrap().trim();
    match u32::from_str_radix(flags, 8).unwrap() & 0o3 {
        0 => "read",
        1 => "write",
        _ => "read and write",
    }
}

#[test]
fn a_target_that_is_a_standard_stream_or_taken_twice_is_refused() {
    for target in [-1, 0, 1, 2] {
        let (_read, write) = pipe();
        let err = Command::new("true").pass_fd(write, target).run().unwrap_err();
        assert!(matches!(err, Error::InvalidFdTarget { target: t, .. } if t == target), "{err}");
        assert!(err.to_string().contains(&format!("number {target}:")), "{err}");
    }
    let (read, write) = pipe();
    let err = Command::new("true").pass_fd(read, 5).pass_fd(write, 5).spawn().unwrap_err();
    assert!(matches!(err, Error::InvalidFdTarget { target: 5, .. }), "{err}");
    assert!(err.to_string().contains("passed as this number"), "{err}");
}

#[test]
fn arg0_names_the_process_and_the_program_still_runs() {
    watchdog(LIMIT, || {
        let child = Command::new("sleep").arg0("pp-renamed-sleep").arg("60").spawn().unwrap();
        let pid = child.pid().unwrap();
        let mut cmdline = String::new();
        assert!(eventually(Duration::from_secs(30), || {
            cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            cmdline.starts_with("pp-renamed-sleep")
        }));
        assert_eq!(cmdline.split('\0').collect::<Vec<_>>(), ["pp-renamed-sleep", "60", ""]);
        child.kill().unwrap();
        let err = Command::new("true").arg0("a\0b").run().unwrap_err();
        assert!(matches!(&err, Error::NulByte { what, .. } if what == "argv[0]"), "{err}");
    });
}

#[test]
fn the_std_spawn_fallback_passes_the_passed_fd_tests_too() {
    passes_on_std_spawn("passed_fds::", &["--test-threads=1"]);
}

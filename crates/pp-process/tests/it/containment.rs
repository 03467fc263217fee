//! Containment: a timeout or terminate stops the whole tree — descendants
//! that left the process group too, where pp contains the process in a
//! cgroup — and the call returns in bounded time whatever they do; children
//! die with their program; limits are applied or refused, never ignored.
//! Every check of "gone" is by pid in `/proc`.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use pp_process::{
    Command, Contained, Containment, Error, Leftovers, Limit, ProcessOutput, ProcessStatus,
    StoppedBy, TerminateOutcome,
};

use crate::support::{TempDir, eventually, is_gone, kill_pid, passes_on_std_spawn, watchdog};

const LIMIT: Duration = Duration::from_secs(120);
const GRACE: Duration = Duration::from_millis(500);
/// The generous hang guard on top of the grace period.
const HANG_GUARD: Duration = Duration::from_secs(30);

/// Every kind of descendant a stop must reach, each writing its pid to
/// `pids`: one that left the group and session (`setsid`), a double fork,
/// `nohup`, one that ignores SIGTERM. The shell itself then sleeps.
fn unruly_tree(pids: &std::path::Path) -> String {
    let p = pids.display();
    format!(
        "setsid sleep 300 & echo $! >> {p}; \
         (sleep 300 & echo $! >> {p}); \
         nohup sleep 300 >/dev/null 2>&1 & echo $! >> {p}; \
         sh -c 'trap \"\" TERM; echo $$ >> {p}; sleep 300' & \
         sleep 300"
    )
}

fn read_pids(path: &std::path::Path, at_least: usize) -> Vec<u32> {
    let mut pids = Vec::new();
    assert!(
        eventually(Duration::from_secs(20), || {
            pids = std::fs::read_to_string(path)
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect();
            pids.len() >= at_least
        }),
        "the tree never wrote its {at_least} pids"
    );
    pids
}

fn cgroup_in_effect() -> bool {
    let out = Command::new("true").run().unwrap();
    let in_effect = matches!(out.containment, Contained::Cgroup(_));
    // Root with a cgroup2 mount can always make cgroups below its own: then
    // the default must be a cgroup (elsewhere it depends on delegation).
    if pp_tests::effective_uid() == 0 && pp_tests::cgroup2_mounted() {
        assert!(in_effect, "root with cgroup v2 mounted, yet no cgroup: {:?}", out.containment);
    }
    in_effect
}

/// After a stop: with a cgroup every pid is gone; with the process group only
/// the escapee (the first pid) survives, and the output says so.
fn check_after_stop(output: &ProcessOutput, pids: &[u32], contained_by_cgroup: bool) {
    if contained_by_cgroup {
        for &pid in pids {
            assert!(is_gone(pid), "descendant {pid} survived a cgroup stop");
        }
        assert!(!output.held_open_by_escapee);
        return;
    }
    let (escapee, rest) = pids.split_first().unwrap();
    for &pid in rest {
        assert!(is_gone(pid), "group member {pid} survived");
    }
    assert!(!is_gone(*escapee), "setsid escapes a process-group stop");
    assert!(output.held_open_by_escapee, "the escapee holding the pipes is reported");
    kill_pid(*escapee);
}

#[test]
fn a_timeout_stops_every_kind_of_descendant_and_returns() {
    watchdog(LIMIT, || {
        for containment in [Containment::Auto, Containment::ProcessGroup] {
            let dir = TempDir::new("timeout-tree");
            let pid_file = dir.0.join("pids");
            let started = Instant::now();
            let err = Command::shell(unruly_tree(&pid_file))
                .timeout(Duration::from_secs(1))
                .grace(GRACE)
                .containment(containment.clone())
                .run()
                .unwrap_err();
            let elapsed = started.elapsed();
            let Error::Timeout { output, .. } = err else { panic!("not a timeout: {err}") };
            println!("{containment:?}: {:?} in {elapsed:?}", output.containment);
            assert!(elapsed >= Duration::from_secs(1));
            assert!(elapsed < Duration::from_secs(1) + GRACE + HANG_GUARD, "took {elapsed:?}");
            let by_cgroup = matches!(output.containment, Contained::Cgroup(_));
            assert_eq!(by_cgroup, containment == Containment::Auto && cgroup_in_effect());
            check_after_stop(&output, &read_pids(&pid_file, 4), by_cgroup);
        }
    });
}

#[test]
fn terminate_stops_every_kind_of_descendant_and_returns() {
    watchdog(LIMIT, || {
        for containment in [Containment::Auto, Containment::ProcessGroup] {
            let dir = TempDir::new("terminate-tree");
            let pid_file = dir.0.join("pids");
            let handle = Command::shell(unruly_tree(&pid_file))
                .grace(GRACE)
                .containment(containment.clone())
                .spawn()
                .unwrap();
            let pids = read_pids(&pid_file, 4);
            let started = Instant::now();
            let outcome = handle.terminate().unwrap();
            let elapsed = started.elapsed();
            println!("{containment:?}: {outcome:?} in {elapsed:?}");
            // The member that ignores SIGTERM needs SIGKILL after the grace period.
            assert_eq!(outcome, TerminateOutcome::Killed);
            assert!(elapsed >= GRACE);
            assert!(elapsed < GRACE + HANG_GUARD, "took {elapsed:?}");
            let output = handle.output().unwrap();
            let by_cgroup = matches!(output.containment, Contained::Cgroup(_));
            check_after_stop(&output, &pids, by_cgroup);
        }
    });
}

#[test]
fn a_background_child_keeps_the_timeout_running_when_waited_for() {
    watchdog(LIMIT, || {
        // Leftovers::Wait: the tree is the process, so its timeout applies.
        let started = Instant::now();
        let err = Command::shell("sleep 15 & echo $!")
            .timeout(Duration::from_secs(1))
            .leftovers(Leftovers::Wait)
            .run()
            .unwrap_err();
        let elapsed = started.elapsed();
        let Error::Timeout { output, .. } = err else { panic!("not a timeout: {err}") };
        assert_eq!(output.status, ProcessStatus::TimedOut);
        assert!(elapsed >= Duration::from_secs(1));
        assert!(elapsed < Duration::from_secs(1) + Command::DEFAULT_GRACE + HANG_GUARD);
        let background: u32 = output.stdout_str().trim().parse().unwrap();
        assert!(is_gone(background), "the background child {background} survived");

        // Without a timeout the call waits for the whole tree.
        let started = Instant::now();
        let out =
            Command::shell("sleep 1 & echo started").leftovers(Leftovers::Wait).run().unwrap();
        assert_eq!(out.status, ProcessStatus::Completed);
        assert!(started.elapsed() >= Duration::from_secs(1), "returned before the tree ended");

        // A terminate of such a process stops the tree and says so.
        let dir = TempDir::new("waited-tree");
        let pid_file = dir.0.join("pids");
        let handle = Command::shell(format!("sleep 30 & echo $! > {}", pid_file.display()))
            .leftovers(Leftovers::Wait)
            .spawn()
            .unwrap();
        let background = read_pids(&pid_file, 1)[0];
        let leader = handle.pid().expect("a pid");
        assert!(eventually(Duration::from_secs(20), || is_gone(leader)), "the shell never exited");
        assert_eq!(handle.status(), ProcessStatus::Running, "the leader exited, the tree lives");
        assert_eq!(handle.terminate().unwrap(), TerminateOutcome::Terminated);
        assert!(is_gone(background));
    });
}

const ROLE: &str = "PP_TEST_CONTAINMENT_ROLE";

/// Not a test on its own: the program `children_die_with_their_program`
/// starts and kills. It starts children from a thread that ends at once.
#[test]
fn role_program_with_children() {
    if std::env::var_os(ROLE).is_none() {
        return;
    }
    let (dies, outlives) = std::thread::spawn(|| {
        let dies = Command::new("sleep").arg("300").spawn().unwrap();
        let outlives = Command::new("sleep").arg("300").outlive_parent().spawn().unwrap();
        for handle in [&dies, &outlives] {
            if let Contained::Cgroup(path) = handle.containment() {
                println!("cgroup {}", path.display());
            }
        }
        (dies.pid().unwrap(), outlives.pid().unwrap())
    })
    .join()
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    println!("pids {dies} {outlives}");
    std::thread::sleep(Duration::from_secs(600));
}

#[test]
fn children_die_with_their_program() {
    watchdog(LIMIT, || {
        let mut program = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["containment::role_program_with_children", "--exact", "--nocapture"])
            .env(ROLE, "1")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(program.stdout.take().unwrap()).lines();
        let mut cgroups = Vec::new();
        let pids: Vec<u32> = loop {
            let line = lines.next().expect("the program printed its children").unwrap();
            if let Some(path) = line.strip_prefix("cgroup ") {
                cgroups.push(std::path::PathBuf::from(path));
            }
            if let Some(rest) = line.strip_prefix("pids ") {
                break rest.split_whitespace().map(|p| p.parse().unwrap()).collect();
            }
        };
        let (dies, outlives) = (pids[0], pids[1]);
        assert!(!is_gone(dies), "alive although its spawning thread ended");
        program.kill().unwrap();
        program.wait().unwrap();
        let killed = Instant::now();
        assert!(eventually(Duration::from_secs(10), || is_gone(dies)), "{dies} outlived it");
        println!("child gone {:?} after its program was killed", killed.elapsed());
        assert!(!is_gone(outlives), "outlive_parent() keeps it");
        kill_pid(outlives);
        // A killed program cannot remove its children's cgroups (the next pp
        // program would): this test leaves none.
        for path in cgroups {
            let removed = eventually(Duration::from_secs(10), || {
                std::fs::remove_dir(&path).is_ok() || !path.exists()
            });
            assert!(removed, "{} stays", path.display());
        }
    });
}

#[test]
fn rlimits_and_niceness_are_applied() {
    watchdog(LIMIT, || {
        // With descriptor 3 taken, `cat` has none left to load its libraries
        // (EMFILE): the limit is enforced, not just reported.
        let script = "ulimit -n; exec 3</dev/null; cat /etc/hostname; echo rc=$?";
        let out = Command::shell(script).limit(Limit::OpenFiles(4)).run().unwrap();
        let text = out.stdout_str();
        assert!(text.starts_with("4\n") && text.ends_with("rc=127\n"), "{text:?}");
        let out = Command::shell(script).limit(Limit::OpenFiles(5)).run().unwrap();
        let text = out.stdout_str();
        assert!(
            text.starts_with("5\n") && text.ends_with("rc=0\n"),
            "one more is enough: {text:?}"
        );

        let out = Command::new("nice").nice(10).run().unwrap();
        assert_eq!(out.stdout_str().trim(), "10");

        let started = Instant::now();
        let out = Command::shell("while :; do :; done")
            .limit(Limit::CpuTime(Duration::from_secs(1)))
            .timeout(Duration::from_secs(60))
            .run()
            .unwrap();
        assert!(started.elapsed() >= Duration::from_millis(900));
        assert_eq!(out.stopped_by, Some(StoppedBy::CpuTimeLimit), "{out:?}");
        assert_eq!(out.status, ProcessStatus::Completed, "the kernel stopped it, not pp");
    });
}

#[test]
fn a_memory_limit_stops_the_tree_or_is_refused() {
    watchdog(LIMIT, || {
        let hog = Command::shell("head -c 268435456 /dev/zero | tail -c 1 >/dev/null")
            .limit(Limit::Memory(64 << 20))
            .timeout(Duration::from_secs(60));
        match hog.run() {
            Err(Error::LimitUnavailable { limit: "memory", reason }) => {
                println!("skipped: the memory controller is not available here: {reason}");
            }
            Ok(out) => {
                println!("{out:?}");
                assert_eq!(out.stopped_by, Some(StoppedBy::OutOfMemory));
            }
            Err(e) => panic!("{e}"),
        }
        // Without a cgroup a cgroup limit is refused, never ignored.
        let err = Command::new("true")
            .containment(Containment::ProcessGroup)
            .limit(Limit::Pids(10))
            .run()
            .unwrap_err();
        assert!(matches!(err, Error::LimitUnavailable { limit: "pids", .. }), "{err}");
    });
}

#[test]
fn bad_containment_and_limits_are_typed_errors() {
    let err = Command::new("true")
        .containment(Containment::CgroupUnder("/no/such/cgroup".into()))
        .run()
        .unwrap_err();
    assert!(matches!(&err, Error::BadCgroup { path, .. } if path.ends_with("cgroup")), "{err}");
    let err = Command::new("true")
        .containment(Containment::CgroupUnder("/tmp".into()))
        .run()
        .unwrap_err();
    assert!(
        matches!(&err, Error::BadCgroup { reason, .. } if reason.contains("cgroup v2")),
        "{err}"
    );
    for (limit, value) in [
        (Limit::OpenFiles(0), "0"),
        (Limit::Processes(0), "0"),
        (Limit::Pids(0), "0"),
        (Limit::CpuTime(Duration::ZERO), "0ns"),
        (Limit::CpuTime(Duration::MAX), "s"),
        (Limit::AddressSpace(10), "10 bytes"),
        (Limit::Memory(0), "0 bytes"),
        (Limit::CpuShare { quota: Duration::ZERO, period: Duration::from_millis(100) }, "quota"),
        (Limit::CpuShare { quota: Duration::from_millis(10), period: Duration::MAX }, "period"),
    ] {
        let err = Command::new("true").limit(limit).run().unwrap_err();
        assert!(
            matches!(&err, Error::InvalidLimit { value: v, .. } if v.contains(value)),
            "{limit:?}: {err}"
        );
    }
    for nice in [-21, 20, i32::MAX, i32::MIN] {
        let err = Command::new("true").nice(nice).run().unwrap_err();
        assert!(matches!(err, Error::InvalidLimit { limit: "niceness", .. }), "{nice}: {err}");
    }
}

#[test]
fn no_cgroup_is_left_behind() {
    // Alone: a test running beside it would take the spare cgroups it watches.
    if !crate::support::isolated("containment::no_cgroup_is_left_behind") {
        return;
    }
    watchdog(LIMIT, || {
        // An empty cgroup serves the next process, then goes when unused. It
        // is given back when its finished process's last reference drops,
        // which may be a moment after `run` returned: look a few times.
        let mut previous = Command::new("true").run().unwrap().containment;
        let mut reused = None;
        for _ in 0..50 {
            let Contained::Cgroup(before) = &previous else { break };
            std::thread::sleep(Duration::from_millis(20));
            let next = Command::new("true").run().unwrap().containment;
            if matches!(&next, Contained::Cgroup(now) if now == before) {
                reused = Some(before.clone());
                break;
            }
            previous = next;
        }
        if let Contained::Cgroup(_) = &previous {
            let a = reused.expect("no run reused the empty cgroup of the run before it");
            assert!(a.exists(), "kept for the next process");
            let released = eventually(Duration::from_secs(10), || {
                pp_process::release_spare_cgroups();
                !a.exists()
            });
            assert!(released, "release_spare_cgroups leaves {}", a.display());
            let third = Command::new("true").run().unwrap().containment;
            let Contained::Cgroup(c) = &third else { panic!("{third:?}") };
            let removed = eventually(Duration::from_secs(10), || !c.exists());
            assert!(removed, "{} still there after a second unused", c.display());
        }
        let out = Command::shell("sleep 30 & sleep 30")
            .timeout(Duration::from_millis(200))
            .run()
            .unwrap_err();
        let Error::Timeout { output, .. } = out else { panic!("{out}") };
        if let Contained::Cgroup(path) = &output.containment {
            // Removed in the background, right after.
            let removed = eventually(Duration::from_secs(10), || !path.exists());
            assert!(removed, "{} left behind", path.display());
        }
        // Leftovers left running keep their cgroup until they end.
        let out = Command::shell("sleep 1 & echo $!").leftovers(Leftovers::Leave).run().unwrap();
        if let Contained::Cgroup(path) = &out.containment {
            assert!(path.exists(), "removed while a member still runs");
            std::thread::sleep(Duration::from_millis(1500));
            // Removed the next time pp makes a cgroup.
            let _ = Command::new("true").run().unwrap();
            let removed = eventually(Duration::from_secs(10), || !path.exists());
            assert!(removed, "{} left behind after its members ended", path.display());
        }
    });
}

#[test]
fn a_subreaper_reaps_the_orphans_of_its_trees_and_only_those() {
    if !crate::support::isolated(
        "containment::a_subreaper_reaps_the_orphans_of_its_trees_and_only_those",
    ) {
        return;
    }
    watchdog(LIMIT, || {
        pp_process::become_subreaper().unwrap();
        // A child of our own, not pp's: its exit status must stay ours.
        let mut own = std::process::Command::new("true").spawn().unwrap();
        let own_pid = own.id();
        for containment in [Containment::Auto, Containment::ProcessGroup] {
            // Orphans: a double fork (stays in the group) and a setsid escapee.
            let err = Command::shell("(sleep 300 &); setsid sleep 300 & sleep 300")
                .timeout(Duration::from_millis(500))
                .containment(containment.clone())
                .run()
                .unwrap_err();
            let Error::Timeout { output, .. } = err else { panic!("{err}") };
            println!("{containment:?}: {:?}", output.containment);
        }
        // Whatever got reparented to us and was killed must not stay a zombie,
        // except our own child, and the group-mode escapee (alive, not ours).
        let reaped = eventually(Duration::from_secs(10), || {
            crate::support::our_zombies().iter().all(|&pid| pid == own_pid)
        });
        let left = crate::support::our_zombies();
        assert!(reaped, "zombies left under the subreaper: {left:?}");
        assert!(own.wait().unwrap().success(), "our own child's status was not taken");
        // The setsid escapee of the process-group run is alive and now ours: stop it.
        let escapees: Vec<u32> = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&pid| {
                pp_tests::proc_state(pid)
                    .is_some_and(|(s, ppid)| ppid == std::process::id() && s != 'Z')
            })
            .collect();
        for pid in escapees {
            kill_pid(pid);
            // Not from a pp cgroup or group: ours to reap, as documented.
            let pid = rustix::process::Pid::from_raw(pid as i32).unwrap();
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
        }
    });
}

#[test]
fn the_std_spawn_fallback_passes_the_containment_tests_too() {
    // Where clone3 is missing or filtered, pp spawns through std with a
    // pre-exec hook: run this module's tests again that way.
    passes_on_std_spawn("containment::", &["--test-threads=1"]);
}

#[test]
fn a_cgroup_that_was_killed_is_not_reused() {
    watchdog(LIMIT, || {
        // Some kernels SIGKILL a child cloned into a cgroup that once had
        // `cgroup.kill` written: such a cgroup must never serve again.
        for _ in 0..5 {
            let handle = Command::new("sleep").arg("60").spawn().unwrap();
            assert_eq!(handle.kill().unwrap(), TerminateOutcome::Killed);
            let killed = handle.output().unwrap().containment.clone();
            let out = Command::new("echo").arg("after").run().unwrap();
            assert_eq!((out.code, out.signal), (Some(0), None), "{out:?}");
            assert_eq!(out.stdout_str(), "after\n");
            if let (Contained::Cgroup(a), Contained::Cgroup(b)) = (&killed, &out.containment) {
                assert_ne!(a, b, "the killed cgroup was reused");
            }
        }
    });
}

/// Not a test on its own: a program that runs one command and exits at once.
#[test]
fn role_run_once_and_exit() {
    if std::env::var_os(ROLE).is_none() {
        return;
    }
    let out = Command::new("true").run().unwrap();
    if let Contained::Cgroup(path) = out.containment {
        println!("cgroup {}", path.display());
    }
}

#[test]
fn a_program_that_exits_right_after_a_run_leaves_no_cgroup() {
    watchdog(LIMIT, || {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["containment::role_run_once_and_exit", "--exact", "--nocapture"])
            .env(ROLE, "1")
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        let Some(path) = text.lines().find_map(|l| l.strip_prefix("cgroup ")) else {
            println!("skipped: no cgroup containment here");
            return;
        };
        // Kept for reuse while it ran, removed by its exit.
        assert!(!std::path::Path::new(path).exists(), "{path} outlived its program");
    });
}

/// Not a test on its own: a program that leaves a child and the child's
/// escapee (a new session, out of the process group) running and returns
/// from `main`.
#[test]
fn role_exit_with_children_running() {
    let Some(file) = std::env::var_os(ROLE).filter(|v| v != "1") else { return };
    let file = std::path::PathBuf::from(file);
    let script = format!("setsid sleep 300 & echo $! > '{}'; exec sleep 300", file.display());
    let child = Command::shell(script).spawn().unwrap();
    let escapee = loop {
        match std::fs::read_to_string(&file).ok().and_then(|t| t.trim().parse::<u32>().ok()) {
            Some(pid) => break pid,
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    if let Contained::Cgroup(path) = child.containment() {
        println!("cgroup {}", path.display());
    }
    println!("pids {} {escapee}", child.pid().unwrap());
}

#[test]
fn a_normal_exit_stops_the_children_and_removes_their_cgroups() {
    watchdog(LIMIT, || {
        let dir = TempDir::new("exit");
        let file = dir.0.join("escapee");
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["containment::role_exit_with_children_running", "--exact", "--nocapture"])
            .env(ROLE, &file)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
        let pids: Vec<u32> = text
            .lines()
            .find_map(|l| l.strip_prefix("pids "))
            .expect("the program printed its children")
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect();
        let cgroup = text.lines().find_map(|l| l.strip_prefix("cgroup "));
        let Some(cgroup) = cgroup else {
            // Only the direct child dies with the program (PR_SET_PDEATHSIG).
            println!("skipped: no cgroup containment here");
            assert!(eventually(Duration::from_secs(10), || is_gone(pids[0])));
            kill_pid(pids[1]);
            return;
        };
        // The exit waited until the cgroup was empty: nothing to wait for here.
        for pid in &pids {
            assert!(is_gone(*pid), "{pid} outlived its program");
        }
        assert!(!std::path::Path::new(cgroup).exists(), "{cgroup} outlived its program");
    });
}

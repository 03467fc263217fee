//! cgroup v2: a cgroup of its own for each process, so a stop reaches every
//! descendant (those that left the process group included) and pp knows
//! when the whole tree is gone.
//!
//! Layout: `<base>/pp-<our pid>-<n>`, where `<base>` is the cgroup this
//! process runs in (found through `/proc/self/cgroup` and the cgroup2 mount
//! in `/proc/self/mountinfo`) or one the caller names. The child joins its
//! cgroup before exec (see `child.rs`), so no fork of it can happen outside.
//! The directory is removed once the process is finished and the cgroup is
//! empty; directories a killed program left behind are removed the next
//! time a program finds them empty.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// `statfs` magic of a cgroup2 file system.
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// The cgroup v2 directory this process runs in, if it can create cgroups
/// below it; found once.
pub(crate) fn own_base() -> Option<&'static Path> {
    static BASE: OnceLock<Option<PathBuf>> = OnceLock::new();
    BASE.get_or_init(|| {
        let base = find_own_cgroup()?;
        // One probe decides for the life of the process: creating and removing
        // a cgroup is what every contained spawn will do.
        let probe = base.join(format!("pp-{}-probe", std::process::id()));
        std::fs::create_dir(&probe).ok()?;
        let _ = std::fs::remove_dir(&probe);
        remove_leftovers(&base);
        Some(base)
    })
    .as_deref()
}

/// `<cgroup2 mount><our path>` from `/proc/self/mountinfo` and `/proc/self/cgroup`.
fn find_own_cgroup() -> Option<PathBuf> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let own = cgroups.lines().find_map(|l| l.strip_prefix("0::"))?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mount = mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        // Field 4 is the root of the mount within the hierarchy, 5 the mount point.
        let mut fields = left.split_whitespace();
        let root = fields.nth(3)?;
        let point = fields.next()?;
        Some((root.to_owned(), unescape(point)))
    })?;
    let (root, point) = mount;
    let relative = own.strip_prefix(root.as_str()).unwrap_or(own).trim_start_matches('/');
    let base = Path::new(&point).join(relative);
    base.is_dir().then_some(base)
}

/// Mount points escape space, tab, newline and backslash as octal.
fn unescape(field: &str) -> String {
    field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
}

/// Removes empty `pp-<pid>-*` cgroups of processes that no longer exist.
fn remove_leftovers(base: &Path) {
    let Ok(dir) = std::fs::read_dir(base) else { return };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("pp-"))
            .and_then(|n| n.split('-').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        // Only "no such process" means dead: EPERM is a live process of
        // another user (or pid namespace) whose cgroups are not ours to judge.
        let alive = rustix::process::Pid::from_raw(pid).is_none_or(|pid| {
            rustix::process::test_kill_process(pid) != Err(rustix::io::Errno::SRCH)
        });
        if !alive {
            // Fails harmlessly while processes still live in it.
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

/// Checks that `dir` is a cgroup v2 directory this process may create
/// cgroups in; the reason it is not, otherwise.
pub(crate) fn check_base(dir: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(dir).map_err(|e| format!("cannot inspect it: {e}"))?;
    if !meta.is_dir() {
        return Err("not a directory".into());
    }
    let fs = rustix::fs::statfs(dir).map_err(|e| format!("cannot inspect it: {e}"))?;
    if fs.f_type as i64 != CGROUP2_SUPER_MAGIC {
        return Err("not on a cgroup v2 file system".into());
    }
    rustix::fs::accessat(
        rustix::fs::CWD,
        dir,
        rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK,
        rustix::fs::AtFlags::EACCESS,
    )
    .map_err(|e| format!("this process may not create cgroups in it: {e}"))
}

/// Which controllers `base` hands down to the cgroups pp creates in it.
pub(crate) fn delegated_controllers(base: &Path) -> String {
    std::fs::read_to_string(base.join("cgroup.subtree_control")).unwrap_or_default()
}

/// Cgroups whose processes were left running (`Leftovers::Leave`): removed
/// once they are empty, tried whenever a new cgroup is made.
static LINGERING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes the cgroup `dir` now, or as soon as it is empty.
pub(crate) fn remove_when_empty(dir: PathBuf) {
    if std::fs::remove_dir(&dir).is_err_and(|e| e.kind() != io::ErrorKind::NotFound) {
        LINGERING.lock().unwrap_or_else(|e| e.into_inner()).push(dir);
    }
}

fn remove_lingering() {
    let mut lingering = LINGERING.lock().unwrap_or_else(|e| e.into_inner());
    lingering
        .retain(|dir| std::fs::remove_dir(dir).is_err_and(|e| e.kind() != io::ErrorKind::NotFound));
}

/// Empty cgroups kept for the next process: making and removing a cgroup
/// is most of what containment costs (about 115 µs of a 1 ms `/bin/true`
/// run). Kept at most `MAX_SPARES`, and removed once unused for
/// `SPARE_IDLE` (by the background thread) or by [`release_spare_cgroups`].
static SPARES: Mutex<Vec<Spare>> = Mutex::new(Vec::new());
const MAX_SPARES: usize = 4;
/// How long an unused spare is kept.
pub(crate) const SPARE_IDLE: Duration = Duration::from_secs(1);

struct Spare {
    base: PathBuf,
    cgroup: Cgroup,
    returned: Instant,
}

fn spares() -> std::sync::MutexGuard<'static, Vec<Spare>> {
    SPARES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps an empty cgroup without limits for reuse below `base`; returns
/// whether it is the first spare (the caller then wakes whoever removes idle
/// ones), or removes it when enough are kept.
pub(crate) fn give_back(base: &Path, cgroup: Cgroup) -> bool {
    let mut spares = spares();
    if spares.len() >= MAX_SPARES {
        drop(spares);
        remove_when_empty(cgroup.dir.clone());
        return false;
    }
    spares.push(Spare { base: base.to_owned(), cgroup, returned: Instant::now() });
    let first = spares.len() == 1;
    drop(spares);
    if first {
        register_at_exit();
    }
    first
}

/// Cgroups of running children that die with their program
/// ([`Command::die_with_parent`](crate::Command::die_with_parent)). At a
/// normal exit they are killed, waited for and removed:
/// `PR_SET_PDEATHSIG` would kill those children a moment later anyway, but
/// then nobody would be left to remove their cgroups (nor to stop the
/// descendants that left the process group).
static DIE_WITH_PROGRAM: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// How long the exit hook waits for those cgroups to empty.
const EXIT_WAIT: Duration = Duration::from_secs(2);
/// Set by the exit hook: no cgroup is made after it ran.
static EXITING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn die_with_program() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    DIE_WITH_PROGRAM.lock().unwrap_or_else(|e| e.into_inner())
}

/// The children in `cgroup` die with this program: a normal exit kills
/// them and removes the cgroup.
pub(crate) fn stop_at_exit(cgroup: &Cgroup) {
    die_with_program().push(cgroup.dir.clone());
    register_at_exit();
}

/// `dir` holds no child of this program any more (finished and reaped).
pub(crate) fn forget_at_exit(dir: &Path) {
    die_with_program().retain(|d| d != dir);
}

/// Makes a normal exit of this process (return from `main`, `exit`) stop
/// the children that die with it and remove every cgroup it made;
/// registered once. A killed program's cgroups are removed by the next pp
/// program (`remove_leftovers`).
fn register_at_exit() {
    static REGISTERED_BY: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    extern "C" fn at_exit() {
        // Only in the process that registered it: a forked child that exits
        // must not touch its parent's cgroups.
        if REGISTERED_BY.load(Ordering::Relaxed) == std::process::id() {
            let _ = std::panic::catch_unwind(|| {
                EXITING.store(true, Ordering::Relaxed);
                kill_children_that_die_with_us();
                release_spare_cgroups();
                remove_lingering();
            });
        }
    }
    let me = std::process::id();
    if REGISTERED_BY.swap(me, Ordering::Relaxed) != me {
        // SAFETY: `at_exit` is an `extern "C" fn()` that never unwinds (it
        // catches panics) and only kills and removes cgroups; atexit keeps
        // the pointer, valid for the life of the program.
        unsafe { libc::atexit(at_exit) };
    }
}

/// `cgroup.kill` to every cgroup of `DIE_WITH_PROGRAM`, then removes each
/// once empty (at most `EXIT_WAIT` in all).
fn kill_children_that_die_with_us() {
    let mut left: Vec<PathBuf> = std::mem::take(&mut *die_with_program());
    for dir in &left {
        let _ = OpenOptions::new()
            .write(true)
            .open(dir.join("cgroup.kill"))
            .and_then(|mut f| f.write_all(b"1"));
    }
    let deadline = Instant::now() + EXIT_WAIT;
    loop {
        // Busy while a member has not finished exiting; gone is done.
        left.retain(|dir| {
            std::fs::remove_dir(dir).is_err_and(|e| e.kind() != io::ErrorKind::NotFound)
        });
        if left.is_empty() || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether spares are kept (so someone must remove them once idle).
pub(crate) fn has_spares() -> bool {
    !spares().is_empty()
}

/// Removes the spares unused for `SPARE_IDLE`.
pub(crate) fn remove_idle_spares() {
    let idle: Vec<Spare> = {
        let mut spares = spares();
        let (idle, kept) = spares.drain(..).partition(|s| s.returned.elapsed() >= SPARE_IDLE);
        *spares = kept;
        idle
    };
    for spare in idle {
        remove_when_empty(spare.cgroup.dir);
    }
    remove_lingering();
}

/// Removes every empty cgroup pp keeps for reuse. pp-process keeps a few for
/// a second after each process, so they cost nothing to the next one; call
/// this before the program exits (pp-manager's shutdown and exit hook do),
/// else the next pp program to start removes them.
pub fn release_spare_cgroups() {
    let all: Vec<Spare> = spares().drain(..).collect();
    for spare in all {
        remove_when_empty(spare.cgroup.dir);
    }
}

/// One process's cgroup.
#[derive(Debug)]
pub(crate) struct Cgroup {
    dir: PathBuf,
    /// A limit was written: never reused (its counters and limits stay).
    limited: bool,
    /// `cgroup.kill` was written: never reused (see `reusable`).
    killed: std::sync::atomic::AtomicBool,
    /// `cgroup.events`, kept open: read for `populated`.
    events: File,
}

impl Cgroup {
    /// An empty cgroup below `base`: a spare if one is kept, else a new one.
    pub(crate) fn create(base: &Path) -> io::Result<Cgroup> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        if EXITING.load(Ordering::Relaxed) {
            // The exit hook would not see it, so it would outlive the program.
            return Err(io::Error::other("the program is exiting"));
        }
        loop {
            let spare = {
                let mut spares = spares();
                match spares.iter().rposition(|s| s.base == base) {
                    Some(at) => spares.swap_remove(at).cgroup,
                    None => break,
                }
            };
            // Someone may have removed it meanwhile: then take the next.
            if spare.dir.is_dir() {
                return Ok(spare);
            }
        }
        remove_lingering();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("pp-{}-{n}", std::process::id()));
        std::fs::create_dir(&dir)?;
        match File::open(dir.join("cgroup.events")) {
            Ok(events) => Ok(Cgroup { dir, limited: false, killed: false.into(), events }),
            Err(e) => {
                let _ = std::fs::remove_dir(&dir);
                Err(e)
            }
        }
    }

    /// Its `cgroup.procs`, open for writing: a child that writes "0" into it
    /// joins (std's spawn path, from a pre-exec hook).
    pub(crate) fn open_procs(&self) -> io::Result<File> {
        // std opens with O_CLOEXEC: only the child's pre-exec code uses it.
        OpenOptions::new().write(true).open(self.dir.join("cgroup.procs"))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.dir
    }

    /// Writes a limit file (`memory.max`, `pids.max`, `cpu.max`).
    pub(crate) fn set(&mut self, file: &str, value: &str) -> io::Result<()> {
        self.limited = true;
        OpenOptions::new().write(true).open(self.dir.join(file))?.write_all(value.as_bytes())
    }

    /// Whether any process is left in the cgroup (zombies are not).
    pub(crate) fn populated(&self) -> bool {
        let mut text = String::new();
        let read = (&self.events).read_to_string(&mut text).and_then(|_| {
            use std::io::Seek;
            (&self.events).rewind().map(drop)
        });
        match read {
            Ok(()) => text.lines().any(|l| l == "populated 1"),
            // Unreadable: assume someone is left rather than report a tree gone.
            Err(_) => true,
        }
    }

    /// The pids in the cgroup now.
    pub(crate) fn pids(&self) -> Vec<u32> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// SIGKILL to every process in the cgroup, escapees included (`cgroup.kill`).
    pub(crate) fn kill(&self) -> io::Result<()> {
        self.killed.store(true, Ordering::Relaxed);
        OpenOptions::new().write(true).open(self.dir.join("cgroup.kill"))?.write_all(b"1")
    }

    /// How many processes the kernel's OOM killer killed in it.
    pub(crate) fn oom_kills(&self) -> u64 {
        let text = std::fs::read_to_string(self.dir.join("memory.events")).unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix("oom_kill "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Whether it may serve another process once empty: not with limits
    /// (their counters stay), and not once killed — the kernel keeps a kill
    /// count per cgroup, and some kernels kill a child cloned into a cgroup
    /// whose count differs from its parent's.
    pub(crate) fn reusable(&self) -> bool {
        !self.limited && !self.killed.load(Ordering::Relaxed)
    }
}

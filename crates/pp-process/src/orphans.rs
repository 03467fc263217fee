//! Reaping the orphans of pp's trees when this process is their reaper:
//! as PID 1 of a container, or after [`become_subreaper`]. Without this, a
//! stopped tree's orphaned descendants stay zombies forever under an init
//! that does not reap.
//!
//! Only zombies that provably came from a tree pp started are reaped, each
//! by its own pid (`waitpid(pid)`, never `waitpid(-1)`): a zombie whose
//! cgroup is one pp made (`…/pp-<our pid>-<n>`) or whose process group is
//! one pp started, and which is not a leader pp still owns. A child the
//! program started itself is in neither, so its exit status is never taken.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard};

use crate::error::{Error, Result};
use crate::sys;

/// Process groups of trees pp started, newest last (bounded: old trees'
/// orphans have long been reaped or are reached through their cgroup).
static GROUPS: Mutex<VecDeque<u32>> = Mutex::new(VecDeque::new());
const GROUPS_KEPT: usize = 4096;
/// Leaders whose exit status their `Child` has not collected yet.
static LEADERS: Mutex<Option<HashSet<u32>>> = Mutex::new(None);
static SUBREAPER: AtomicBool = AtomicBool::new(false);
/// Held (shared) by every spawn from before its clone until its leader is
/// in `LEADERS`: a leader that exits at once must not be taken for an orphan.
static SPAWNING: RwLock<()> = RwLock::new(());

/// Keeps `reap` off while a child is being started; `None` when pp does not
/// reap (nothing to guard).
pub(crate) fn spawning() -> Option<RwLockReadGuard<'static, ()>> {
    reaping().then(|| SPAWNING.read().unwrap_or_else(|e| e.into_inner()))
}

/// Makes this process the reaper of its orphaned descendants
/// (`PR_SET_CHILD_SUBREAPER`), for a program under an init that does not
/// reap. pp then reaps the zombies of the trees it started (see the module
/// docs for why it never takes another child's exit status); orphans of
/// children the program started itself become the program's to reap.
/// A process that is PID 1 is every orphan's reaper already, and pp reaps
/// its trees' orphans there without this call.
pub fn become_subreaper() -> Result<()> {
    sys::set_child_subreaper()
        .map_err(|source| Error::Io { what: "becoming a subreaper", source })?;
    SUBREAPER.store(true, Ordering::Relaxed);
    Ok(())
}

/// Whether orphans of pp's trees come to this process.
pub(crate) fn reaping() -> bool {
    SUBREAPER.load(Ordering::Relaxed) || std::process::id() == 1
}

/// Records a leader just started.
pub(crate) fn started(pid: u32) {
    let mut groups = GROUPS.lock().unwrap_or_else(|e| e.into_inner());
    if groups.len() == GROUPS_KEPT {
        groups.pop_front();
    }
    groups.push_back(pid);
    drop(groups);
    LEADERS.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(HashSet::new).insert(pid);
}

/// Records that a leader's `Child` collected its exit status.
pub(crate) fn reaped(pid: u32) {
    if let Some(leaders) = LEADERS.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        leaders.remove(&pid);
    }
}

/// Reaps every zombie child that came from a tree pp started; returns how many.
pub(crate) fn reap() -> usize {
    if !reaping() {
        return 0;
    }
    // A spawn in progress has a leader not yet in LEADERS: look next time.
    let Ok(_no_spawn) = SPAWNING.try_write() else { return 0 };
    let cgroup_tag = format!("/pp-{}-", std::process::id());
    let mut reaped = 0;
    for zombie in sys::zombie_children() {
        let owned_leader = LEADERS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|l| l.contains(&zombie.pid));
        if owned_leader {
            continue;
        }
        let from_our_cgroup = zombie.cgroup.as_deref().is_some_and(|c| c.contains(&cgroup_tag));
        let from_our_group =
            GROUPS.lock().unwrap_or_else(|e| e.into_inner()).contains(&zombie.pgid);
        if (from_our_cgroup || from_our_group) && sys::reap_zombie(zombie.pid) {
            reaped += 1;
        }
    }
    reaped
}

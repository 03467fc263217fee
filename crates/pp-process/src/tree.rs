//! A process's tree as pp contains it: its own cgroup v2 where one could be
//! made, else its process group. Everything that stops or watches a tree
//! goes through here, so the event loop does not care which it is.

use std::path::Path;

use crate::command::Command;
use crate::error::{Error, Result};
use crate::limits::Limit;
use crate::sys::cgroup::{self, Cgroup};
use crate::sys::{self, GroupSignal};
use crate::types::{Contained, Containment};

/// What contains one process's tree: its own cgroup (kept for reuse or
/// removed when dropped), or, without one, the process group whose id is
/// the leader's pid.
#[derive(Debug)]
pub(crate) struct Tree {
    cgroup: Option<Cgroup>,
}

impl Tree {
    /// Makes the container `cmd` asks for, with its cgroup limits applied.
    pub(crate) fn prepare(cmd: &Command) -> Result<Tree> {
        let cgroup = match &cmd.containment {
            Containment::ProcessGroup => None,
            Containment::Auto => match cgroup::own_base().map(Cgroup::create) {
                Some(Ok(cgroup)) => Some(cgroup),
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "no cgroup for this process; using its process group");
                    None
                }
                None => None,
            },
            Containment::CgroupUnder(base) => {
                let bad = |reason: String| Error::BadCgroup { path: base.clone(), reason };
                cgroup::check_base(base).map_err(bad)?;
                Some(Cgroup::create(base).map_err(|e| bad(e.to_string()))?)
            }
        };
        if let Some(cgroup) = &cgroup
            && cmd.die_with_parent
        {
            cgroup::stop_at_exit(cgroup);
        }
        let mut tree = Tree { cgroup };
        for limit in cmd.limits.iter().filter(|l| l.controller().is_some()) {
            tree.apply(limit)?;
        }
        Ok(tree)
    }

    /// The cgroup, when there is one.
    pub(crate) fn cgroup(&self) -> Option<&Cgroup> {
        self.cgroup.as_ref()
    }

    /// Writes a cgroup limit; [`Error::LimitUnavailable`] when there is no
    /// cgroup or its controller is not delegated.
    fn apply(&mut self, limit: &Limit) -> Result<()> {
        let unavailable = |reason: String| Error::LimitUnavailable { limit: limit.name(), reason };
        let (Some(controller), Some((file, value))) = (limit.controller(), limit.cgroup_file())
        else {
            return Ok(());
        };
        let Some(cgroup) = &mut self.cgroup else {
            return Err(unavailable(
                "it needs cgroup v2 containment, and this process is contained by its process group only"
                    .into(),
            ));
        };
        let base = cgroup.path().parent().unwrap_or(Path::new("/"));
        let delegated = cgroup::delegated_controllers(base);
        if !delegated.split_whitespace().any(|c| c == controller) {
            return Err(unavailable(format!(
                "the {controller} controller is not enabled for cgroups below {} \
                 (its cgroup.subtree_control holds {:?})",
                base.display(),
                delegated.trim()
            )));
        }
        cgroup.set(file, &value).map_err(|e| unavailable(format!("writing {file}: {e}")))
    }

    /// Whether a live member is left (zombies do not count).
    pub(crate) fn alive(&self, pgid: u32) -> bool {
        match &self.cgroup {
            None => sys::group_alive(pgid),
            Some(cgroup) => cgroup.populated(),
        }
    }

    /// SIGTERM (or SIGKILL) to every member; true if none is left.
    pub(crate) fn signal(&self, pgid: u32, kill: bool) -> bool {
        match &self.cgroup {
            None => signal_group(pgid, kill),
            Some(cgroup) => {
                if !cgroup.populated() {
                    return true;
                }
                if kill {
                    if let Err(e) = cgroup.kill() {
                        tracing::error!(cgroup = %cgroup.path().display(), error = %e, "cannot write cgroup.kill");
                        return signal_group(pgid, true);
                    }
                } else {
                    // Members that left the process group get it too.
                    for pid in cgroup.pids() {
                        sys::signal_pid(pid, false);
                    }
                }
                false
            }
        }
    }

    /// What the user is told contains the process.
    pub(crate) fn contained(&self) -> Contained {
        match &self.cgroup {
            None => Contained::ProcessGroup,
            Some(cgroup) => Contained::Cgroup(cgroup.path().to_owned()),
        }
    }

    /// Whether the kernel's OOM killer killed a member.
    pub(crate) fn oom_killed(&self) -> bool {
        self.cgroup.as_ref().is_some_and(|cgroup| cgroup.oom_kills() > 0)
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let Some(cgroup) = self.cgroup.take() else { return };
        cgroup::forget_at_exit(cgroup.path());
        // An empty cgroup without limits serves the next process (making and
        // removing one is most of containment's cost); the background thread
        // removes it once unused for a second. Removed here otherwise.
        if cgroup.reusable() && !cgroup.populated() {
            let base = cgroup.path().parent().map(Path::to_owned).unwrap_or_default();
            if cgroup::give_back(&base, cgroup) {
                crate::background::in_background(Box::new(|| {}));
            }
        } else {
            cgroup::remove_when_empty(cgroup.path().to_owned());
        }
    }
}

/// Signals the group; true if no process is left in it.
fn signal_group(pgid: u32, kill: bool) -> bool {
    match sys::signal_group(pgid, kill) {
        Ok(GroupSignal::Gone) => true,
        Ok(GroupSignal::Sent) => false,
        Err(e) => {
            tracing::error!(pgid, error = %e, "cannot signal process group");
            false
        }
    }
}

//! [`sweep`]: removing the objects and pipe endpoints of dead processes.

use crate::error::{Error, Result};
use crate::listing::{abandoned_half_made, examine};
use crate::pipe::sweep_pipes;
use crate::segment::creator_in;
use crate::sys;

/// What [`sweep`] did: the names it removed and the `pp-` names it left alone.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Swept {
    /// Objects whose creator died, and pipe endpoints nobody listens on.
    pub removed: Vec<String>,
    /// `pp-` names that are not pp-ipc objects of ours (another user's, a
    /// symbolic link, a FIFO, …) or could not be inspected, each with why.
    pub skipped: Vec<(String, String)>,
}

/// Removes `pp-` objects whose creator has died, and pipe endpoints nobody
/// listens on.
///
/// Objects of live processes are left alone, and so is every name that is
/// not a regular file of ours (reported in [`Swept::skipped`]). Entries are
/// opened without following links or blocking on FIFOs, so a planted entry
/// can neither redirect nor hang it.
pub fn sweep() -> Result<Swept> {
    let dir = std::fs::read_dir(sys::SHM_DIR).map_err(|source| Error::Io {
        what: "listing",
        id: sys::SHM_DIR.into(),
        source,
    })?;
    let mut swept = Swept::default();
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with("pp-") {
            continue;
        }
        match sweep_verdict(name) {
            Ok(true) => {
                if sys::shm_unlink(name).is_ok() {
                    swept.removed.push(name.to_owned());
                }
            }
            Ok(false) => {}
            Err(reason) => swept.skipped.push((name.to_owned(), reason)),
        }
    }
    swept.removed.extend(sweep_pipes());
    Ok(swept)
}

/// Whether the object `name` is an orphan to remove; `Err` says why it is
/// not ours to judge.
fn sweep_verdict(name: &str) -> std::result::Result<bool, String> {
    let examined = examine(name)?;
    Ok(match creator_in(&examined.start) {
        Some(creator) => !sys::process_alive(creator),
        None => abandoned_half_made(name),
    })
}

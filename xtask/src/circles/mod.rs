//! `cargo xtask circles`: no import circle between the files of one crate.
//!
//! Every crate of every workspace package is read with a Rust parser (`syn`):
//! the library, each binary, test, example and bench target. A file that no
//! other file of its package declares with `mod x;` is a crate root; from it
//! the `mod` declarations give each file its module (`sys/mod.rs` is `sys`,
//! `sys/spawn.rs` is `sys::spawn`; an inline `mod x { }` is a module inside
//! its file).
//!
//! File `a.rs` has an edge to file `b.rs` where `a.rs` names an item of a
//! module that lives in `b.rs`: a `use` (`use crate::b::X`, `use
//! crate::{b, c}`, `use super::b` from a submodule), or a path anywhere in
//! the code, macro arguments included (`crate::b::f()`, `super::b::X`,
//! `b::X` after `use crate::b`). A name the crate root re-exports leads to
//! where it comes from: after `pub use b::Name` in lib.rs, `crate::Name`
//! in `a.rs` is an edge to `b.rs`. Not edges: `mod` declarations; a file's
//! re-exports of its own submodules (lib.rs's `pub use b::Name`: the crate
//! root is the map); paths into the same file (`use super::*` in a test
//! module); visibilities (`pub(crate)`); doc comments and strings, which
//! are no paths to the parser. Test code counts like any other: a test
//! module's `use crate::b::X` is an edge.
//!
//! A circle is a strongly connected component of more than one file; each
//! is reported with its files and the lines that make each edge inside it.

mod components;
mod edges;
mod modules;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use modules::{Crate, Sources, declared_files};

/// One import circle: files of one crate that reach each other through uses.
#[derive(Debug)]
pub(crate) struct Circle {
    /// The crate's root file.
    pub(crate) root: PathBuf,
    /// The files of the circle, sorted.
    pub(crate) files: Vec<PathBuf>,
    /// Each edge between two files of the circle.
    pub(crate) edges: Vec<Link>,
}

/// An edge of a circle: `from` uses `to` at `lines` of `from` (number, text).
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) from: PathBuf,
    pub(crate) to: PathBuf,
    pub(crate) lines: Vec<(usize, String)>,
}

impl fmt::Display for Circle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.files.iter().map(|p| p.display().to_string()).collect();
        writeln!(
            f,
            "import circle in the crate of {}: {}",
            self.root.display(),
            names.join(" <-> ")
        )?;
        for link in &self.edges {
            writeln!(f, "  {} -> {}", link.from.display(), link.to.display())?;
            for (line, text) in &link.lines {
                writeln!(f, "    {}:{line}: {text}", link.from.display())?;
            }
        }
        Ok(())
    }
}

/// The circles of every crate whose files are in `sources` (one package's
/// `.rs` files), and how many crates that was.
pub(crate) fn circles_in(sources: &Sources) -> Result<(Vec<Circle>, usize), String> {
    let declared: BTreeSet<PathBuf> =
        sources.iter().flat_map(|(path, text)| declared_files(path, text)).collect();
    let mut circles = Vec::new();
    let mut crates = 0;
    for root in sources.keys().filter(|path| !declared.contains(*path)) {
        let krate = Crate::load(sources, root)?;
        circles.extend(circles_of(&krate));
        crates += 1;
    }
    Ok((circles, crates))
}

fn circles_of(krate: &Crate) -> Vec<Circle> {
    let edges = edges::edges(krate);
    let pairs: Vec<(usize, usize)> = edges.iter().map(|e| (e.from, e.to)).collect();
    let path = |file: usize| krate.files[file].path.clone();
    components::circles(krate.files.len(), &pairs)
        .into_iter()
        .map(|files| {
            let mut lines: BTreeMap<(usize, usize), Vec<(usize, String)>> = BTreeMap::new();
            for e in edges.iter().filter(|e| files.contains(&e.from) && files.contains(&e.to)) {
                let text = krate.files[e.from].text.lines().nth(e.line - 1).unwrap_or("").trim();
                lines.entry((e.from, e.to)).or_default().push((e.line, text.to_owned()));
            }
            let mut paths: Vec<PathBuf> = files.iter().map(|&f| path(f)).collect();
            paths.sort();
            Circle {
                root: path(0),
                files: paths,
                edges: lines
                    .into_iter()
                    .map(|((from, to), lines)| Link { from: path(from), to: path(to), lines })
                    .collect(),
            }
        })
        .collect()
}

/// Checks every package of the workspace at `workspace`; prints each circle.
pub(crate) fn check(workspace: &Path) -> Result<(), String> {
    let mut found = Vec::new();
    let (mut crates, mut files) = (0, 0);
    for package in packages(workspace)? {
        let sources = read_sources(workspace, &package)?;
        files += sources.len();
        let (circles, n) = circles_in(&sources)?;
        crates += n;
        found.extend(circles);
    }
    for circle in &found {
        print!("{circle}");
    }
    println!("circles: read {crates} crates ({files} files), found {} circle(s)", found.len());
    if found.is_empty() {
        Ok(())
    } else {
        Err(format!("{} import circle(s) between the files of one crate (above)", found.len()))
    }
}

/// The workspace's package directories, relative to it: its `members`,
/// where `dir/*` means every directory in `dir` with a Cargo.toml.
fn packages(workspace: &Path) -> Result<Vec<PathBuf>, String> {
    let manifest = std::fs::read_to_string(workspace.join("Cargo.toml"))
        .map_err(|e| format!("cannot read the workspace Cargo.toml: {e}"))?;
    let members = manifest
        .lines()
        .find_map(|line| line.trim().strip_prefix("members = ["))
        .and_then(|rest| rest.split(']').next())
        .ok_or("the workspace Cargo.toml has no one-line `members = [...]`")?;
    let mut packages = Vec::new();
    for member in members.split(',').map(|m| m.trim().trim_matches('"')).filter(|m| !m.is_empty()) {
        match member.strip_suffix("/*") {
            Some(dir) => {
                let entries = std::fs::read_dir(workspace.join(dir))
                    .map_err(|e| format!("cannot list {dir}: {e}"))?;
                let mut found: Vec<PathBuf> = entries
                    .flatten()
                    .filter(|e| e.path().join("Cargo.toml").is_file())
                    .map(|e| Path::new(dir).join(e.file_name()))
                    .collect();
                found.sort();
                packages.extend(found);
            }
            None => packages.push(PathBuf::from(member)),
        }
    }
    Ok(packages)
}

/// The `.rs` files of the package in `dir` (relative to `workspace`),
/// leaving out `target/` and packages nested inside it.
fn read_sources(workspace: &Path, dir: &Path) -> Result<Sources, String> {
    let mut sources = Sources::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(at) = pending.pop() {
        let entries = std::fs::read_dir(workspace.join(&at))
            .map_err(|e| format!("cannot list {}: {e}", at.display()))?;
        for entry in entries.flatten() {
            let path = at.join(entry.file_name());
            let full = workspace.join(&path);
            if full.is_dir() {
                let nested = full.join("Cargo.toml").is_file();
                if !nested && entry.file_name() != "target" {
                    pending.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&full)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                sources.insert(path, text);
            }
        }
    }
    Ok(sources)
}

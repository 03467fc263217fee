//! `cargo xtask codemap`: every source file of a library crate is named in
//! ARCHITECTURE.md's code map, so the map cannot silently fall behind.
//!
//! A file counts as named when its path below `src/` (`sys/spawn.rs`) or its
//! file name (`spawn.rs`) appears in ARCHITECTURE.md; `lib.rs` and `mod.rs`
//! are the maps themselves and are skipped.

use std::path::{Path, PathBuf};

/// Fails with the files of `crates/*/src` that ARCHITECTURE.md never names.
pub(crate) fn check(root: &Path) -> Result<(), String> {
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md"))
        .map_err(|e| format!("cannot read ARCHITECTURE.md: {e}"))?;
    let mut files = Vec::new();
    let crates = std::fs::read_dir(root.join("crates")).map_err(|e| format!("crates/: {e}"))?;
    for krate in crates.flatten() {
        let src = krate.path().join("src");
        if src.is_dir() {
            rust_files(&src, &mut files).map_err(|e| format!("{}: {e}", src.display()))?;
        }
    }
    let missing = unnamed(&map, root, &files);
    if !missing.is_empty() {
        return Err(format!(
            "ARCHITECTURE.md's code map does not name {} file(s): {}",
            missing.len(),
            missing.join(", ")
        ));
    }
    println!("codemap: ARCHITECTURE.md names all {} source files of crates/", files.len());
    Ok(())
}

/// The files (as paths relative to `root`) that `map` does not name.
fn unnamed(map: &str, root: &Path, files: &[PathBuf]) -> Vec<String> {
    let mut missing = Vec::new();
    for file in files {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name == "lib.rs" || name == "mod.rs" {
            continue;
        }
        let below_src = below_src(file);
        let named = map.contains(&format!("`{below_src}`"))
            || map.contains(&format!("`{name}`"))
            || map.contains(&below_src);
        if !named {
            missing.push(file.strip_prefix(root).unwrap_or(file).display().to_string());
        }
    }
    missing.sort();
    missing
}

/// `crates/x/src/sys/spawn.rs` → `sys/spawn.rs`.
fn below_src(file: &Path) -> String {
    let parts: Vec<&str> = file.iter().filter_map(|p| p.to_str()).collect();
    match parts.iter().rposition(|p| *p == "src") {
        Some(i) => parts[i + 1..].join("/"),
        None => file.display().to_string(),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_the_map_does_not_name_is_reported() {
        let root = Path::new("/w");
        let files = [
            PathBuf::from("/w/crates/a/src/lib.rs"),
            PathBuf::from("/w/crates/a/src/sys/mod.rs"),
            PathBuf::from("/w/crates/a/src/sys/spawn.rs"),
            PathBuf::from("/w/crates/a/src/queue.rs"),
            PathBuf::from("/w/crates/a/src/ghost.rs"),
        ];
        let map = "- `queue.rs` — a queue.\n- `sys/spawn.rs` — starting a child.\n";
        assert_eq!(unnamed(map, root, &files), ["crates/a/src/ghost.rs"]);
        assert!(unnamed("`queue.rs` `spawn.rs` `ghost.rs`", root, &files).is_empty());
    }
}

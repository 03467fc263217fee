//! No two source files of pp-pool import each other, directly or around a
//! longer circle, through `crate::` paths or through lib.rs's re-exports.
//!
//! The check reads `src/` (not `src/bin`): a file's edges are the modules
//! its code (comments and strings left out) names as `crate::<module>`; a
//! `crate::<name>` that is no module (a re-export, or an item of lib.rs) is
//! an edge to lib.rs, and lib.rs has an edge to every module it `use`s.
//! `$crate::` in a macro body is the user's path, not an import, and a
//! `crate::name!` of a macro the file defines itself is no edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The code of a Rust file without comments and string or char literals.
fn code_only(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    match c {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => break,
                        _ => escaped = false,
                    }
                }
                out.push_str("\"\"");
            }
            // A char literal ('x', '\n', '"'); a lifetime ('a) stays.
            '\'' => {
                let mut ahead = chars.clone();
                match (ahead.next(), ahead.next()) {
                    (Some('\\'), _) => {
                        chars.next();
                        chars.next();
                        for c in chars.by_ref() {
                            if c == '\'' {
                                break;
                            }
                        }
                    }
                    (Some(_), Some('\'')) => {
                        chars.next();
                        chars.next();
                    }
                    _ => out.push(c),
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// The first segment of every `crate::` path in `code` (not `$crate::`),
/// with whether the path ends in a macro call (`crate::name!`).
fn crate_paths(code: &str) -> Vec<(String, bool)> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        let after = &rest[at + "crate::".len()..];
        rest = after;
        if before.is_some_and(|c| c == '$' || c.is_alphanumeric() || c == '_') {
            continue;
        }
        let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let is_macro = after[name.len()..].starts_with('!');
        if !name.is_empty() {
            found.push((name, is_macro));
        }
    }
    found
}

/// The modules lib.rs's `use` declarations name (`pub use error::{…}`, `use std::…` left out).
fn lib_uses(code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    code.split(';')
        .filter_map(|statement| {
            let statement = statement.trim();
            let path = statement
                .strip_prefix("pub use ")
                .or(statement.rsplit_once("use ").map(|(_, p)| p))?;
            let first = path.trim().trim_start_matches("crate::").split("::").next()?;
            modules.contains(first).then(|| first.to_owned())
        })
        .collect()
}

/// A circle in `edges`, as the files along it, if there is one.
fn find_circle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut circle = path[start..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, edges, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges.keys().find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

/// The import edges between the files of a crate whose sources are flat in `src`.
fn import_edges(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut sources = BTreeMap::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            sources.insert(name, code_only(&std::fs::read_to_string(&path).unwrap()));
        }
    }
    let modules: BTreeSet<String> = sources.keys().filter(|m| *m != "lib").cloned().collect();
    let mut edges = BTreeMap::new();
    for (file, code) in &sources {
        let mut targets: BTreeSet<String> = crate_paths(code)
            .into_iter()
            .filter(|(name, is_macro)| {
                !(*is_macro && code.contains(&format!("macro_rules! {name}")))
            })
            .map(|(name, _)| if modules.contains(&name) { name } else { "lib".to_owned() })
            .collect();
        if file == "lib" {
            targets.extend(lib_uses(code, &modules));
        }
        targets.remove(file);
        edges.insert(file.clone(), targets);
    }
    edges
}

#[test]
fn no_two_files_of_pp_pool_import_each_other() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = import_edges(&src);
    assert!(edges["lib"].contains("task"), "the check sees lib.rs's re-exports: {edges:?}");
    assert!(edges["thread_pool"].contains("task"), "the check sees crate:: imports: {edges:?}");
    if let Some(circle) = find_circle(&edges) {
        panic!("an import circle between files of pp-pool: {}", circle.join(" -> "));
    }
}

#[test]
fn the_check_finds_a_circle_through_a_re_export() {
    let dir = std::env::temp_dir().join(format!("pp-pool-import-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    write("lib.rs", "mod a;\nmod b;\npub use a::Thing; // crate::b in a comment\n");
    write("a.rs", "use crate::b::helper;\npub struct Thing;\n");
    write(
        "b.rs",
        "/// [`crate::a`]\nfn helper<'a>() -> crate::Thing { let _ = ('\"', \"crate::a\"); todo!() }\n",
    );
    let edges = import_edges(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    let circle = find_circle(&edges).expect("b -> lib -> a -> b");
    assert_eq!(circle.len(), 4, "{circle:?}");
    assert!(!edges["b"].contains("a"), "comments and strings are not imports: {edges:?}");
}

//! The crate's files form no import circle: no two files of `src/` use each
//! other, directly or through a longer chain.
//!
//! The check reads every `.rs` file under `src/`, drops comments (an
//! intra-doc link is not an import), and collects each `crate::<name>` path
//! (`crate::{a, b::C}` groups included). A `<name>` that is a module is an
//! edge to that module's file; a `<name>` that `lib.rs` re-exports
//! (`pub use module::{Name, …}`) is an edge to the file that defines it.
//! `lib.rs` only declares and re-exports, so it is left out. Then any cycle
//! in the graph fails the test, naming the files around it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module name (`sys`, `queue`, …) → its source text without comments.
fn sources(src: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                files.insert(module_of(src, &path), without_comments(&text));
            }
        }
    }
    files
}

/// `src/sys.rs` → `sys`, `src/sys/mod.rs` → `sys`, `src/sys/spawn.rs` → `sys::spawn`.
fn module_of(src: &Path, path: &Path) -> String {
    let relative: PathBuf = path.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    match parts.as_slice() {
        [init @ .., last] if last == "mod" => init.join("::"),
        all => all.join("::"),
    }
}

fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("//") {
            rest = after.split_once('\n').map_or("", |(_, tail)| tail);
            out.push('\n');
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, tail)| tail);
        } else if let Some(after) = rest.strip_prefix("'\"'") {
            out.push_str("'\"'");
            rest = after;
        } else if rest.starts_with('"') {
            // Skip string literals: a "//" inside one is not a comment.
            let mut end = 1;
            let bytes = rest.as_bytes();
            while end < bytes.len() && bytes[end] != b'"' {
                end += if bytes[end] == b'\\' { 2 } else { 1 };
            }
            let end = (end + 1).min(rest.len());
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The first segment of every `crate::` path in `code`, groups expanded.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        if code[..at].chars().next_back().is_some_and(is_ident) {
            continue; // `pp_crate::` or similar, not our `crate`
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                let name: String = item.trim().chars().take_while(|c| is_ident(*c)).collect();
                if !name.is_empty() {
                    names.insert(name);
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
            names.insert(name);
        }
    }
    names
}

/// Names `lib.rs` re-exports → the module defining them.
fn re_exports(lib: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for statement in lib.split(';') {
        let Some(path) = statement.trim().strip_prefix("pub use ") else { continue };
        let Some((module, names)) = path.split_once("::") else { continue };
        let names = names.trim().trim_start_matches('{').trim_end_matches('}');
        for name in names.split(',') {
            let name = name.trim();
            if !name.is_empty() {
                map.insert(name.to_owned(), module.trim().to_owned());
            }
        }
    }
    map
}

/// File → the files it uses.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = sources(src);
    let lib = files.remove("lib").expect("src/lib.rs");
    let exported = re_exports(&lib);
    let mut graph = BTreeMap::new();
    for (module, code) in &files {
        let top = module.split("::").next().unwrap();
        let uses: BTreeSet<String> = crate_paths(code)
            .into_iter()
            .filter_map(|name| {
                if files.contains_key(&name) { Some(name) } else { exported.get(&name).cloned() }
            })
            .filter(|target| target != top && target != module)
            .collect();
        graph.insert(module.clone(), uses);
    }
    graph
}

/// One cycle of `graph`, as the files around it, if there is any.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = path.iter().position(|n| n == node).unwrap();
                let mut cycle = path[start..].to_vec();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_owned(), Mark::Open);
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    graph.keys().find_map(|node| visit(node, graph, &mut marks, &mut Vec::new()))
}

#[test]
fn no_two_files_of_the_crate_import_each_other() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph(&src);
    assert!(graph.contains_key("queue") && graph.contains_key("sys"), "read src/: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import circle in pp-ipc: {} (whole graph: {graph:#?})", cycle.join(" → "));
    }
}

#[test]
fn the_circle_check_finds_circles() {
    let edges = |pairs: &[(&str, &str)]| {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in pairs {
            graph.entry((*from).into()).or_default().insert((*to).into());
            graph.entry((*to).into()).or_default();
        }
        graph
    };
    assert_eq!(find_cycle(&edges(&[("a", "b"), ("b", "c")])), None);
    let cycle = find_cycle(&edges(&[("a", "b"), ("b", "c"), ("c", "a")])).unwrap();
    assert_eq!(cycle.len(), 4, "{cycle:?}");
    assert_eq!(
        crate_paths("use crate::{error::Error, id::ObjectId};\n let x = crate::sys::f();"),
        ["error", "id", "sys"].map(String::from).into()
    );
    assert!(crate_paths(&without_comments("/// [`Queue`](crate::Queue)\nfn f() {}")).is_empty());
    let lib = "mod a;\npub use a::{One, Two};\npub use b::Three;";
    let exported = re_exports(lib);
    assert_eq!(exported["Two"], "a");
    assert_eq!(exported["Three"], "b");
}

//! The circle check on small crates held in memory.

use std::path::PathBuf;

use super::modules::{Crate, Sources};
use super::{circles_in, edges};

fn sources(files: &[(&str, &str)]) -> Sources {
    files.iter().map(|(path, text)| (PathBuf::from(path), (*text).to_owned())).collect()
}

/// Each circle as its files.
fn circles(files: &[(&str, &str)]) -> Vec<Vec<String>> {
    let (found, _) = circles_in(&sources(files)).unwrap();
    found.iter().map(|c| c.files.iter().map(|f| f.display().to_string()).collect()).collect()
}

/// Every edge of the crate rooted at `src/lib.rs`, as `from:line -> to`.
fn edges_of(files: &[(&str, &str)]) -> Vec<String> {
    let krate = Crate::load(&sources(files), "src/lib.rs".as_ref()).unwrap();
    let path = |f: usize| krate.files[f].path.display().to_string();
    edges::edges(&krate)
        .iter()
        .map(|e| format!("{}:{} -> {}", path(e.from), e.line, path(e.to)))
        .collect()
}

#[test]
fn a_circle_through_a_re_export_is_found() {
    let files = [
        ("src/lib.rs", "mod a;\nmod b;\npub use b::Name;\n"),
        ("src/a.rs", "use crate::Name;\npub fn make() -> Name {\n    Name\n}\n"),
        ("src/b.rs", "pub struct Name;\npub fn f() {\n    crate::a::make();\n}\n"),
    ];
    let (found, crates) = circles_in(&sources(&files)).unwrap();
    assert_eq!(crates, 1);
    assert_eq!(found.len(), 1, "{found:?}");
    let circle = &found[0];
    assert_eq!(circle.root, PathBuf::from("src/lib.rs"));
    assert_eq!(circle.files, [PathBuf::from("src/a.rs"), PathBuf::from("src/b.rs")]);
    let edges: Vec<String> = circle
        .edges
        .iter()
        .map(|l| format!("{} -> {}: {:?}", l.from.display(), l.to.display(), l.lines))
        .collect();
    assert_eq!(
        edges,
        [
            r#"src/a.rs -> src/b.rs: [(1, "use crate::Name;")]"#,
            r#"src/b.rs -> src/a.rs: [(3, "crate::a::make();")]"#,
        ]
    );
    let shown = circle.to_string();
    assert!(shown.contains("src/a.rs <-> src/b.rs"), "{shown}");
    assert!(shown.contains("    src/b.rs:3: crate::a::make();"), "{shown}");
}

#[test]
fn a_glob_re_export_leads_to_its_module() {
    let files = [
        ("src/lib.rs", "mod a;\nmod b;\npub use b::*;\n"),
        ("src/a.rs", "pub fn f() {\n    crate::g();\n}\n"),
        ("src/b.rs", "pub fn g() {}\n"),
    ];
    assert_eq!(edges_of(&files), ["src/a.rs:2 -> src/b.rs"]);
}

#[test]
fn use_super_glob_in_a_test_module_is_no_edge() {
    let files = [
        ("src/lib.rs", "mod sys;\n"),
        ("src/sys/mod.rs", "mod x;\npub fn run() {\n    x::helper();\n}\n"),
        (
            "src/sys/x.rs",
            "pub fn helper() {}\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n    \
             #[test]\n    fn helps() {\n        helper();\n        super::helper();\n    }\n}\n",
        ),
    ];
    assert_eq!(edges_of(&files), ["src/sys/mod.rs:3 -> src/sys/x.rs"]);
    assert!(circles(&files).is_empty());
}

#[test]
fn a_chain_is_no_circle() {
    let files = [
        ("src/lib.rs", "mod a;\nmod b;\nmod c;\n"),
        ("src/a.rs", "use crate::b::B;\npub fn f() -> B {\n    B\n}\n"),
        ("src/b.rs", "use crate::c::C;\npub struct B;\npub fn g() -> C {\n    C\n}\n"),
        ("src/c.rs", "pub struct C;\n"),
    ];
    assert_eq!(edges_of(&files), ["src/a.rs:1 -> src/b.rs", "src/b.rs:1 -> src/c.rs"]);
    assert!(circles(&files).is_empty());
}

#[test]
fn doc_comments_strings_and_comments_are_no_edges() {
    let files = [
        ("src/lib.rs", "mod a;\nmod b;\n"),
        ("src/a.rs", "use crate::b::B;\npub fn make() -> B {\n    B\n}\n"),
        (
            "src/b.rs",
            "/// Made by [crate::a::make].\npub struct B;\n// crate::a::make()\n\
             pub const S: &str = \"crate::a::make\";\npub fn f() {\n    \
             println!(\"{}\", \"crate::a::make\");\n}\n",
        ),
    ];
    assert_eq!(edges_of(&files), ["src/a.rs:1 -> src/b.rs"]);
    assert!(circles(&files).is_empty());
}

#[test]
fn paths_in_macros_and_through_imported_modules_are_edges() {
    let files = [
        ("src/lib.rs", "mod a;\nmod sys;\n"),
        (
            "src/a.rs",
            "use crate::sys;\npub fn f() {\n    assert!(sys::x::ok());\n    sys::g();\n}\n",
        ),
        ("src/sys/mod.rs", "pub mod x;\npub fn g() {}\n"),
        ("src/sys/x.rs", "pub fn ok() -> bool {\n    true\n}\n"),
    ];
    assert_eq!(edges_of(&files), ["src/a.rs:1 -> src/sys/mod.rs", "src/a.rs:3 -> src/sys/x.rs"]);
}

#[test]
fn use_groups_and_super_from_a_submodule_make_a_circle() {
    let files = [
        ("src/lib.rs", "mod sys;\n"),
        (
            "src/sys/mod.rs",
            "mod x;\nuse self::x::{X, helper};\npub fn run() -> X {\n    helper()\n}\n",
        ),
        ("src/sys/x.rs", "use super::run;\npub struct X;\npub fn helper() -> X {\n    X\n}\n"),
    ];
    assert_eq!(
        edges_of(&files),
        ["src/sys/mod.rs:2 -> src/sys/x.rs", "src/sys/x.rs:1 -> src/sys/mod.rs"]
    );
    assert_eq!(circles(&files), [["src/sys/mod.rs", "src/sys/x.rs"]]);
}

#[test]
fn every_undeclared_file_is_a_crate_root() {
    let files = [
        ("src/lib.rs", "mod a;\n"),
        ("src/a.rs", ""),
        ("src/bin/tool/main.rs", "mod cli;\nfn main() {\n    cli::run();\n}\n"),
        ("src/bin/tool/cli.rs", "pub fn run() {\n    crate::main();\n}\n"),
        ("tests/it/main.rs", "mod b;\n"),
        ("tests/it/b.rs", ""),
    ];
    let (found, crates) = circles_in(&sources(&files)).unwrap();
    assert_eq!(crates, 3);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].files,
        [PathBuf::from("src/bin/tool/cli.rs"), "src/bin/tool/main.rs".into()]
    );
}

#[test]
fn a_file_that_does_not_parse_is_an_error() {
    let files = [("src/lib.rs", "mod a;\n"), ("src/a.rs", "fn f( {}\n")];
    let error = circles_in(&sources(&files)).unwrap_err();
    assert!(error.starts_with("cannot parse src/a.rs:1:"), "{error}");
}

#[test]
fn components_of_more_than_one_node() {
    let edges = [(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 3), (5, 5)];
    assert_eq!(super::components::circles(6, &edges), [vec![0, 1, 2], vec![3, 4]]);
}

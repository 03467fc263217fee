//! The README's two commands exist and CI runs the test command it gives.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// The first command in the README's fenced block that follows `heading`.
fn command_after(readme: &str, heading: &str) -> String {
    let rest =
        &readme[readme.find(heading).unwrap_or_else(|| panic!("README lacks {heading:?}"))..];
    let block = &rest[rest.find("```").expect("a code block") + 3..];
    let block = &block[block.find('\n').unwrap() + 1..];
    block.lines().next().unwrap().trim().to_owned()
}

#[test]
fn ci_runs_the_readme_test_command() {
    let readme = read("README.md");
    let test_command = command_after(&readme, "## Test");
    assert!(test_command.starts_with("cargo "), "{test_command}");
    let ci = read(".ci/run");
    assert!(ci.lines().any(|l| l.trim() == test_command), ".ci/run does not run `{test_command}`");
}

#[test]
fn the_readme_main_job_names_an_existing_example() {
    let readme = read("README.md");
    let run = command_after(&readme, "## Run");
    let example =
        run.split("--example").nth(1).expect("an --example").split_whitespace().next().unwrap();
    let package =
        run.split("-p ").nth(1).expect("a -p <package>").split_whitespace().next().unwrap();
    let file = root().join("crates").join(package).join("examples").join(format!("{example}.rs"));
    assert!(file.exists(), "{} is missing", file.display());
}

#[test]
fn the_xtask_alias_is_configured() {
    assert!(read(".cargo/config.toml").contains("xtask = \"run --quiet --package xtask --\""));
}

//! Project automation, run as `cargo xtask <task>`.
//!
//! - `ci`: format check, clippy and rustdoc with warnings denied, tests, doc
//!   tests (pp-process's `tokio` feature too: clippy, rustdoc, its stream tests), checks that the tests left no `pp-` object in `/dev/shm`, no
//!   `pp-` cgroup and no `pp-` file in the temp directory, the layering check, the import-circle check, the code-map check, the MSRV
//!   check.
//! - `layering`: only the layering check.
//! - `circles`: fails on any import circle between the files of one crate
//!   (files that reach each other through `use`s and paths), printing each
//!   with the lines that make it; `circles/mod.rs` says what counts as an edge.
//! - `codemap`: fails when a source file of `crates/*/src` is not named in
//!   ARCHITECTURE.md's code map.
//! - `msrv`: checks the library crates and binaries with the workspace's
//!   declared `rust-version` toolchain (installed through rustup), so the
//!   declared minimum stays true (pp-process with its `tokio` feature too). Also part of `ci`.
//! - `bench [--quick]`: builds and runs `pp-bench`, every operation of the
//!   seed's API on pp and on its peers (Python's stdlib, ipc-channel,
//!   procspawn, rayon, raw floors) in one run; writes `target/bench/report.md`
//!   and `target/bench/ratios.svg`.
//!
//! Its only dependency is `syn` (with `proc-macro2` for line numbers), so
//! the circle check reads Rust as Rust.

mod circles;
mod codemap;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Which workspace crates each crate may depend on (normal dependencies).
/// A lower layer never depends on a higher one; see ARCHITECTURE.md.
const LAYERS: &[(&str, &[&str])] = &[
    ("pp-process", &[]),
    ("pp-ipc", &[]),
    ("pp-pool", &["pp-ipc", "pp-process"]),
    // Through pp-pool, what it may use.
    ("pp-remote", &["pp-pool", "pp-ipc", "pp-process"]),
    ("pp-manager", &["pp-process", "pp-ipc", "pp-pool", "pp-remote"]),
    ("pp-cli", &["pp-process", "pp-ipc", "pp-pool", "pp-remote", "pp-manager"]),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("layering") => layering(),
        Some("circles") => circles::check(&workspace_root()),
        Some("codemap") => codemap::check(&workspace_root()),
        Some("msrv") => msrv(),
        Some("bench") => bench(args.iter().any(|a| a == "--quick")),
        _ => {
            eprintln!("usage: cargo xtask <ci|layering|circles|codemap|msrv|bench [--quick]>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn ci() -> Result<(), String> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    // Broken intra-doc links and malformed docs fail too.
    cargo_with_env(&["doc", "--workspace", "--no-deps"], &[("RUSTDOCFLAGS", "-D warnings")])?;
    // pp-process's optional `tokio` feature (AsyncRead / AsyncWrite for its streams).
    let tokio = ["-p", "pp-process", "--features", "tokio"];
    cargo(&[&["clippy"][..], &tokio, &["--all-targets", "--", "-D", "warnings"]].concat())?;
    cargo_with_env(
        &[&["doc"][..], &tokio, &["--no-deps"]].concat(),
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    let shm_before = pp_objects();
    let cgroups_before = pp_cgroups();
    let temp_before = pp_temp_entries();
    cargo(&["test", "--workspace", "--all-targets"])?;
    cargo(&["test", "--workspace", "--doc"])?;
    cargo(&[&["test"][..], &tokio, &["--test", "it", "streams::"]].concat())?;
    let leaked: Vec<String> =
        pp_objects().into_iter().filter(|o| !shm_before.contains(o)).collect();
    if !leaked.is_empty() {
        return Err(format!("the tests left pp- objects behind in /dev/shm: {leaked:?}"));
    }
    println!("leaks: no pp- object left in /dev/shm by the tests");
    let cgroups: Vec<String> =
        pp_cgroups().into_iter().filter(|c| !cgroups_before.contains(c)).collect();
    if !cgroups.is_empty() {
        return Err(format!("the tests left pp- cgroups behind: {cgroups:?}"));
    }
    println!("leaks: no pp- cgroup left by the tests");
    let temp = std::env::temp_dir();
    let left: Vec<String> =
        pp_temp_entries().into_iter().filter(|e| !temp_before.contains(e)).collect();
    if !left.is_empty() {
        return Err(format!("the tests left pp- files behind in {}: {left:?}", temp.display()));
    }
    println!("leaks: no pp- file left in {} by the tests", temp.display());
    layering()?;
    circles::check(&workspace_root())?;
    codemap::check(&workspace_root())?;
    msrv()?;
    println!("xtask ci: all checks passed");
    Ok(())
}

/// The workspace's root directory (xtask lives one level below it).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("..")).to_owned()
}

/// The `pp-` objects in `/dev/shm` now (every OS-level name pp creates starts with `pp-`).
fn pp_objects() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/dev/shm") else { return Vec::new() };
    dir.flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name.starts_with("pp-"))
        .collect()
}

/// The `pp-` entries in the temp directory (tests name their files and
/// directories so), except `pp-<uid>`: the directory pp-ipc keeps there for
/// each user's pipe endpoints, made on first use and kept.
fn pp_temp_entries() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(std::env::temp_dir()) else { return Vec::new() };
    let is_user_dir = |rest: &str| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit());
    dir.flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name.strip_prefix("pp-").is_some_and(|rest| !is_user_dir(rest)))
        .collect()
}

/// The `pp-` cgroups below this process's own cgroup v2 (where pp-process
/// makes one per process), as paths.
fn pp_cgroups() -> Vec<String> {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let Some(own) = own.lines().find_map(|l| l.strip_prefix("0::")) else { return Vec::new() };
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let Some(mount) = mountinfo.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        right.starts_with("cgroup2 ").then(|| left.split_whitespace().nth(4).map(str::to_owned))?
    }) else {
        return Vec::new();
    };
    let base = std::path::Path::new(&mount).join(own.trim_start_matches('/'));
    let Ok(dir) = std::fs::read_dir(&base) else { return Vec::new() };
    dir.flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("pp-"))
        .map(|e| e.path().display().to_string())
        .collect()
}

fn layering() -> Result<(), String> {
    for (krate, allowed) in LAYERS {
        let out = Command::new(env!("CARGO"))
            .args(["tree", "--package", krate, "--edges", "normal", "--prefix", "none"])
            .args(["--format", "{p}"])
            .output()
            .map_err(|e| format!("cannot run cargo tree: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cargo tree -p {krate} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let tree = String::from_utf8_lossy(&out.stdout);
        for line in tree.lines().skip(1) {
            let dep = line.split_whitespace().next().unwrap_or_default();
            if dep.starts_with("pp-") && dep != *krate && !allowed.contains(&dep) {
                return Err(format!("layering: {krate} must not depend on {dep}"));
            }
        }
        println!("layering: {krate} depends only on {allowed:?} among pp crates");
    }
    Ok(())
}

/// The workspace's declared minimum Rust version, from the root Cargo.toml.
fn declared_msrv() -> Result<String, String> {
    let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml"))
        .map_err(|e| format!("cannot read the workspace Cargo.toml: {e}"))?;
    manifest
        .lines()
        .find_map(|line| line.trim().strip_prefix("rust-version = "))
        .map(|v| v.trim_matches('"').to_owned())
        .ok_or_else(|| "the workspace Cargo.toml declares no rust-version".into())
}

fn msrv() -> Result<(), String> {
    let version = declared_msrv()?;
    let toolchain = format!("+{version}");
    let installed = Command::new("rustup")
        .args(["toolchain", "install", &version, "--profile", "minimal", "--no-self-update"])
        .status();
    match installed {
        Ok(status) if status.success() => {}
        // Without rustup or its download site there is no second toolchain:
        // say so rather than pretend the check ran.
        Ok(status) => {
            println!("msrv: SKIPPED, rustup could not install {version} ({status})");
            return Ok(());
        }
        Err(e) => {
            println!("msrv: SKIPPED, no rustup to install {version} ({e})");
            return Ok(());
        }
    }
    // Library users build the libraries and binaries; tests and benches may
    // use newer dev-dependencies. A target dir of its own keeps the main
    // build's artifacts.
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let status = Command::new("cargo")
        .arg(&toolchain)
        .args(["check", "--workspace", "--lib", "--bins", "--exclude", "pp-benches"])
        .env("CARGO_TARGET_DIR", std::path::Path::new(&target).join("msrv"))
        .status()
        .map_err(|e| format!("cannot run cargo {toolchain}: {e}"))?;
    if !status.success() {
        return Err(format!(
            "the workspace does not build with its declared rust-version {version}"
        ));
    }
    let status = Command::new("cargo")
        .arg(&toolchain)
        .args(["check", "-p", "pp-process", "--lib", "--features", "tokio"])
        .env("CARGO_TARGET_DIR", std::path::Path::new(&target).join("msrv"))
        .status()
        .map_err(|e| format!("cannot run cargo {toolchain}: {e}"))?;
    if !status.success() {
        return Err(format!(
            "pp-process with its tokio feature does not build with rust-version {version}"
        ));
    }
    println!("msrv: libraries and binaries build with Rust {version}");
    Ok(())
}

fn bench(quick: bool) -> Result<(), String> {
    cargo(&[
        "build",
        "--release",
        "--package",
        "pp-benches",
        "--bin",
        "pp-bench",
        "--bin",
        "pp-bench-peer",
        // The command-line rows run `pp` from beside pp-bench.
        "--package",
        "pp-cli",
        "--bin",
        "pp",
    ])?;
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let exe = std::path::Path::new(&target).join("release").join("pp-bench");
    let out = std::path::Path::new(&target).join("bench");
    let mut run = Command::new(&exe);
    run.arg("--out").arg(&out);
    // iceoryx2, a peer of the queue rows, is its own project (never a
    // dependency of pp): built here, its rows skipped if it cannot be.
    let iceoryx2_target = std::path::Path::new(&target).join("iceoryx2-peer");
    let manifest = workspace_root().join("benches/iceoryx2-peer/Cargo.toml");
    let built = cargo(&[
        "build",
        "--release",
        "--manifest-path",
        &manifest.to_string_lossy(),
        "--target-dir",
        &iceoryx2_target.to_string_lossy(),
    ]);
    match built {
        Ok(()) => {
            run.env("PP_BENCH_ICEORYX2", iceoryx2_target.join("release").join("iceoryx2-peer"));
        }
        Err(e) => {
            eprintln!("xtask bench: the iceoryx2 peer did not build ({e}); its rows are skipped")
        }
    }
    if quick {
        run.arg("--quick");
    }
    let status = run.status().map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    if status.success() { Ok(()) } else { Err(format!("pp-bench failed ({status})")) }
}

fn cargo(args: &[&str]) -> Result<(), String> {
    cargo_with_env(args, &[])
}

fn cargo_with_env(args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v:?} ")).collect();
    println!("$ {}cargo {}", shown.concat(), args.join(" "));
    let status = Command::new(env!("CARGO"))
        .args(args)
        .envs(env.iter().copied())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

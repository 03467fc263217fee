//! The main job: process every file of a folder.
//!
//! `cargo run -p pp-manager --example batch [FOLDER]`
//!
//! For each file, a process-pool task hashes it (FNV-1a) and counts its
//! lines, reporting progress through a pp queue and a shared counter that the
//! workers open by id; at the same time `gzip -9` runs on it as an external
//! command with a timeout, to measure how well it compresses. The main thread
//! draws a progress bar from the queue and ends with a summary table.
//!
//! Without FOLDER it generates a folder of sample files, including a dangling
//! symlink (gzip fails) and a FIFO nobody writes (the shell opening it for
//! gzip blocks until the timeout stops the shell and its child).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pp_manager::pool::{TaskError, TaskErrorKind};
use pp_manager::prelude::*;
use pp_manager::process::Output;
use serde::{Deserialize, Serialize};

/// How long gzip may take on one file.
const GZIP_TIMEOUT: Duration = Duration::from_secs(3);

/// A hashing job: the file, and where to report progress. The ids travel to
/// the worker process as they are (they serialize as their names) and are
/// used there: that is all it takes to share a queue or a value.
#[derive(Serialize, Deserialize)]
struct Job {
    path: String,
    progress: QueueId,
    done: ValueId,
}

#[derive(Clone, Serialize, Deserialize)]
struct Hashed {
    bytes: u64,
    lines: u64,
    fnv1a: u64,
}

/// Runs in a pool worker.
fn hash_file(job: Job) -> Result<Hashed, String> {
    let data = std::fs::read(&job.path).map_err(|e| format!("cannot read: {e}"))?;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in &data {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let hashed = Hashed { bytes: data.len() as u64, lines: bytecount_lines(&data), fnv1a: hash };
    add_shared_value(&job.done, 1).map_err(|e| e.to_string())?;
    put_queue_item(&job.progress, &file_name(&job.path), true, Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    Ok(hashed)
}

fn bytecount_lines(data: &[u8]) -> u64 {
    data.iter().filter(|b| **b == b'\n').count() as u64
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    init();
    let started = Instant::now();
    let (folder, generated) = match std::env::args_os().nth(1) {
        Some(folder) => (PathBuf::from(folder), false),
        None => (generate_samples()?, true),
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)?.flatten().map(|e| e.path()).collect();
    files.sort();
    println!("processing {} files in {}", files.len(), folder.display());

    let progress = create_queue(0)?;
    let done = create_shared_value("l", 0)?;
    let pool = get_default_process_pool()?;

    // Regular files are hashed in the pool; everything gets a gzip run.
    let mut hashing = Vec::new();
    for path in &files {
        if path.is_file() {
            let job = Job {
                path: path.display().to_string(),
                progress: progress.clone(),
                done: done.clone(),
            };
            hashing.push((path.clone(), Some(submit_task(hash_file, job, Some(&pool))?)));
        } else {
            hashing.push((path.clone(), None));
        }
    }
    let gzips: Vec<(PathBuf, Result<ProcessId, ManagerError>)> = files
        .iter()
        .map(|path| {
            // Through sh, so the file is opened by a redirection: a FIFO blocks
            // there, and the timeout must stop the shell and its gzip child.
            let gzip = Command::new("sh")
                .args(["-c", "gzip -9 -c < \"$1\"", "sh"])
                .arg(path)
                .timeout(GZIP_TIMEOUT)
                .grace(Duration::from_millis(200))
                // Only the size matters: keep nothing, count everything.
                .max_output_bytes(0)
                .stderr(Output::Null);
            (path.clone(), run_process_async(&gzip))
        })
        .collect();

    // Progress: one queue item per hashed file, drawn as a bar.
    let to_hash = hashing.iter().filter(|(_, task)| task.is_some()).count();
    let mut seen = 0;
    while seen < to_hash {
        match get_queue_item::<String>(&progress, true, Some(Duration::from_millis(200))) {
            Ok(name) => {
                seen += 1;
                draw_bar(seen, to_hash, &name);
            }
            Err(ManagerError::Ipc(pp_manager::ipc::Error::Timeout { .. })) => {
                // A task that failed before reporting: stop waiting once every task is finished.
                if hashing.iter().flat_map(|(_, t)| t).all(|t| {
                    get_task_status(t)
                        .is_some_and(|s| s.status != "pending" && s.status != "running")
                }) {
                    break;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    println!();

    // The summary table.
    println!(
        "\n{:<22} {:>9} {:>7} {:>18} {:>10} {:>9}  status",
        "file", "bytes", "lines", "fnv1a", "gzip", "gzip ms"
    );
    let (mut ok, mut failed, mut timed_out) = (0, 0, 0);
    for ((path, task), (_, gzip)) in hashing.iter().zip(&gzips) {
        let name = file_name(&path.display().to_string());
        let hashed = task
            .as_ref()
            .map(|t| get_task_result::<Result<Hashed, String>>(t, Some(Duration::from_secs(60))));
        let gzip = gzip.as_ref().ok().and_then(wait_for);
        let (hash_cols, hash_ok) = match hashed {
            Some(Ok(Ok(h))) => (format!("{:>9} {:>7} {:>18x}", h.bytes, h.lines, h.fnv1a), true),
            Some(Ok(Err(e)))
            | Some(Err(ManagerError::Task(TaskError {
                kind: TaskErrorKind::Panicked { message: e },
                ..
            }))) => (format!("{:>36}", truncate(&e, 36)), false),
            Some(Err(e)) => (format!("{:>36}", truncate(&e.to_string(), 36)), false),
            None => (format!("{:>36}", "(not a regular file)"), true),
        };
        let (gzip_cols, status) = match gzip {
            Some((record, compressed))
                if record.status == "completed" && record.returncode == Some(0) =>
            {
                (
                    format!("{:>10} {:>9.1}", compressed, record.duration * 1e3),
                    if hash_ok { "ok" } else { "failed" },
                )
            }
            Some((record, _)) if record.status == "timeout" => {
                (format!("{:>10} {:>9.1}", "-", record.duration * 1e3), "timed out")
            }
            Some((record, _)) => (
                format!(
                    "{:>10} {:>9.1}",
                    format!("exit {}", record.returncode.unwrap_or(-1)),
                    record.duration * 1e3
                ),
                "failed",
            ),
            None => (format!("{:>10} {:>9}", "-", "-"), "failed"),
        };
        match status {
            "ok" => ok += 1,
            "timed out" => timed_out += 1,
            _ => failed += 1,
        }
        println!("{name:<22} {hash_cols} {gzip_cols}  {status}");
    }
    let hashed_count = get_shared_value(&done)?;
    println!(
        "\n{} files: {ok} ok, {failed} failed, {timed_out} timed out; {hashed_count} hashed by {} workers; {:.2?} in all",
        files.len(),
        list_executors()
            .iter()
            .find(|e| e.executor_id == pool.as_str())
            .map_or(0, |e| e.max_workers),
        started.elapsed()
    );
    shutdown();
    if generated {
        std::fs::remove_dir_all(&folder)?;
    }
    Ok(())
}

/// Waits for process `id`; its record and how many bytes it wrote to stdout.
fn wait_for(id: &ProcessId) -> Option<(ProcessRecord, u64)> {
    let handle = get_process_manager().process_table().handle(id.as_str())?;
    let compressed = match handle.wait() {
        Ok(out) => out.stdout_dropped,
        Err(pp_manager::process::Error::Timeout { output, .. }) => output.stdout_dropped,
        Err(_) => 0,
    };
    Some((get_process_status(id.as_str())?, compressed))
}

fn draw_bar(done: usize, total: usize, name: &str) {
    const WIDTH: usize = 30;
    let filled = WIDTH * done / total.max(1);
    print!(
        "\r[{}{}] {done:>3}/{total} hashed  {:<24}",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled),
        truncate(name, 24)
    );
    let _ = std::io::stdout().flush();
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        text.chars().take(max - 1).chain(['…']).collect()
    }
}

/// A folder of sample files: text, numbers, random bytes, an empty file, a
/// dangling symlink, and a FIFO nobody writes.
fn generate_samples() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("pp-batch-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..12 {
        let text: String =
            (0..(200 + i * 400)).map(|n| format!("line {n} of sample text {i}\n")).collect();
        std::fs::write(dir.join(format!("text-{i:02}.txt")), text)?;
    }
    for i in 0..6 {
        let numbers: String =
            (0..(5_000 * (i + 1))).map(|_| format!("{}\n", random() % 1_000_000)).collect();
        std::fs::write(dir.join(format!("numbers-{i:02}.csv")), numbers)?;
    }
    for i in 0..4 {
        let bytes: Vec<u8> = (0..(64 * 1024 * (i + 1))).map(|_| random() as u8).collect();
        std::fs::write(dir.join(format!("random-{i:02}.bin")), bytes)?;
    }
    std::fs::write(dir.join("empty.txt"), b"")?;
    std::os::unix::fs::symlink(dir.join("missing.txt"), dir.join("broken-link.txt"))?;
    // mkfifo through pp itself: a command like any other.
    let fifo = dir.join("stuck.fifo");
    let made = run_process(&Command::new("mkfifo").arg(&fifo));
    if !matches!(made, Ok(ref r) if r.returncode == 0) {
        eprintln!("(mkfifo unavailable: no timeout demo)");
    }
    Ok(dir)
}

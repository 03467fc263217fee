//! Reading `/proc`: a process's memory figures (`VmRSS`, `VmHWM`) and the
//! processes descended from it.

use std::collections::HashMap;

/// The `field` of `/proc/<pid>/status` (`"VmRSS"`, `"VmHWM"`) in bytes;
/// `None` if the process is gone or has no such field (a kernel thread).
pub fn status_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_bytes(&status, field)
}

/// [`status_bytes`] of this process.
pub fn own_status_bytes(field: &str) -> Option<u64> {
    status_bytes(std::process::id(), field)
}

/// `field` of a `/proc/<pid>/status` text: `VmRSS: 1234 kB` (tab-separated) is 1234 KiB.
fn parse_status_bytes(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

/// The parent pid of `/proc/<pid>/stat`'s text: the field after the state,
/// which follows the command name's closing parenthesis.
fn parse_ppid(stat: &str) -> Option<u32> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// The pids of every live process descended from `pid` (not `pid` itself).
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        if let Some(parent) = parse_ppid(&stat) {
            children.entry(parent).or_default().push(child);
        }
    }
    let mut found = Vec::new();
    let mut next = vec![pid];
    while let Some(p) = next.pop() {
        for &child in children.get(&p).into_iter().flatten() {
            found.push(child);
            next.push(child);
        }
    }
    found
}

/// `VmRSS` of `pid` and all its descendants, summed (pages two of them
/// share count twice, as each one's RSS counts them).
pub fn tree_rss(pid: u32) -> u64 {
    std::iter::once(pid).chain(descendants(pid)).filter_map(|p| status_bytes(p, "VmRSS")).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kib_fields_as_bytes() {
        let status = "Name:\tx\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\n";
        assert_eq!(parse_status_bytes(status, "VmRSS"), Some(1024 * 1024));
        assert_eq!(parse_status_bytes(status, "VmHWM"), Some(2048 * 1024));
        assert_eq!(parse_status_bytes(status, "VmSwap"), None);
    }

    #[test]
    fn reads_the_parent_after_a_name_with_parentheses() {
        assert_eq!(parse_ppid("42 (a (b) c) S 7 42 42 0"), Some(7));
    }

    #[test]
    fn finds_own_memory_and_a_child() {
        assert!(own_status_bytes("VmRSS").unwrap() > 0);
        let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let found = descendants(std::process::id()).contains(&child.id());
        let _ = child.kill();
        let _ = child.wait();
        assert!(found);
    }
}

//! The machine a run measured: date, cpu, cores, kernel, python version.

use std::process::Command as StdCommand;

/// `(name, value)` pairs, in the order the report lists them.
pub(crate) fn machine() -> Vec<(String, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let kernel =
        std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned();
    let python = StdCommand::new("python3")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|_| "not found".into());
    let date = StdCommand::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    vec![
        ("date".into(), date),
        ("cpu".into(), model),
        ("cores".into(), std::thread::available_parallelism().map_or(1, |n| n.get()).to_string()),
        ("kernel".into(), format!("Linux {kernel}")),
        ("python".into(), python),
    ]
}

//! The job log in GNU parallel's format (`--joblog`), and reading one back
//! for `--resume` / `--resume-failed`.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The first line of every job log.
pub(crate) const HEADER: &str =
    "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand";

/// A job log that could not be written or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum JoblogError {
    /// Opening, reading or writing failed.
    #[error("cannot {what} the job log {path:?}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The log.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a job log.
    #[error("{path:?} is not a job log: line {line}: {reason}")]
    Malformed {
        /// The log.
        path: PathBuf,
        /// The line (1-based).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The log lists a job this command line does not have, or with another command.
    #[error(
        "the job log {path:?} was written for another command line: its job {seq} ran {logged:?}, this command line's job {seq} is {ours:?}"
    )]
    OtherCommandLine {
        /// The log.
        path: PathBuf,
        /// The job's number.
        seq: u64,
        /// The command the log lists.
        logged: String,
        /// This command line's job (empty when it has no such job).
        ours: String,
    },
}

/// One finished job, as a log line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The job's number.
    pub(crate) seq: u64,
    /// When it started.
    pub(crate) start: SystemTime,
    /// How long it ran.
    pub(crate) runtime: Duration,
    /// Bytes of input sent to it (always 0: jobs read no input from pp).
    pub(crate) send: u64,
    /// Bytes of output received from it.
    pub(crate) receive: u64,
    /// Exit code; -1 when killed by its timeout or never run.
    pub(crate) exitval: i32,
    /// The signal that ended it, else 0.
    pub(crate) signal: i32,
    /// The command as run.
    pub(crate) command: String,
}

impl Entry {
    /// The tab-separated line (without its newline), as GNU parallel writes it.
    pub(crate) fn line(&self) -> String {
        let start =
            self.start.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        format!(
            "{}\t:\t{:.3}\t{:>10.3}\t{}\t{}\t{}\t{}\t{}",
            self.seq,
            start,
            self.runtime.as_secs_f64(),
            self.send,
            self.receive,
            self.exitval,
            self.signal,
            as_logged(&self.command)
        )
    }
}

/// A command as its log line holds it: one line (newlines become spaces).
/// `--resume` compares this command line's jobs in this form.
pub(crate) fn as_logged(command: &str) -> String {
    command.replace('\n', " ")
}

/// An open job log, written line by line as jobs finish.
#[derive(Debug)]
pub(crate) struct Joblog {
    file: File,
    path: PathBuf,
}

impl Joblog {
    /// Creates (or truncates) the log and writes its header.
    pub(crate) fn create(path: &Path) -> Result<Joblog, JoblogError> {
        let io = |what| move |source| JoblogError::Io { what, path: path.to_owned(), source };
        let mut file = File::create(path).map_err(io("create"))?;
        writeln!(file, "{HEADER}").map_err(io("write"))?;
        Ok(Joblog { file, path: path.to_owned() })
    }

    /// Opens the log to append to it (a header first if it is empty).
    pub(crate) fn append(path: &Path) -> Result<Joblog, JoblogError> {
        let io = |what| move |source| JoblogError::Io { what, path: path.to_owned(), source };
        let mut file =
            OpenOptions::new().create(true).append(true).open(path).map_err(io("open"))?;
        if file.metadata().map_err(io("inspect"))?.len() == 0 {
            writeln!(file, "{HEADER}").map_err(io("write"))?;
        }
        Ok(Joblog { file, path: path.to_owned() })
    }

    /// Writes one finished job.
    pub(crate) fn write(&mut self, entry: &Entry) -> Result<(), JoblogError> {
        writeln!(self.file, "{}", entry.line()).map_err(|source| JoblogError::Io {
            what: "write",
            path: self.path.clone(),
            source,
        })
    }
}

/// What a log says of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Logged {
    /// Whether it exited 0 without a signal.
    pub(crate) succeeded: bool,
    /// Its command.
    pub(crate) command: String,
}

/// Reads a job log: the last entry of each job number. A missing file is an empty log.
pub(crate) fn read(path: &Path) -> Result<HashMap<u64, Logged>, JoblogError> {
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(source) => return Err(JoblogError::Io { what: "read", path: path.to_owned(), source }),
    };
    let malformed = |line, reason: &str| JoblogError::Malformed {
        path: path.to_owned(),
        line,
        reason: reason.to_owned(),
    };
    let mut jobs = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        if index == 0 {
            if line != HEADER {
                return Err(malformed(1, "the first line is not the job log header"));
            }
            continue;
        }
        let fields: Vec<&str> = line.splitn(9, '\t').collect();
        let [seq, _, _, _, _, _, exitval, signal, command] = fields[..] else {
            return Err(malformed(index + 1, "expected 9 tab-separated fields"));
        };
        let number = |text: &str, name: &str| {
            text.trim()
                .parse::<i64>()
                .map_err(|_| malformed(index + 1, &format!("{name} {text:?} is not a number")))
        };
        let seq =
            u64::try_from(number(seq, "Seq")?).map_err(|_| malformed(index + 1, "negative Seq"))?;
        let succeeded = number(exitval, "Exitval")? == 0 && number(signal, "Signal")? == 0;
        jobs.insert(seq, Logged { succeeded, command: command.to_owned() });
    }
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_look_like_gnu_parallel_s() {
        let entry = Entry {
            seq: 2,
            start: SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_875_925_240),
            runtime: Duration::from_millis(1780),
            send: 0,
            receive: 0,
            exitval: -1,
            signal: 15,
            command: "sleep 3".into(),
        };
        assert_eq!(entry.line(), "2\t:\t1795875925.240\t     1.780\t0\t0\t-1\t15\tsleep 3");
    }

    #[test]
    fn a_log_reads_back_and_bad_ones_are_named() {
        let dir = std::env::temp_dir().join(format!("pp-cli-joblog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("log");
        std::fs::write(&path, format!("{HEADER}\n1\t:\t1.000\t     0.100\t0\t0\t0\t0\techo a\n2\t:\t1.000\t     0.100\t0\t0\t1\t0\techo b\n"))
            .expect("write");
        let jobs = read(&path).expect("valid log");
        assert_eq!(jobs[&1], Logged { succeeded: true, command: "echo a".into() });
        assert!(!jobs[&2].succeeded);
        std::fs::write(&path, "not a log\n").expect("write");
        assert!(matches!(read(&path), Err(JoblogError::Malformed { line: 1, .. })));
        std::fs::write(&path, format!("{HEADER}\n1\t:\tx\n")).expect("write");
        assert!(matches!(read(&path), Err(JoblogError::Malformed { line: 2, .. })));
        assert!(read(&dir.join("missing")).expect("missing is empty").is_empty());
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}

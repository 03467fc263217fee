//! `--resume` / `--resume-failed`: which jobs a job log lets this batch
//! skip, after checking the log was written for this command line.

use std::path::Path;

use crate::parallel::job::Job;
use crate::parallel::joblog::{self, JoblogError};
use crate::parallel::template::Template;

/// Which logged jobs to skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skip {
    /// Every job the log lists (`--resume`).
    Logged,
    /// The jobs the log lists as succeeded (`--resume-failed`).
    Succeeded,
}

/// Splits `all` into the jobs to run and the number skipped, as the job log
/// at `path` says. Every logged job must be one of this command line's,
/// with the same command (unless the command uses `{%}`, which varies).
pub(crate) fn resume(
    path: &Path,
    all: Vec<Job>,
    template: &Template,
    skip: Skip,
) -> Result<(Vec<Job>, u64), JoblogError> {
    let logged = joblog::read(path)?;
    let mut seqs: Vec<u64> = logged.keys().copied().collect();
    seqs.sort_unstable();
    for seq in seqs {
        let ours = seq
            .checked_sub(1)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| all.get(i))
            .map(|job| joblog::as_logged(&template.fill(&job.inputs, job.seq, 1).display));
        let entry = &logged[&seq];
        let same = ours.as_ref().is_some_and(|ours| template.uses_slot() || *ours == entry.command);
        if !same {
            return Err(JoblogError::OtherCommandLine {
                path: path.to_owned(),
                seq,
                logged: entry.command.clone(),
                ours: ours.unwrap_or_default(),
            });
        }
    }
    let skipped =
        |job: &Job| logged.get(&job.seq).is_some_and(|l| skip == Skip::Logged || l.succeeded);
    let (skipped, to_run): (Vec<Job>, Vec<Job>) = all.into_iter().partition(skipped);
    Ok((to_run, skipped.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parallel::joblog::HEADER;
    use crate::parallel::template::Mode;

    fn jobs(inputs: &[&str]) -> Vec<Job> {
        inputs.iter().zip(1..).map(|(i, seq)| Job { seq, inputs: vec![(*i).to_owned()] }).collect()
    }

    #[test]
    fn logged_jobs_are_skipped_and_foreign_or_hostile_logs_refused() {
        let dir = std::env::temp_dir().join(format!("pp-cli-resume-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("log");
        let template = Template::parse(&["echo".to_owned()], Mode::Shell);
        let line = |seq: &str, exitval: i32, command: &str| {
            format!("{seq}\t:\t1.000\t     0.100\t0\t0\t{exitval}\t0\t{command}\n")
        };
        std::fs::write(
            &path,
            format!("{HEADER}\n{}{}", line("1", 0, "echo a"), line("2", 1, "echo b")),
        )
        .expect("write");
        let (run, skipped) =
            resume(&path, jobs(&["a", "b", "c"]), &template, Skip::Logged).expect("ours");
        assert_eq!((run.iter().map(|j| j.seq).collect::<Vec<_>>(), skipped), (vec![3], 2));
        let (run, skipped) =
            resume(&path, jobs(&["a", "b", "c"]), &template, Skip::Succeeded).expect("ours");
        assert_eq!((run.iter().map(|j| j.seq).collect::<Vec<_>>(), skipped), (vec![2, 3], 1));
        assert!(matches!(
            resume(&path, jobs(&["a", "x"]), &template, Skip::Logged),
            Err(JoblogError::OtherCommandLine { seq: 2, .. })
        ));
        assert!(matches!(
            resume(&path, jobs(&["a"]), &template, Skip::Logged),
            Err(JoblogError::OtherCommandLine { seq: 2, .. })
        ));
        // A job number no command line has (0) is refused, not a panic.
        std::fs::write(&path, format!("{HEADER}\n{}", line("0", 0, "echo a"))).expect("write");
        assert!(matches!(
            resume(&path, jobs(&["a"]), &template, Skip::Logged),
            Err(JoblogError::OtherCommandLine { seq: 0, .. })
        ));
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}

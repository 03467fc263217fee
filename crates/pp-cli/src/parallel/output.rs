//! Writing jobs' output: whole per job (grouped, GNU's default) or whole
//! lines as they come (`--line-buffer`), with `--tag` prefixes, around the
//! progress bar. Each write holds the stream's lock for a whole job or a
//! whole line, so output of concurrent jobs never mixes inside a line.

use std::io::{BufRead, BufReader, Read, Write};

use indicatif::ProgressBar;

/// Which of pp's streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// stdout.
    Stdout,
    /// stderr.
    Stderr,
}

/// Writes job output to pp's stdout and stderr.
#[derive(Debug, Clone)]
pub(crate) struct Printer {
    tag: bool,
    bar: Option<ProgressBar>,
}

impl Printer {
    /// A printer; `tag` prefixes lines with their job's tag; output waits
    /// for `bar` to step aside.
    pub(crate) fn new(tag: bool, bar: Option<ProgressBar>) -> Printer {
        Printer { tag, bar }
    }

    /// Writes a job's whole output (grouped mode).
    pub(crate) fn job(&self, tag: &str, stdout: &[u8], stderr: &[u8]) {
        self.write(Stream::Stdout, &self.tagged(tag, stdout));
        self.write(Stream::Stderr, &self.tagged(tag, stderr));
    }

    /// Copies `from` to `stream` a whole line at a time until its end
    /// (`--line-buffer`); returns the bytes read.
    pub(crate) fn lines(&self, tag: &str, from: impl Read, stream: Stream) -> u64 {
        let mut reader = BufReader::new(from);
        let mut line = Vec::new();
        let mut total = 0;
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return total,
                Ok(n) => {
                    total += n as u64;
                    self.write(stream, &self.tagged(tag, &line));
                }
            }
        }
    }

    /// `bytes` with every line prefixed by `tag` and a tab, when tagging.
    fn tagged(&self, tag: &str, bytes: &[u8]) -> Vec<u8> {
        if !self.tag || bytes.is_empty() {
            return bytes.to_vec();
        }
        let mut out = Vec::with_capacity(bytes.len() + tag.len() + 1);
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            out.extend_from_slice(tag.as_bytes());
            out.push(b'\t');
            out.extend_from_slice(line);
        }
        out
    }

    /// Writes `bytes` in one go under the stream's lock. A reader that went
    /// away (`| head`) is not an error of the batch: the bytes are dropped.
    fn write(&self, stream: Stream, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let put = || match stream {
            Stream::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(bytes).and_then(|()| out.flush());
            }
            Stream::Stderr => {
                let _ = std::io::stderr().lock().write_all(bytes);
            }
        };
        match &self.bar {
            Some(bar) => bar.suspend(put),
            None => put(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_prefix_every_line() {
        let printer = Printer::new(true, None);
        assert_eq!(printer.tagged("a 1", b"x\ny\nz"), b"a 1\tx\na 1\ty\na 1\tz");
        assert_eq!(printer.tagged("a", b""), b"");
        assert_eq!(Printer::new(false, None).tagged("a", b"x\n"), b"x\n");
    }
}

//! Streams while a process runs: output read as it is written (blocking,
//! async on `futures::executor::block_on`, and with the `tokio` feature on
//! tokio), stdin written interactively, back-pressure with bounded memory,
//! stderr merged into stdout.

use std::io::Write;
use std::time::{Duration, Instant};

use pp_process::{Chunk, Command, Error, Input, Output, OutputReader, ProcessStatus};

use crate::support::{isolated, passes_on_std_spawn, watchdog};

const LIMIT: Duration = Duration::from_secs(120);
const LINES: u64 = 100_000;
const BURSTS: u64 = 10;
const PAUSE: Duration = Duration::from_millis(100);

/// Prints 1..=100,000, one per line, in ten bursts with a pause after each,
/// then waits for its stdin to close before it exits.
fn bursts_then_wait_for_stdin() -> Command {
    let per_burst = LINES / BURSTS;
    Command::shell(format!(
        "i=0; while [ $i -lt {BURSTS} ]; do seq $((i*{per_burst}+1)) $((i*{per_burst}+{per_burst})); \
         sleep {}; i=$((i+1)); done; read _ || true",
        PAUSE.as_secs_f64()
    ))
    .stdin(Input::Piped)
    .stdout(Output::Piped)
}

/// Splits chunks into lines and checks that they count up from 1.
#[derive(Default)]
struct Counter {
    partial: Vec<u8>,
    lines: u64,
    first_at: Option<Instant>,
    last_at: Option<Instant>,
}

impl Counter {
    fn feed(&mut self, bytes: &[u8]) {
        let now = Instant::now();
        self.partial.extend_from_slice(bytes);
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else { return };
        let complete: Vec<u8> = self.partial.drain(..=end).collect();
        for line in complete.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            self.lines += 1;
            let n: u64 = std::str::from_utf8(line).unwrap().parse().unwrap();
            assert_eq!(n, self.lines, "line {} out of order", self.lines);
            self.first_at.get_or_insert(now);
            self.last_at = Some(now);
        }
    }

    /// Every line, in order, arriving over the bursts (not all at the end).
    fn check(&self) {
        assert_eq!(self.lines, LINES, "every line arrived");
        assert!(self.partial.is_empty(), "no half line left: {:?}", self.partial);
        let spread = self.last_at.unwrap() - self.first_at.unwrap();
        // Nine pauses lie between the first line and the last.
        assert!(spread >= PAUSE * 8, "lines arrived as written, over {spread:?}, not at once");
    }
}

#[test]
fn a_hundred_thousand_lines_arrive_in_order_as_written_blocking() {
    watchdog(LIMIT, || {
        let handle = bursts_then_wait_for_stdin().spawn().unwrap();
        let stdin = handle.take_stdin().unwrap();
        let mut reader = handle.take_stdout().unwrap();
        let mut counter = Counter::default();
        while counter.lines < LINES {
            match reader.next_chunk().unwrap() {
                Chunk::Bytes(bytes) => counter.feed(&bytes),
                other => panic!("the stream ended early: {other:?}"),
            }
        }
        counter.check();
        assert!(handle.try_wait().unwrap().is_none(), "read before the child exited");
        drop(stdin);
        assert_eq!(reader.next_chunk().unwrap(), Chunk::End);
        assert_eq!(handle.wait().unwrap().code, Some(0));
    });
}

#[test]
fn a_hundred_thousand_lines_arrive_in_order_as_written_async_on_block_on() {
    watchdog(LIMIT, || {
        futures::executor::block_on(async {
            let handle = bursts_then_wait_for_stdin().spawn().unwrap();
            let stdin = handle.take_stdin().unwrap();
            let mut reader = handle.take_stdout().unwrap();
            let mut counter = Counter::default();
            while counter.lines < LINES {
                match reader.next_chunk_async().await.unwrap() {
                    Chunk::Bytes(bytes) => counter.feed(&bytes),
                    other => panic!("the stream ended early: {other:?}"),
                }
            }
            counter.check();
            assert!(handle.try_wait().unwrap().is_none(), "read before the child exited");
            drop(stdin);
            assert_eq!(reader.next_chunk_async().await.unwrap(), Chunk::End);
            assert_eq!(handle.wait_async().await.unwrap().code, Some(0));
        });
    });
}

#[test]
fn lines_gives_each_line_as_written() {
    watchdog(LIMIT, || {
        let handle = Command::new("seq").arg("1000").stdout(Output::Piped).spawn().unwrap();
        let lines: Vec<String> =
            handle.take_stdout().unwrap().lines().collect::<Result<_, _>>().unwrap();
        let expected: Vec<String> = (1..=1000).map(|n| n.to_string()).collect();
        assert_eq!(lines, expected);
        assert!(handle.wait().unwrap().stdout.is_empty(), "a piped stream is not captured");
    });
}

/// The peak and current resident set of this process, in KiB.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    (field("VmHWM:"), field("VmRSS:"))
}

const SIXTY_FOUR_MIB: u64 = 64 << 20;
const BOUND_KIB: u64 = 32 << 10;

#[test]
fn sixty_four_mib_to_a_slow_reader_neither_deadlocks_nor_grows_memory() {
    // Alone in a process of its own: the peak must be this test's.
    if !isolated("streams::sixty_four_mib_to_a_slow_reader_neither_deadlocks_nor_grows_memory") {
        return;
    }
    watchdog(LIMIT, || {
        let (hwm_before, rss_before) = memory_kib();
        let handle = Command::new("head")
            .args(["-c", &SIXTY_FOUR_MIB.to_string(), "/dev/zero"])
            .stdout(Output::Piped)
            .spawn()
            .unwrap();
        let mut reader = handle.take_stdout().unwrap();
        let mut total = 0u64;
        let mut chunks = 0u64;
        let mut served_meanwhile = false;
        loop {
            match reader.next_chunk().unwrap() {
                Chunk::Bytes(bytes) => total += bytes.len() as u64,
                Chunk::End => break,
                other => panic!("unexpected {other:?}"),
            }
            chunks += 1;
            if chunks.is_multiple_of(64) {
                // Slow: the child waits on the full pipe meanwhile.
                std::thread::sleep(Duration::from_millis(20));
            }
            if !served_meanwhile && total > SIXTY_FOUR_MIB / 2 {
                // The reactor is not held up by this slow reader.
                assert_eq!(handle.status(), ProcessStatus::Running, "the child waits for us");
                let other = Command::new("echo").arg("hi").spawn().unwrap();
                assert_eq!(other.wait().unwrap().stdout_str(), "hi\n");
                served_meanwhile = true;
            }
        }
        let output = handle.wait().unwrap();
        let (hwm_after, rss_after) = memory_kib();
        println!(
            "64 MiB read in {chunks} chunks; VmHWM {hwm_before} -> {hwm_after} KiB, \
             VmRSS {rss_before} -> {rss_after} KiB"
        );
        assert_eq!(total, SIXTY_FOUR_MIB, "every byte arrived");
        assert_eq!(output.code, Some(0));
        assert!(served_meanwhile);
        assert!(hwm_after - hwm_before < BOUND_KIB, "peak memory grew with the stream");
        assert!(rss_after.saturating_sub(rss_before) < BOUND_KIB, "memory grew with the stream");
    });
}

/// Writes `rounds` lines to `cat` one at a time, reading each back before the next.
fn echo_through_cat_blocking(rounds: usize) {
    let handle = Command::new("cat").stdin(Input::Piped).stdout(Output::Piped).spawn().unwrap();
    let mut stdin = handle.take_stdin().unwrap();
    let mut reader = handle.take_stdout().unwrap();
    for round in 0..rounds {
        let line = format!("line {round}\n");
        stdin.write_all(line.as_bytes()).unwrap();
        assert_eq!(read_exactly(&mut reader, line.len()), line.as_bytes());
        assert!(handle.try_wait().unwrap().is_none(), "cat still runs");
    }
    drop(stdin);
    assert_eq!(reader.next_chunk().unwrap(), Chunk::End);
    assert_eq!(handle.wait().unwrap().code, Some(0), "cat exits 0 once its stdin closes");
}

fn read_exactly(reader: &mut OutputReader, len: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < len {
        match reader.next_chunk_timeout(LIMIT).unwrap() {
            Some(Chunk::Bytes(bytes)) => got.extend_from_slice(&bytes),
            other => panic!("expected more after {got:?}: {other:?}"),
        }
    }
    got
}

#[test]
fn stdin_written_interactively_to_cat_comes_back_blocking() {
    watchdog(LIMIT, || echo_through_cat_blocking(100));
}

#[test]
fn stdin_written_interactively_to_cat_comes_back_async_on_block_on() {
    watchdog(LIMIT, || {
        futures::executor::block_on(async {
            let handle =
                Command::new("cat").stdin(Input::Piped).stdout(Output::Piped).spawn().unwrap();
            let mut stdin = handle.take_stdin().unwrap();
            let mut reader = handle.take_stdout().unwrap();
            for round in 0..100 {
                let line = format!("line {round}\n");
                stdin.write_all_async(line.as_bytes()).await.unwrap();
                let mut got = Vec::new();
                while got.len() < line.len() {
                    match reader.next_chunk_async().await.unwrap() {
                        Chunk::Bytes(bytes) => got.extend_from_slice(&bytes),
                        other => panic!("expected more after {got:?}: {other:?}"),
                    }
                }
                assert_eq!(got, line.as_bytes());
            }
            drop(stdin);
            assert_eq!(reader.next_chunk_async().await.unwrap(), Chunk::End);
            assert_eq!(handle.wait_async().await.unwrap().code, Some(0));
        });
    });
}

#[test]
fn a_write_larger_than_the_pipe_waits_for_the_reader() {
    watchdog(LIMIT, || {
        // 1 MiB in one write_all while cat echoes it: neither side deadlocks
        // as long as the other reads.
        let handle = Command::new("cat").stdin(Input::Piped).stdout(Output::Piped).spawn().unwrap();
        let mut stdin = handle.take_stdin().unwrap();
        let mut reader = handle.take_stdout().unwrap();
        let sent: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        let writing = {
            let sent = sent.clone();
            std::thread::spawn(move || stdin.write_all(&sent))
        };
        let mut got = Vec::new();
        loop {
            match reader.next_chunk().unwrap() {
                Chunk::Bytes(bytes) => got.extend_from_slice(&bytes),
                Chunk::End => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        writing.join().unwrap().unwrap();
        assert!(got == sent, "cat gave back what it was given");
        assert_eq!(handle.wait().unwrap().code, Some(0));
    });
}

#[test]
fn a_dropped_reader_does_not_leave_the_child_hanging() {
    watchdog(LIMIT, || {
        let handle = Command::new("yes").stdout(Output::Piped).spawn().unwrap();
        let mut reader = handle.take_stdout().unwrap();
        assert!(matches!(reader.next_chunk().unwrap(), Chunk::Bytes(_)));
        drop(reader);
        let output = handle.wait().unwrap();
        assert_eq!(output.signal, Some(13), "SIGPIPE ended it: {output:?}");
    });
}

#[test]
fn untaken_pipes_of_dropped_handles_are_closed() {
    watchdog(LIMIT, || {
        // Writes more than a pipe holds, so it needs the read end closed (or read) to end.
        let handle = Command::new("yes").stdout(Output::Piped).spawn().unwrap();
        let pid = handle.pid().unwrap();
        drop(handle);
        assert!(crate::support::eventually(LIMIT, || crate::support::is_gone(pid)));
    });
}

#[test]
fn waiting_for_a_chunk_gives_up_at_its_limit() {
    watchdog(LIMIT, || {
        let handle = Command::new("sleep").arg("60").stdout(Output::Piped).spawn().unwrap();
        let mut reader = handle.take_stdout().unwrap();
        assert_eq!(reader.try_next_chunk().unwrap(), None, "nothing written yet");
        let started = Instant::now();
        let limit = Duration::from_millis(200);
        assert_eq!(reader.next_chunk_timeout(limit).unwrap(), None);
        assert!(started.elapsed() >= limit, "waited its limit out");
        assert_eq!(reader.next_chunk_deadline(Instant::now()).unwrap(), None);
        handle.kill().unwrap();
        assert_eq!(reader.next_chunk().unwrap(), Chunk::End, "the killed child's end closed");
    });
}

#[test]
fn stdout_and_stderr_merge_in_the_order_written() {
    watchdog(LIMIT, || {
        let script = "echo out1; echo err1 >&2; echo out2; echo err2 >&2";
        let captured = Command::shell(script).merge_stderr().run().unwrap();
        assert_eq!(captured.stdout_str(), "out1\nerr1\nout2\nerr2\n");
        assert!(captured.stderr.is_empty());

        let handle = Command::shell(script).stdout(Output::Piped).merge_stderr().spawn().unwrap();
        assert!(handle.take_stderr().is_none(), "stderr has no pipe of its own");
        let lines: Vec<String> =
            handle.take_stdout().unwrap().lines().collect::<Result<_, _>>().unwrap();
        assert_eq!(lines, ["out1", "err1", "out2", "err2"]);
        handle.wait().unwrap();

        let err = Command::new("true").stdout(Output::Stdout).run().unwrap_err();
        assert!(matches!(err, Error::InvalidOutput { stream: "stdout", .. }), "{err}");
    });
}

#[test]
fn a_blocking_run_closes_pipes_nobody_can_take() {
    watchdog(LIMIT, || {
        // Nobody can write: cat reads end of file at once.
        let out = Command::new("cat").stdin(Input::Piped).run().unwrap();
        assert_eq!(out.code, Some(0));
        // Nobody can read: yes gets SIGPIPE instead of blocking forever.
        let out = Command::new("yes").stdout(Output::Piped).run().unwrap();
        assert_eq!(out.signal, Some(13));
        // The same awaited.
        futures::executor::block_on(async {
            let out = Command::new("cat").stdin(Input::Piped).run_async().await.unwrap();
            assert_eq!(out.code, Some(0));
            let out = Command::new("yes").stdout(Output::Piped).run_async().await.unwrap();
            assert_eq!(out.signal, Some(13));
        });
    });
}

#[test]
fn the_std_spawn_fallback_passes_the_stream_tests_too() {
    // Where clone3 is missing or filtered, pp spawns through std, whose
    // streams pp-process makes itself (merged stderr included): run this
    // module's tests again that way.
    passes_on_std_spawn("streams::", &[]);
}

#[cfg(feature = "tokio")]
mod on_tokio {
    use std::future::poll_fn;
    use std::pin::Pin;

    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    use super::*;

    async fn read_some(reader: &mut OutputReader, buf: &mut [u8]) -> usize {
        let mut buf = ReadBuf::new(buf);
        poll_fn(|cx| Pin::new(&mut *reader).poll_read(cx, &mut buf)).await.unwrap();
        buf.filled().len()
    }

    #[test]
    fn lines_stream_and_cat_echoes_through_async_read_and_write() {
        watchdog(LIMIT, || {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            runtime.block_on(async {
                let handle = bursts_then_wait_for_stdin().spawn().unwrap();
                let stdin = handle.take_stdin().unwrap();
                let mut reader = handle.take_stdout().unwrap();
                let mut counter = Counter::default();
                let mut buf = vec![0; 64 * 1024];
                while counter.lines < LINES {
                    let n = read_some(&mut reader, &mut buf).await;
                    assert!(n > 0, "the stream ended early");
                    counter.feed(&buf[..n]);
                }
                counter.check();
                assert!(handle.try_wait().unwrap().is_none(), "read before the child exited");
                drop(stdin);
                assert_eq!(read_some(&mut reader, &mut buf).await, 0);
                assert_eq!(handle.wait_async().await.unwrap().code, Some(0));

                let handle =
                    Command::new("cat").stdin(Input::Piped).stdout(Output::Piped).spawn().unwrap();
                let mut stdin = handle.take_stdin().unwrap();
                let mut reader = handle.take_stdout().unwrap();
                for round in 0..100 {
                    let line = format!("line {round}\n");
                    let mut rest = line.as_bytes();
                    while !rest.is_empty() {
                        let n =
                            poll_fn(|cx| Pin::new(&mut stdin).poll_write(cx, rest)).await.unwrap();
                        rest = &rest[n..];
                    }
                    let mut got = Vec::new();
                    while got.len() < line.len() {
                        let n = read_some(&mut reader, &mut buf).await;
                        assert!(n > 0, "cat ended early");
                        got.extend_from_slice(&buf[..n]);
                    }
                    assert_eq!(got, line.as_bytes());
                }
                drop(stdin);
                assert_eq!(read_some(&mut reader, &mut buf).await, 0);
                assert_eq!(handle.wait_async().await.unwrap().code, Some(0));
            });
        });
    }
}

/// Not a test on its own: a program that, unlike Rust's default, takes
/// SIGPIPE's default action (death), writes to the stdin of a child that
/// has exited, and prints what the write returned.
#[test]
fn role_write_to_a_gone_child_with_sigpipe_at_default() {
    if std::env::var_os("PP_TEST_SIGPIPE_ROLE").is_none() {
        return;
    }
    // SAFETY: restoring a signal's default action is sound at any time; no
    // handler is involved.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let handle = Command::new("true").stdin(Input::Piped).spawn().unwrap();
    let mut stdin = handle.take_stdin().unwrap();
    handle.wait().unwrap();
    let written = stdin.write_all(&[7u8; 1 << 16]);
    println!("write: {:?}", written.map_err(|e| e.kind()));
    // Input bytes, fed by the thread that runs the command, to a child that
    // never reads them.
    let out = Command::new("true").input(vec![7u8; 1 << 20]).run().unwrap();
    println!("run: {:?}", out.code);
}

#[test]
fn writing_to_a_gone_child_is_an_error_even_where_sigpipe_kills() {
    watchdog(LIMIT, || {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "streams::role_write_to_a_gone_child_with_sigpipe_at_default",
                "--exact",
                "--nocapture",
            ])
            .env("PP_TEST_SIGPIPE_ROLE", "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "the program died: {:?}\n{text}", out.status);
        assert!(text.contains("write: Err(BrokenPipe)"), "{text}");
        assert!(text.contains("run: Some(0)"), "{text}");
    });
}

#[test]
fn waiting_closes_a_piped_stdin_nobody_took() {
    watchdog(LIMIT, || {
        // `cat` ends only at end of file on its stdin.
        let handle = Command::new("cat").stdin(Input::Piped).spawn().unwrap();
        assert_eq!(handle.wait().unwrap().code, Some(0));
        let handle = Command::new("cat").stdin(Input::Piped).spawn().unwrap();
        let out = futures::executor::block_on(handle.wait_async()).unwrap();
        assert_eq!(out.code, Some(0));
        // A timed wait leaves it for the caller to take.
        let handle = Command::new("cat").stdin(Input::Piped).spawn().unwrap();
        assert!(handle.wait_timeout(Duration::from_millis(50)).unwrap().is_none());
        drop(handle.take_stdin().expect("still there"));
        assert_eq!(handle.wait().unwrap().code, Some(0));
    });
}

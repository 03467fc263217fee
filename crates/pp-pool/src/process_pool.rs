//! A process pool whose workers are fresh copies of this program: a worker
//! that dies fails only its own task and is replaced; running tasks can be
//! cancelled or timed out by stopping their worker.
//!
//! Each worker has a supervisor thread in the pool: it takes the next task
//! from the shared queue, sends it over the worker's socket, and waits for the
//! result in short slices, so it notices a cancel or a timeout while waiting.
//!
//! **Every worker is spawned by its supervisor thread**, the first one too
//! (`with_options` waits for it). A worker asks for SIGKILL when its parent
//! dies (PR_SET_PDEATHSIG), and Linux sends it when the *thread* that forked
//! it exits, not the process: a worker forked by the caller's thread would die
//! when that thread ended, however long the pool lives. Supervisors live as
//! long as the pool, and a panic inside one restarts its loop on the same
//! thread instead of ending it.
//!
//! Durations from callers (task timeouts, the stop grace) may be anything up
//! to `Duration::MAX`: deadlines are `Instant::now().checked_add(d)`, and one
//! that does not fit means "no deadline", never an overflow panic.

use std::collections::VecDeque;
use std::os::fd::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError, unbounded};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{PoolError, TaskError, TaskErrorKind};
use crate::launch::worker_launch;
use crate::remote::{Identity, Key, RemoteFn, WireOutcome};
use crate::task::{CapturedOutput, TaskCell, TaskHandle};
use crate::transport::{Channel, FrameError, deadline_after};
use crate::worker::{FromWorker, HANDSHAKE, ToWorker};

/// How often a supervisor waiting for a result checks for cancel and timeout.
const SLICE: Duration = Duration::from_millis(20);
/// Tasks sent ahead to one worker, at most.
const WINDOW: usize = 32;
/// A task this fast lets its supervisor send the next ones ahead.
const QUICK: Duration = Duration::from_millis(2);
/// How much of a worker's refusal an error shows.
const REASON_SHOWN: usize = 512;

/// How to build a [`ProcessPool`]: `ProcessPoolOptions::default().max_workers(4)`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ProcessPoolOptions {
    /// Worker processes (default: one per CPU).
    pub max_workers: usize,
    /// Replace a worker after it ran this many tasks (default: never).
    pub max_tasks_per_child: Option<usize>,
    /// Runs once in every worker before its first task.
    pub initializer: Option<fn()>,
    /// Time between SIGTERM and SIGKILL when a worker is stopped (default 1 s;
    /// a grace too long to be a deadline, such as `Duration::MAX`, waits for
    /// the worker to exit however long that takes).
    pub grace: Duration,
    /// Where what workers print goes (default: our own stdout and stderr).
    pub output: WorkerOutput,
    /// The worker executable; default (and the only one that passes the
    /// handshake) is this program. Settable to show the refusal of others.
    pub worker_exe: Option<std::path::PathBuf>,
}

impl Default for ProcessPoolOptions {
    fn default() -> Self {
        ProcessPoolOptions {
            max_workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_tasks_per_child: None,
            initializer: None,
            grace: Duration::from_secs(1),
            output: WorkerOutput::Forward,
            worker_exe: None,
        }
    }
}

impl ProcessPoolOptions {
    /// Worker processes.
    pub fn max_workers(mut self, max_workers: usize) -> Self {
        self.max_workers = max_workers;
        self
    }

    /// Replace a worker after it ran this many tasks.
    pub fn max_tasks_per_child(mut self, tasks: usize) -> Self {
        self.max_tasks_per_child = Some(tasks);
        self
    }

    /// Runs once in every worker before its first task.
    pub fn initializer(mut self, initializer: fn()) -> Self {
        self.initializer = Some(initializer);
        self
    }

    /// Time between SIGTERM and SIGKILL when a worker is stopped.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Where what workers print goes.
    pub fn output(mut self, output: WorkerOutput) -> Self {
        self.output = output;
        self
    }

    /// The worker executable (only this program passes the handshake).
    pub fn worker_exe(mut self, exe: impl Into<std::path::PathBuf>) -> Self {
        self.worker_exe = Some(exe.into());
        self
    }
}

/// Where what a worker prints goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkerOutput {
    /// To the pool process's stdout and stderr (the default).
    #[default]
    Forward,
    /// Nowhere.
    Discard,
    /// Captured per task: [`TaskHandle::captured_output`] returns what the
    /// task printed (output printed by a worker between tasks is forwarded).
    CapturePerTask,
}

/// Per-task settings for [`ProcessPool::submit_with`]: `TaskOptions::default().timeout(d)`.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct TaskOptions {
    /// Stop the task (and replace its worker) once it has run this long
    /// (`Duration::MAX`: never; zero: at the first check, a few milliseconds in).
    pub timeout: Option<Duration>,
}

impl TaskOptions {
    /// Stop the task (and replace its worker) once it has run this long.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// The pool's side of a task, with its result type erased.
trait JobCell: Send + Sync {
    fn cell_start(&self) -> bool;
    fn cancelled(&self) -> bool;
    fn timeout(&self) -> Option<Duration>;
    fn finish_wire(&self, outcome: WireOutcome, captured: Option<CapturedOutput>);
    fn fail_kind(&self, kind: TaskErrorKind);
}

impl<R: DeserializeOwned + Send> JobCell for TaskCell<R> {
    fn cell_start(&self) -> bool {
        self.start()
    }

    fn cancelled(&self) -> bool {
        self.is_cancelled()
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    fn finish_wire(&self, outcome: WireOutcome, captured: Option<CapturedOutput>) {
        if let Some(captured) = captured {
            self.set_captured(captured);
        }
        let task_id = self.id;
        self.finish(match outcome {
            WireOutcome::Value(bytes) => postcard::from_bytes(&bytes).map_err(|e| {
                let reason = e.to_string();
                TaskError::new(task_id, TaskErrorKind::Serialization { what: "result", reason })
            }),
            WireOutcome::Panicked(message) => {
                Err(TaskError::new(task_id, TaskErrorKind::Panicked { message }))
            }
            WireOutcome::Serialization { what, reason } => Err(TaskError::new(
                task_id,
                TaskErrorKind::Serialization {
                    what: if what == "argument" { "argument" } else { "result" },
                    reason,
                },
            )),
        });
    }

    fn fail_kind(&self, kind: TaskErrorKind) {
        self.fail(kind);
    }
}

/// A task waiting for a worker. Dropped unrun, it reports itself cancelled.
struct Job {
    cell: Arc<dyn JobCell>,
    function: RemoteFn,
    arg: Vec<u8>,
}

impl Drop for Job {
    fn drop(&mut self) {
        self.cell.fail_kind(TaskErrorKind::Cancelled);
    }
}

/// A pool of worker processes running `fn(A) -> R` tasks.
#[derive(Debug)]
pub struct ProcessPool {
    sender: Mutex<Option<Sender<Job>>>,
    receiver: Receiver<Job>,
    supervisors: Mutex<Vec<JoinHandle<()>>>,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    options: ProcessPoolOptions,
    exe: std::path::PathBuf,
    identity: Identity,
    /// Set by `abort`: running tasks are stopped too.
    stopping: AtomicBool,
    /// Pids of live workers (for tests and for `worker_pids`).
    pids: Mutex<Vec<u32>>,
}

impl ProcessPool {
    /// A pool with `max_workers` workers and default options.
    pub fn new(max_workers: usize) -> Result<ProcessPool, PoolError> {
        ProcessPool::with_options(ProcessPoolOptions {
            max_workers,
            ..ProcessPoolOptions::default()
        })
    }

    /// A pool built from `options`. Starts the first worker now, so a
    /// program that forgot `pp_pool::init()` fails here, not at its first task.
    pub fn with_options(options: ProcessPoolOptions) -> Result<ProcessPool, PoolError> {
        if crate::worker::is_worker() {
            return Err(PoolError::InsideWorker);
        }
        if options.max_workers == 0 {
            return Err(PoolError::NoWorkers);
        }
        let exe = options.worker_exe.clone().unwrap_or_else(|| "/proc/self/exe".into());
        let identity = Identity::of_this_process().map_err(|e| PoolError::WorkerStart {
            exe: exe.display().to_string(),
            reason: e.to_string(),
        })?;
        let shared = Arc::new(Shared {
            options,
            exe,
            identity,
            stopping: AtomicBool::new(false),
            pids: Mutex::new(Vec::new()),
        });
        let (sender, receiver) = unbounded::<Job>();
        let pool = ProcessPool {
            sender: Mutex::new(Some(sender)),
            receiver,
            supervisors: Mutex::new(Vec::new()),
            shared,
        };
        // The first worker is started now (so a program without init() fails
        // here), but by supervisor 0, on the thread that will outlive this call.
        let (started, first) = crossbeam_channel::bounded(1);
        for i in 0..pool.shared.options.max_workers {
            let shared = pool.shared.clone();
            let jobs = pool.receiver.clone();
            let started = (i == 0).then(|| started.clone());
            let thread = std::thread::Builder::new()
                .name(format!("pp-pool-supervisor-{i}"))
                .spawn(move || supervisor_thread(&shared, &jobs, started))
                .map_err(|e| PoolError::WorkerStart {
                    exe: "supervisor thread".into(),
                    reason: e.to_string(),
                })?; // dropping `pool` stops the supervisors started so far
            pool.supervisors.lock().unwrap_or_else(PoisonError::into_inner).push(thread);
            if i == 0 {
                match first.recv() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(e),
                    Err(_) => {
                        return Err(PoolError::WorkerStart {
                            exe: pool.shared.exe.display().to_string(),
                            reason: "the supervisor thread ended before starting a worker".into(),
                        });
                    }
                }
            }
        }
        Ok(pool)
    }

    /// How many workers the pool runs.
    pub fn max_workers(&self) -> usize {
        self.shared.options.max_workers
    }

    /// The pids of the workers alive now.
    pub fn worker_pids(&self) -> Vec<u32> {
        self.shared.pids.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Runs `f(arg)` in a worker. `f` is a plain function or a non-capturing
    /// closure of this program; nothing needs registering.
    pub fn submit<A, R>(&self, f: fn(A) -> R, arg: A) -> Result<TaskHandle<R>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.submit_with(f, arg, TaskOptions::default())
    }

    /// [`submit`](Self::submit) with per-task options (a timeout).
    pub fn submit_with<A, R>(
        &self,
        f: fn(A) -> R,
        arg: A,
        options: TaskOptions,
    ) -> Result<TaskHandle<R>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let cell = TaskCell::<R>::new(options.timeout);
        let handle = TaskHandle::new(cell.clone());
        let arg = match postcard::to_allocvec(&arg) {
            Ok(arg) => arg,
            Err(e) => {
                cell.fail(TaskErrorKind::Serialization { what: "argument", reason: e.to_string() });
                return Ok(handle);
            }
        };
        let job = Job { cell, function: RemoteFn::new(f), arg };
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        let sender = sender.as_ref().ok_or(PoolError::ShutDown)?;
        sender.send(job).map_err(|_| PoolError::ShutDown)?;
        Ok(handle)
    }

    /// Stops accepting tasks; those already submitted still run, then the
    /// workers exit. Returns at once: [`shutdown`](Self::shutdown) also waits.
    pub fn close(&self) {
        self.sender.lock().unwrap_or_else(PoisonError::into_inner).take();
    }

    /// Stops accepting tasks, cancels those not started and stops the running
    /// ones (their workers are stopped: SIGTERM, the grace, SIGKILL); each
    /// result becomes [`TaskErrorKind::Cancelled`]. Returns at once:
    /// [`shutdown_now`](Self::shutdown_now) also waits.
    pub fn abort(&self) {
        self.close();
        self.shared.stopping.store(true, Ordering::Release);
        // Dropping a job unrun reports it cancelled.
        while let Ok(job) = self.receiver.try_recv() {
            drop(job);
        }
    }

    /// [`close`](Self::close), then blocks until every submitted task has
    /// run and every worker has exited.
    pub fn shutdown(&self) {
        self.close();
        self.join();
    }

    /// [`abort`](Self::abort), then blocks until every worker has exited.
    pub fn shutdown_now(&self) {
        self.abort();
        self.join();
    }

    /// Waits for every supervisor thread (each reaps its worker before it ends).
    fn join(&self) {
        let threads =
            std::mem::take(&mut *self.supervisors.lock().unwrap_or_else(PoisonError::into_inner));
        for thread in threads {
            let _ = thread.join();
        }
    }
}

/// Dropping a pool is [`shutdown_now`](ProcessPool::shutdown_now): tasks not
/// finished are cancelled.
impl Drop for ProcessPool {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

/// One worker process and the socket to it. Dropped without `stop` or
/// `retire` (a panicking supervisor), it is killed and reaped all the same.
struct Worker {
    child: Child,
    channel: Channel,
    /// The key the functions sent to this worker are sealed with.
    key: Key,
    /// Functions sealed so far (the initializer, then every task sent).
    sealed: u64,
    tasks_sent: usize,
    tasks_done: usize,
}

impl Worker {
    /// Starts a worker and completes its handshake. Call it only from the
    /// supervisor thread that will own the worker (see the module docs).
    fn start(shared: &Shared) -> Result<Worker, PoolError> {
        let exe = shared.exe.display().to_string();
        let start_error = |reason: String| PoolError::WorkerStart { exe: exe.clone(), reason };
        let (mut channel, theirs) = crate::transport::pair()
            .map_err(|e| start_error(format!("cannot create the worker's socket pair: {e}")))?;
        let key = Key::random().map_err(|e| start_error(format!("no random key: {e}")))?;
        let launch = worker_launch(shared.options.worker_exe.as_deref(), theirs.as_raw_fd());
        let mut command = Command::new(&launch.program);
        command
            .args(&launch.args)
            .envs(launch.env)
            .stdin(Stdio::null())
            // A group of its own: stopping a worker stops what its task started.
            .process_group(0);
        if let Some(name) = launch.arg0 {
            command.arg0(name);
        }
        if shared.options.output == WorkerOutput::Discard {
            command.stdout(Stdio::null()).stderr(Stdio::null());
        } else if launch.quiet_stdout {
            command.stdout(Stdio::null());
        }
        crate::sys::inherit(&mut command, &theirs);
        let spawned = command.spawn();
        drop(theirs); // the child has its copy: its exit is our end of file
        let child = spawned.map_err(|e| start_error(e.to_string()))?;
        let pid = child.id();
        // Only the child we started may answer.
        channel.expect_sender(pid);
        let mut worker = Worker { child, channel, key, sealed: 0, tasks_sent: 0, tasks_done: 0 };
        let started = Instant::now();
        let initializer = shared.options.initializer.map(|f| worker.seal(RemoteFn::nullary(f)));
        let hello = ToWorker::Hello {
            key: worker.key.clone(),
            identity: shared.identity.clone(),
            initializer,
            capture: shared.options.output == WorkerOutput::CapturePerTask,
        };
        let answer = worker
            .channel
            .send(&hello)
            .and_then(|()| worker.channel.recv::<FromWorker>(Some(HANDSHAKE)));
        let refused = match answer {
            Ok(FromWorker::Ready) => match worker.channel.trust_sender() {
                Ok(()) => None,
                Err(error) => Some(PoolError::Transport { pid, error }),
            },
            Ok(FromWorker::Refused { reason }) => {
                let reason = crate::shorten::shorten(&reason, REASON_SHOWN);
                Some(if reason.contains("initializer") {
                    start_error(reason)
                } else {
                    PoolError::NotSameBinary { exe: exe.clone(), reason }
                })
            }
            Ok(other) => Some(start_error(format!("unexpected handshake answer {other:?}"))),
            Err(FrameError::Closed | FrameError::Timeout { .. }) => {
                Some(PoolError::NoHandshake { exe: exe.clone(), waited: started.elapsed() })
            }
            Err(FrameError::WrongSender { expected, found }) => {
                Some(PoolError::ForeignPeer { expected, found })
            }
            Err(error) => Some(PoolError::Transport { pid, error }),
        };
        if let Some(error) = refused {
            stop(&mut worker.child, Duration::ZERO);
            return Err(error);
        }
        shared.pids.lock().unwrap_or_else(PoisonError::into_inner).push(pid);
        tracing::debug!(pid, "pool worker started");
        Ok(worker)
    }

    /// `function` sealed as the next function this worker is sent.
    fn seal(&mut self, function: RemoteFn) -> crate::remote::Sealed {
        let sealed = self.key.seal(self.sealed, function);
        self.sealed += 1;
        sealed
    }

    /// How many more tasks this worker may be sent (`max_tasks_per_child`).
    fn quota(&self, shared: &Shared) -> usize {
        shared
            .options
            .max_tasks_per_child
            .map_or(usize::MAX, |max| max.saturating_sub(self.tasks_sent))
    }

    fn send(&mut self, job: &Job) -> Result<(), FrameError> {
        let function = self.seal(job.function);
        self.channel.send(&ToWorker::Task { function, arg: job.arg.clone() })?;
        self.tasks_sent += 1;
        Ok(())
    }

    /// Stops the worker (SIGTERM to its group, `grace`, SIGKILL) and reaps it.
    fn stop(mut self, shared: &Shared, grace: Duration) -> Option<ExitStatus> {
        let status = stop(&mut self.child, grace);
        self.forget(shared);
        status
    }

    /// Asks the worker to exit after its current task, and reaps it.
    fn retire(mut self, shared: &Shared) {
        let _ = self.channel.send(&ToWorker::Exit);
        let deadline = deadline_after(shared.options.grace);
        while deadline.is_none_or(|deadline| Instant::now() < deadline) {
            if let Ok(Some(_)) = self.child.try_wait() {
                self.forget(shared);
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.stop(shared, shared.options.grace);
    }

    fn forget(&self, shared: &Shared) {
        let pid = self.child.id();
        shared.pids.lock().unwrap_or_else(PoisonError::into_inner).retain(|p| *p != pid);
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Stopped or retired already: reaped, nothing to do. Otherwise (a
        // supervisor unwinding) kill and reap it now: no orphan, no zombie.
        if let Ok(None) = self.child.try_wait() {
            stop(&mut self.child, Duration::ZERO);
        }
    }
}

/// SIGTERM to the worker's group, up to `grace` for it to exit, then SIGKILL; reaps it.
fn stop(child: &mut Child, grace: Duration) -> Option<ExitStatus> {
    let group = rustix::process::Pid::from_raw(child.id() as i32);
    let signal = |sig| {
        if let Some(group) = group {
            let _ = rustix::process::kill_process_group(group, sig);
        }
    };
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    if !grace.is_zero() {
        signal(rustix::process::Signal::TERM);
        let deadline = deadline_after(grace);
        while deadline.is_none_or(|deadline| Instant::now() < deadline) {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    signal(rustix::process::Signal::KILL);
    child.wait().ok()
}

/// The body of supervisor thread: starts the first worker if asked (and
/// reports how that went), then supervises until the pool closes. A panic in
/// `supervise` restarts it here, on the same thread (whose life the workers'
/// parent-death signal is tied to): the pool never loses a supervisor.
fn supervisor_thread(
    shared: &Shared,
    jobs: &Receiver<Job>,
    started: Option<crossbeam_channel::Sender<Result<(), PoolError>>>,
) {
    let mut worker = None;
    if let Some(started) = started {
        match Worker::start(shared) {
            Ok(w) => {
                worker = Some(w);
                let _ = started.send(Ok(()));
            }
            Err(e) => {
                let _ = started.send(Err(e));
                return;
            }
        }
    }
    loop {
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            supervise(shared, jobs, worker.take());
        }));
        match run {
            Ok(()) => return,
            Err(payload) => {
                // Its worker was killed and reaped (Worker's Drop); its tasks
                // in hand reported themselves cancelled (Job's Drop).
                let message = crate::panic_message::panic_message(&*payload);
                tracing::error!(%message, "a pool supervisor panicked; restarting it");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// One supervisor thread: keeps one worker alive and feeds it tasks.
///
/// While tasks are quick, up to [`WINDOW`] are sent ahead (never more than a
/// fair share of the queue), so tiny tasks do not each wait for a round trip;
/// the worker runs them in order and answers each. The oldest
/// unanswered task is the one running. When the worker is lost (it died, or
/// was stopped for a cancel or timeout of the running task), that task alone
/// fails; the ones sent behind it go to the replacement worker.
fn supervise(shared: &Shared, jobs: &Receiver<Job>, mut worker: Option<Worker>) {
    // Sent to the worker, oldest (running) first.
    let mut in_flight: VecDeque<Job> = VecDeque::new();
    // Taken from the queue (or back from a lost worker), not yet sent.
    let mut unsent: VecDeque<Job> = VecDeque::new();
    let mut queue_closed = false;
    let mut front_since = Instant::now();
    // Whether the last task finished within QUICK: only then are tasks sent ahead.
    let mut quick = false;
    loop {
        if shared.stopping.load(Ordering::Acquire) {
            if let Some(w) = worker.take() {
                w.stop(shared, shared.options.grace);
            }
            // Dropping unfinished jobs reports them cancelled.
            in_flight.clear();
            unsent.clear();
            return;
        }
        let quota = worker.as_ref().map_or(usize::MAX, |w| w.quota(shared));
        // Send ahead only while tasks prove quick, and no more than a fair
        // share of the queue: slow tasks must spread over every worker.
        let window = if quick {
            WINDOW
                .min(in_flight.len() + unsent.len() + jobs.len() / shared.options.max_workers)
                .max(1)
        } else {
            1
        };
        while !queue_closed && in_flight.len() + unsent.len() < window.min(quota) {
            let next = if in_flight.is_empty() && unsent.is_empty() {
                crate::next_job::next_job(jobs).ok_or(TryRecvError::Disconnected)
            } else {
                jobs.try_recv()
            };
            let job = match next {
                Ok(job) => job,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    queue_closed = true;
                    break;
                }
            };
            if job.cell.cell_start() {
                unsent.push_back(job);
            }
        }
        if in_flight.is_empty() && unsent.is_empty() {
            if queue_closed {
                break;
            }
            continue;
        }
        let current = match worker.as_mut() {
            Some(w) => w,
            None => match Worker::start(shared) {
                Ok(w) => worker.insert(w),
                Err(e) => {
                    let reason = e.to_string();
                    tracing::error!(%reason, "cannot start a pool worker");
                    if let Some(job) = unsent.pop_front() {
                        job.cell.fail_kind(TaskErrorKind::NoWorker { reason: reason.clone() });
                    }
                    continue;
                }
            },
        };
        while current.quota(shared) > in_flight.len() {
            let Some(job) = unsent.pop_front() else { break };
            if current.send(&job).is_err() {
                unsent.push_front(job);
                break;
            }
            if in_flight.is_empty() {
                front_since = Instant::now();
            }
            in_flight.push_back(job);
        }
        let Some(front) = in_flight.front() else {
            // Nothing could be sent: the worker is gone. Replace it.
            lose_worker(shared, &mut worker, &mut in_flight, &mut unsent, Loss::Died);
            continue;
        };
        match receive(&mut current.channel) {
            Ok(FromWorker::Done(outcome, captured)) => {
                front.cell.finish_wire(outcome, captured);
                in_flight.pop_front();
                quick = front_since.elapsed() < QUICK;
                front_since = Instant::now();
                current.tasks_done += 1;
                if current.quota(shared) == 0
                    && in_flight.is_empty()
                    && let Some(w) = worker.take()
                {
                    w.retire(shared);
                }
            }
            Err(FrameError::Timeout { .. }) => {
                let timed_out =
                    front.cell.timeout().filter(|&limit| front_since.elapsed() >= limit);
                if front.cell.cancelled() {
                    lose_worker(shared, &mut worker, &mut in_flight, &mut unsent, Loss::Cancelled);
                } else if let Some(limit) = timed_out {
                    lose_worker(
                        shared,
                        &mut worker,
                        &mut in_flight,
                        &mut unsent,
                        Loss::TimedOut(limit),
                    );
                }
            }
            Ok(other) => {
                tracing::error!(?other, "unexpected message from a pool worker");
                lose_worker(shared, &mut worker, &mut in_flight, &mut unsent, Loss::Died);
            }
            Err(_) => lose_worker(shared, &mut worker, &mut in_flight, &mut unsent, Loss::Died),
        }
    }
    if let Some(w) = worker {
        w.retire(shared);
    }
}

/// The worker's next message, waiting at most [`SLICE`]. A quick task's
/// answer comes within microseconds, so poll a few times before sleeping in
/// the kernel: a sleeping supervisor costs a wake-up per task.
fn receive(channel: &mut Channel) -> Result<FromWorker, FrameError> {
    for _ in 0..RECEIVE_POLLS {
        match channel.recv::<FromWorker>(Some(Duration::ZERO)) {
            Err(FrameError::Timeout { .. }) => std::thread::yield_now(),
            other => return other,
        }
    }
    channel.recv::<FromWorker>(Some(SLICE))
}

/// Non-blocking polls of a worker's socket before a supervisor sleeps on it.
const RECEIVE_POLLS: u32 = 20;

/// Why a worker is being given up.
enum Loss {
    /// Its socket broke: it died by itself (or was killed from outside).
    Died,
    /// Its running task was cancelled.
    Cancelled,
    /// Its running task ran past its timeout.
    TimedOut(Duration),
}

/// Stops and reaps the worker, fails its running task with the cause, and
/// puts the tasks sent behind it back in front of the unsent ones.
fn lose_worker(
    shared: &Shared,
    worker: &mut Option<Worker>,
    in_flight: &mut VecDeque<Job>,
    unsent: &mut VecDeque<Job>,
    loss: Loss,
) {
    let Some(w) = worker.take() else { return };
    let pid = w.child.id();
    let status = w.stop(shared, shared.options.grace);
    let (code, signal) = (status.and_then(|s| s.code()), status.and_then(|s| s.signal()));
    if let Some(front) = in_flight.pop_front() {
        match loss {
            Loss::Died if !front.cell.cancelled() => {
                tracing::warn!(pid, ?code, ?signal, "pool worker died; replacing it");
                front.cell.fail_kind(TaskErrorKind::WorkerDied { code, signal });
            }
            Loss::TimedOut(limit) => {
                tracing::warn!(pid, ?limit, "task timed out; its worker was stopped");
                front.cell.fail_kind(TaskErrorKind::TaskTimedOut { limit });
            }
            Loss::Died | Loss::Cancelled => {
                tracing::debug!(pid, "running task cancelled; its worker was stopped");
                front.cell.fail_kind(TaskErrorKind::Cancelled);
            }
        }
    }
    while let Some(job) = in_flight.pop_back() {
        unsent.push_front(job);
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("function", &self.function).finish_non_exhaustive()
    }
}

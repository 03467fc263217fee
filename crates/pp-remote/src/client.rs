//! The one thread that owns the async client: a current-thread tokio runtime
//! on a thread of its own. Blocking calls hand it a future and wait for the
//! answer with a deadline, from any thread (an async caller's included:
//! nothing here enters the caller's runtime).

use std::future::Future;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::RemoteError;

/// The client thread's runtime; stopped and joined on drop.
#[derive(Debug)]
pub(crate) struct ClientThread {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ClientThread {
    pub(crate) fn start(name: &str) -> Result<ClientThread, RemoteError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| crate::error::server("starting the client runtime")(&e))?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                // Drives every task spawned on `handle` until stopped;
                // tokio catches a panicking task, so this cannot unwind.
                let _ = runtime.block_on(stopped);
            })
            .map_err(|e| crate::error::server("starting the client thread")(&e))?;
        Ok(ClientThread { handle, stop: Some(stop), thread: Some(thread) })
    }

    pub(crate) fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }

    /// Runs `future` on the client thread and waits for its answer until
    /// `deadline` (`None`: as long as it takes).
    pub(crate) fn call<T, F>(
        &self,
        what: &'static str,
        deadline: Option<Instant>,
        future: F,
    ) -> Result<T, RemoteError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, RemoteError>> + Send + 'static,
    {
        let (answer, answered) = mpsc::sync_channel(1);
        let started = Instant::now();
        let task = self.handle.spawn(async move {
            let _ = answer.send(future.await);
        });
        let received = match deadline {
            None => answered.recv().map_err(|_| RemoteError::ClientGone),
            Some(deadline) => {
                let wait = deadline.saturating_duration_since(Instant::now());
                answered.recv_timeout(wait).map_err(|e| match e {
                    mpsc::RecvTimeoutError::Timeout => {
                        RemoteError::Timeout { what, waited: started.elapsed() }
                    }
                    mpsc::RecvTimeoutError::Disconnected => RemoteError::ClientGone,
                })
            }
        };
        if received.is_err() {
            task.abort(); // nobody waits for it any more
        }
        received?
    }
}

impl Drop for ClientThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

/// `now + wait`, or `None` when that does not fit (no deadline).
pub(crate) fn deadline_after(wait: Duration) -> Option<Instant> {
    Instant::now().checked_add(wait)
}

//! A thread of its own for SQLite's hot write transactions.
//!
//! SQLite has one writer at a time, so the time a transaction holds the
//! writer's turn bounds every write. Each statement is a round trip to the
//! connection's worker thread, and on the shared runtime the transaction's
//! task then waits behind every session's work before it sends the next:
//! under load most of a turn went in those waits. Run on a runtime that has
//! nothing else to do, the task goes on as soon as each answer comes.

use std::future::Future;

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

use super::{Result, StoreError};

/// The thread's runtime; dropping this stops the thread.
pub(super) struct WriterThread {
    runtime: Handle,
    _stop: oneshot::Sender<()>,
}

impl WriterThread {
    pub(super) fn start() -> std::io::Result<WriterThread> {
        let runtime = Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("postino-writer".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        Ok(WriterThread {
            runtime: handle,
            _stop: stop,
        })
    }

    /// Starts a task on the thread.
    pub(super) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.runtime.spawn(task);
    }

    /// Runs `work` on the thread and returns its result.
    pub(super) async fn run<T, F>(&self, work: F) -> Result<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        match self.runtime.spawn(work).await {
            Ok(result) => result,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(_) => Err(StoreError::WriterGone),
        }
    }
}

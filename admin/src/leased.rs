//! Work that runs now and then on one node at a time: the one holding the
//! work's lease in the store when its turn comes. A node that stops holds
//! the lease no longer than one interval, and another takes over.

use std::future::Future;
use std::time::Duration;

use postino_common::store::{Store, holder_name, now};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Runs `work` every `every`, from the first tick on, while this node
/// holds the lease `lease`.
pub fn spawn<F, Fut>(
    store: Store,
    hostname: &str,
    lease: &'static str,
    every: Duration,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
    work: F,
) where
    F: Fn(Store) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let holder = holder_name(hostname);
    tracker.spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            let until = now() + every.as_secs() as i64;
            match store.take_lease(lease, &holder, until).await {
                Ok(true) => work(store.clone()).await,
                Ok(false) => tracing::debug!(lease, "another node holds the lease"),
                Err(err) => tracing::warn!(lease, error = %err, "cannot take the lease"),
            }
        }
    });
}

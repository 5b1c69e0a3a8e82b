//! The sweep that empties Junk and Trash of messages kept longer than
//! their domain's retention (`[antispam] junk_retention`, or the domain's
//! own). It runs every hour (more often for a retention under ten hours),
//! on the one node that holds the sweep's lease at that moment.

use std::time::Duration;

use postino_common::store::{Store, now};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The lease's name in the store.
const LEASE: &str = "junk-expiry";
/// The longest wait between sweeps.
const MOST_EVERY: Duration = Duration::from_secs(3600);

/// How often to sweep for `retention`: a tenth of it, from a second to an
/// hour, so that nothing stays much longer than it should; hourly with no
/// configured retention, for the domains that have their own.
fn sweep_every(retention: Duration) -> Duration {
    if retention.is_zero() {
        return MOST_EVERY;
    }
    (retention / 10).clamp(Duration::from_secs(1), MOST_EVERY)
}

/// Starts the sweep; `retention` is the configured one, zero for none.
pub fn spawn(
    store: Store,
    hostname: &str,
    retention: Duration,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    let every = sweep_every(retention);
    crate::leased::spawn(
        store,
        hostname,
        LEASE,
        every,
        shutdown,
        tracker,
        move |store| async move { sweep(&store, retention).await },
    );
}

/// One pass over the Junk and Trash folders with something to expire.
async fn sweep(store: &Store, retention: Duration) {
    let configured = retention.as_secs() as i64;
    let now = now();
    let folders = match store.expiring_folders(configured, now).await {
        Ok(folders) => folders,
        Err(err) => {
            tracing::warn!(error = %err, "cannot list Junk and Trash folders");
            return;
        }
    };
    let mut expunged = 0;
    for folder in folders {
        match store
            .expire(folder.folder_id, now - folder.keep(configured))
            .await
        {
            Ok(count) => expunged += count,
            Err(err) => {
                tracing::warn!(folder_id = folder.folder_id, error = %err, "cannot expire old messages");
            }
        }
    }
    if expunged > 0 {
        tracing::info!(expunged, "expunged old messages from Junk and Trash");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_come_often_enough_and_no_more() {
        let day = Duration::from_secs(86_400);
        assert_eq!(sweep_every(day * 30), MOST_EVERY);
        assert_eq!(
            sweep_every(Duration::from_secs(600)),
            Duration::from_secs(60)
        );
        assert_eq!(sweep_every(Duration::from_secs(3)), Duration::from_secs(1));
        assert_eq!(sweep_every(Duration::ZERO), MOST_EVERY);
    }
}

//! The collector of message bodies kept outside the database (see
//! `postino_common::blobs`): every hour it deletes the bodies freed longer
//! ago than `[blobs] gc_grace`, and once a day the orphans older than it,
//! bodies no row names, which a crash between writing a body and
//! committing its row leaves. Each runs on one node at a time.

use std::time::Duration;

use postino_common::blobs::Target;
use postino_common::store::Store;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// Starts the collector, unless bodies are kept in the database.
pub fn spawn(
    store: Store,
    hostname: &str,
    grace: Duration,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    let grace = grace.as_secs();
    // Bodies moved out of the database may still be in the trash.
    crate::leased::spawn(
        store.clone(),
        hostname,
        "blob-trash",
        HOUR,
        shutdown.clone(),
        tracker,
        move |store| async move {
            match store.empty_blob_trash(grace).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "deleted bodies no message uses"),
                Err(err) => tracing::warn!(error = %err, "cannot empty the body trash"),
            }
        },
    );
    if store.blobs().target() == Target::Database {
        return;
    }
    crate::leased::spawn(
        store,
        hostname,
        "blob-orphans",
        DAY,
        shutdown,
        tracker,
        move |store| async move {
            match store.collect_orphan_blobs(grace).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "deleted orphaned bodies"),
                Err(err) => tracing::warn!(error = %err, "cannot collect orphaned bodies"),
            }
        },
    );
}

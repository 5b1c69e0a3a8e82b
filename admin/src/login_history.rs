//! Writes the users' logins the authenticator noted in memory to the
//! store, every second and once more at shutdown, so that no login waits
//! on a store write (see `auth::LoginLog`).

use std::time::Duration;

use postino_common::auth::Authenticator;
use postino_common::store::Store;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How often the noted logins are written.
const EVERY: Duration = Duration::from_secs(1);

pub fn spawn(
    auth: Authenticator,
    store: Store,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    tracker.spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        loop {
            let stopping = tokio::select! {
                _ = shutdown.cancelled() => true,
                _ = ticks.tick() => false,
            };
            if let Err(err) = auth.login_log().flush(&store).await {
                tracing::warn!(error = %err, "cannot write the users' login history");
            }
            if stopping {
                return;
            }
        }
    });
}

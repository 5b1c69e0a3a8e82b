//! The admin HTTP service. For now it serves `/healthz`; the JSON API, the
//! console and client autoconfiguration come with their own issue.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use postino_common::store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub fn spawn(
    listeners: Vec<TcpListener>,
    store: Store,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    let app = Router::new()
        .route("/healthz", get(healthz))
        .with_state(store);
    for listener in listeners {
        let app = app.clone();
        let stop = shutdown.clone();
        tracker.spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
            if let Err(err) = served {
                tracing::error!(error = %err, "admin HTTP listener failed");
            }
        });
    }
}

/// 200 when the store answers, 503 when it does not.
async fn healthz(State(store): State<Store>) -> (StatusCode, &'static str) {
    match store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n"),
        Err(err) => {
            tracing::warn!(error = %err, "health check: store unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unreachable\n")
        }
    }
}

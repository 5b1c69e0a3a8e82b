//! The admin HTTP service: `/healthz` and client autoconfiguration
//! (`autoconfig`); the JSON API and the console come with their own issue.

mod autoconfig;
mod error;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use postino_common::store::Store;
use postino_config::Config;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::autoconfig::ClientSettings;

/// What the handlers share; each takes the part it needs.
#[derive(Clone)]
struct AppState {
    store: Store,
    clients: Arc<ClientSettings>,
}

impl FromRef<AppState> for Store {
    fn from_ref(state: &AppState) -> Store {
        state.store.clone()
    }
}

impl FromRef<AppState> for Arc<ClientSettings> {
    fn from_ref(state: &AppState) -> Arc<ClientSettings> {
        Arc::clone(&state.clients)
    }
}

pub fn spawn(
    listeners: Vec<TcpListener>,
    store: Store,
    config: &Config,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    let state = AppState {
        store,
        clients: Arc::new(ClientSettings::from_config(config)),
    };
    let autodiscover =
        post(autoconfig::autodiscover).layer(DefaultBodyLimit::max(autoconfig::MAX_REQUEST_BODY));
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/.well-known/autoconfig/mail/config-v1.1.xml",
            get(autoconfig::thunderbird),
        )
        .route("/mail/config-v1.1.xml", get(autoconfig::thunderbird))
        .route("/autodiscover/autodiscover.xml", autodiscover.clone())
        .route("/Autodiscover/Autodiscover.xml", autodiscover)
        .with_state(state);
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

//! The admin HTTP service, on `[admin] listen` (HTTPS when `[tls]` names
//! certificates): the JSON API (`api`), `/healthz`, `/metrics`, client
//! autoconfiguration (`autoconfig`) and hosted domains' MTA-STS policies. Who is calling is worked out once, in
//! `principal`; what they may do is the ops layer's business.

mod api;
mod autoconfig;
mod console;
mod cookie;
mod error;
mod listener;
mod login;
mod metrics;
mod principal;
mod xml;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use postino_common::auth::Authenticator;
use postino_common::store::Store;
use postino_config::{Config, SieveConfig};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::autoconfig::ClientSettings;
use self::error::HttpError;
use crate::ops::{Publishing, served_policy};

pub(crate) use self::api::REQUEST_BODIES;
pub(crate) use self::autoconfig::autodiscover_request;

/// What the handlers share; each takes the part it needs.
#[derive(Clone)]
pub(crate) struct AppState {
    store: Store,
    auth: Authenticator,
    clients: Arc<ClientSettings>,
    metrics: Arc<metrics::Exporter>,
    /// Whether the service runs on TLS, so cookies get `Secure`.
    secure_cookies: bool,
    /// The mail server the DNS records and MTA-STS policies name.
    publishing: Arc<Publishing>,
    /// `[sieve]`: the bounds of the script the out-of-office and
    /// forwarding settings generate.
    sieve: Arc<SieveConfig>,
}

/// What `postino serve` hands the service.
pub struct Setup<'a> {
    pub config: &'a Config,
    pub store: Store,
    pub auth: Authenticator,
    pub recorder: PrometheusHandle,
    /// Present when `[tls]` names certificates: then the service is HTTPS.
    pub tls: Option<TlsAcceptor>,
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

/// The whole service's routes.
fn router(state: AppState) -> Router {
    let autodiscover =
        post(autoconfig::autodiscover).layer(DefaultBodyLimit::max(autoconfig::MAX_REQUEST_BODY));
    let (api, _) = api::router();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::render))
        .route(
            "/.well-known/autoconfig/mail/config-v1.1.xml",
            get(autoconfig::thunderbird),
        )
        .route("/mail/config-v1.1.xml", get(autoconfig::thunderbird))
        .route("/.well-known/mta-sts.txt", get(mta_sts_policy))
        .route("/autodiscover/autodiscover.xml", autodiscover.clone())
        .route("/Autodiscover/Autodiscover.xml", autodiscover)
        .merge(api)
        .merge(console::router())
        .with_state(state)
}

pub fn spawn(
    listeners: Vec<TcpListener>,
    setup: Setup<'_>,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    let state = AppState {
        store: setup.store,
        auth: setup.auth,
        clients: Arc::new(ClientSettings::from_config(setup.config)),
        metrics: Arc::new(metrics::Exporter::new(setup.recorder, setup.config)),
        secure_cookies: setup.tls.is_some(),
        publishing: Arc::new(Publishing::from_config(setup.config)),
        sieve: Arc::new(setup.config.sieve.clone()),
    };
    let app = router(state);
    for listener in listeners {
        tracker.spawn(listener::serve(
            listener,
            app.clone(),
            setup.tls.clone(),
            shutdown.clone(),
            tracker.clone(),
        ));
    }
}

/// The MTA-STS policy of the hosted domain whose `mta-sts.` name is the
/// request's host (RFC 8461 §3.3); 404 for any other host.
async fn mta_sts_policy(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default();
    match served_policy(&state.store, &state.publishing, host).await? {
        Some(policy) => Ok(([(header::CONTENT_TYPE, "text/plain")], policy).into_response()),
        None => Err(HttpError::not_found("not found")),
    }
}

/// 200 when the store answers, 503 when it does not.
/// How long the health check waits for the store: a load balancer asking
/// wants an answer within its own timeout, not the pool's 30 s.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

async fn healthz(State(store): State<Store>) -> (StatusCode, &'static str) {
    match tokio::time::timeout(HEALTH_TIMEOUT, store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ok\n"),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "health check: store unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unreachable\n")
        }
        Err(_) => {
            tracing::warn!(timeout = ?HEALTH_TIMEOUT, "health check: store did not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "store unreachable\n")
        }
    }
}

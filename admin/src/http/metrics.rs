//! `/metrics`: the process's metrics in the Prometheus text exposition
//! format, for clients in `[admin] metrics_allow` (others get 403).
//!
//! Counters, gauges and histograms are recorded where things happen, by
//! each crate (`postino_common::metrics`, `postino_smtp::metrics`,
//! `postino_imap::metrics`, `postino_managesieve::SESSIONS`), into the recorder `postino serve` installs and
//! hands over here. The queue gauges alone are read from the store, with
//! one query at each scrape: the queue is shared by every node, so no node
//! could count it on its own.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use metrics::{Unit, describe_gauge, gauge};
use metrics_exporter_prometheus::PrometheusHandle;
use postino_common::store::{Store, now};
use postino_config::Config;

use super::AppState;

/// Messages waiting in the queue.
const QUEUE_MESSAGES: &str = "postino_queue_messages";
/// How long the oldest of them has waited.
const QUEUE_OLDEST_AGE: &str = "postino_queue_oldest_age_seconds";

/// The text exposition format, version 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What `/metrics` needs: the recorder's handle and who may read it.
pub(super) struct Exporter {
    handle: PrometheusHandle,
    allow: Vec<IpNet>,
}

impl Exporter {
    pub(super) fn new(handle: PrometheusHandle, config: &Config) -> Exporter {
        describe_gauge!(
            QUEUE_MESSAGES,
            "Messages in the outbound queue with a recipient still to try"
        );
        describe_gauge!(
            QUEUE_OLDEST_AGE,
            Unit::Seconds,
            "Age of the oldest message in the outbound queue (0 when it is empty)"
        );
        Exporter {
            handle,
            allow: config.admin.metrics_allow.clone(),
        }
    }

    fn allows(&self, peer: IpAddr) -> bool {
        // An IPv4 client of an IPv6 socket shows as ::ffff:a.b.c.d.
        let peer = peer.to_canonical();
        self.allow.iter().any(|net| net.contains(&peer))
    }
}

impl FromRef<AppState> for Arc<Exporter> {
    fn from_ref(state: &AppState) -> Arc<Exporter> {
        Arc::clone(&state.metrics)
    }
}

/// `GET /metrics`.
pub(super) async fn render(
    State(exporter): State<Arc<Exporter>>,
    State(store): State<Store>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    if !exporter.allows(peer.ip()) {
        tracing::debug!(%peer, "metrics refused: the client is not in admin.metrics_allow");
        return (StatusCode::FORBIDDEN, "forbidden\n").into_response();
    }
    refresh_queue_gauges(&store).await;
    let text = exporter.handle.render();
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
}

/// Sets the queue gauges from the store. If it does not answer, the rest
/// is still worth a scrape, and the gauges keep their last values.
async fn refresh_queue_gauges(store: &Store) {
    match store.queue_stats().await {
        Ok(stats) => {
            let age = stats
                .oldest_created_at
                .map_or(0, |created| now().saturating_sub(created).max(0));
            gauge!(QUEUE_MESSAGES).set(stats.messages as f64);
            gauge!(QUEUE_OLDEST_AGE).set(age as f64);
        }
        Err(err) => {
            tracing::warn!(error = %err, "metrics: cannot read the queue; its gauges keep their last values");
        }
    }
}

#[cfg(test)]
mod tests {
    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::*;

    #[test]
    fn only_listed_networks_may_read() {
        let handle = PrometheusBuilder::new().build_recorder().handle();
        let mut config = Config::default();
        config.admin.metrics_allow = vec![
            "127.0.0.0/8".parse().expect("a network"),
            "2001:db8::/32".parse().expect("a network"),
        ];
        let exporter = Exporter::new(handle, &config);
        let ip = |text: &str| text.parse::<IpAddr>().expect("an address");
        assert!(exporter.allows(ip("127.0.0.1")));
        assert!(exporter.allows(ip("127.9.8.7")));
        assert!(exporter.allows(ip("::ffff:127.0.0.1")), "IPv4-mapped");
        assert!(exporter.allows(ip("2001:db8::1")));
        assert!(!exporter.allows(ip("192.0.2.1")));
        assert!(!exporter.allows(ip("::1")));
    }
}

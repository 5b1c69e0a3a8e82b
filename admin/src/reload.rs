//! `systemctl reload`: on SIGHUP, `postino serve` reads its TLS certificate
//! and key again, so that a renewed certificate is presented without a
//! restart. Open sessions go on with the certificate they started with; a
//! pair that cannot be used is logged and the current one kept. Nothing
//! else is reread: the configuration file is read once, at start.

use postino_common::tls::ServerTls;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// SIGHUP, registered at start-up: unhandled, it would end the process.
pub struct Hangups(Signal);

impl Hangups {
    pub fn listen() -> anyhow::Result<Self> {
        use anyhow::Context;
        Ok(Self(
            signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?,
        ))
    }
}

/// Reloads `tls` at every SIGHUP until shutdown.
pub fn spawn(
    mut hangups: Hangups,
    tls: ServerTls,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    tracker.spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                received = hangups.0.recv() => if received.is_none() { return },
            }
            let reloading = tls.clone();
            // File reads, and maybe a key generated: off the runtime.
            match tokio::task::spawn_blocking(move || reloading.reload()).await {
                Ok(Ok(cert)) => {
                    tracing::info!(cert = %cert.display(), "reloaded the TLS certificate")
                }
                Ok(Err(err)) => tracing::error!(
                    error = %format_args!("{:#}", anyhow::Error::new(err)),
                    "cannot reload the TLS certificate; keeping the current one"
                ),
                Err(err) => tracing::error!(error = %err, "the TLS reload failed"),
            }
        }
    });
}

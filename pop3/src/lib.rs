//! POP3 (RFC 1939) for the clients that download mail from INBOX: CAPA
//! (RFC 2449), STLS (RFC 2595), SASL PLAIN (RFC 5034), UIDL and TOP, on
//! `[pop3] listen` (STLS) and `listen_tls` (implicit TLS). Shaped like the
//! `managesieve` crate: [`proto`] turns lines into commands and replies
//! into bytes, with no I/O, so that it is unit-tested and fuzzed alone;
//! `connection` owns a socket and its buffers; `session` runs one
//! client's conversation, a file per group of commands; `error` is the one
//! mapping from failures to `-ERR` lines.
//!
//! The maildrop is INBOX as the store keeps it for IMAP: a snapshot taken
//! at login, read with the store's own listing and body reads; RETR marks
//! `\Seen` and QUIT expunges what DELE marked, through the store's flag
//! and expunge operations, so IMAP sessions on the same mailbox see both.
//! Logins go through the shared authenticator, throttled and logged as
//! IMAP's are.

mod connection;
mod error;
pub mod metrics;
pub mod proto;
mod session;

use std::sync::Arc;
use std::time::Duration;

use postino_common::auth::Authenticator;
use postino_common::listener::{self, Accepted, ConnectionLimits, Service};
use postino_common::store::Store;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use connection::Connection;
use proto::{Code, Reply};
use session::{MAX_LINE, Session};

#[derive(Debug, Clone)]
pub struct Settings {
    pub limits: ConnectionLimits,
    /// How long a silent client is kept.
    pub idle_timeout: Duration,
    /// Failed or bad commands before the session is closed.
    pub max_errors: u32,
    /// Allow USER/PASS and AUTH without TLS: only for listeners on a
    /// trusted network.
    pub allow_plaintext_auth: bool,
}

/// What every session shares.
pub struct Context {
    pub settings: Settings,
    pub store: Store,
    pub auth: Authenticator,
    pub tls: TlsAcceptor,
}

/// Starts serving on `plain` (STLS) and `implicit_tls` listeners until
/// `shutdown`.
pub fn spawn(
    plain: Vec<TcpListener>,
    implicit_tls: Vec<TcpListener>,
    context: Arc<Context>,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    let service = Service {
        limits: context.settings.limits,
        tls: context.tls.clone(),
        handshake_timeout: context.settings.idle_timeout,
        sessions: &metrics::SESSIONS,
        span: |incoming| tracing::info_span!("pop3", session = %incoming.id, peer = %incoming.peer),
    };
    listener::spawn_service(
        service,
        plain,
        implicit_tls,
        context,
        &shutdown,
        tracker,
        serve,
    );
}

async fn serve(
    accepted: Accepted,
    context: Arc<Context>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let mut conn = Connection::new(accepted.stream, MAX_LINE);
    if !accepted.admitted {
        let refused = Reply::err("Too many connections, try again later.").code(Code::SysTemp);
        conn.send(&refused);
        return conn.flush().await;
    }
    Session::new(&context, conn, accepted.peer, &shutdown)
        .run()
        .await
}

//! The IMAP service: IMAP4rev2 and IMAP4rev1 on `listen` (STARTTLS) and
//! `listen_tls` (implicit TLS), over the shared store.
//!
//! `proto` is the protocol as bytes (framing, decoding, encoding);
//! `connection` owns a socket and its buffers; `session` runs one client's
//! conversation, a file per group of commands; `search` is the pure
//! matching SEARCH uses, `sort` and `thread` the pure ordering of SORT and
//! THREAD; `metrics` counts sessions.

mod connection;
mod error;
pub mod metrics;
pub mod proto;
pub mod search;
mod session;
pub mod sort;
pub mod thread;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use postino_common::auth::Authenticator;
use postino_common::listener::{self, Accepted, ConnectionLimits, Service};
use postino_common::store::Store;
use postino_common::stream::Stream;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use connection::Connection;
use proto::Limits;
use session::{End, Session};

#[derive(Debug, Clone)]
pub struct Settings {
    pub limits: ConnectionLimits,
    /// How long a silent client is kept, in IDLE too.
    pub idle_timeout: Duration,
    /// The largest message APPEND takes (APPENDLIMIT).
    pub max_message_size: u64,
    /// Failed or bad commands before the session is closed.
    pub max_errors: u32,
    /// Allow LOGIN and AUTHENTICATE without TLS: only for listeners on a
    /// trusted network.
    pub allow_plaintext_auth: bool,
    /// Record what COPY and MOVE into and out of Junk teach rspamd, for
    /// the learning workers (an rspamd controller is configured).
    pub spam_learning: bool,
}

/// What every session shares.
pub struct Context {
    pub settings: Settings,
    pub store: Store,
    pub auth: Authenticator,
    pub tls: TlsAcceptor,
}

/// Starts serving on `plain` (STARTTLS) and `implicit_tls` listeners until
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
        span: |incoming| tracing::info_span!("imap", session = %incoming.id, peer = %incoming.peer),
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
    if !accepted.admitted {
        let mut conn = Connection::new(accepted.stream, limits(&context));
        let bye = proto::Status::bye("Too many connections, try again later");
        conn.send(&proto::Response::Untagged(bye), false);
        return conn.flush().await;
    }
    converse(accepted.stream, accepted.peer, &context, &shutdown).await
}

/// Runs one client's session over `stream`, from the greeting to the end:
/// a socket's, or an in-memory pipe's in the transcript tests.
pub async fn converse(
    stream: Stream,
    peer: IpAddr,
    context: &Context,
    shutdown: &CancellationToken,
) -> std::io::Result<()> {
    let conn = Connection::new(stream, limits(context));
    match Session::new(context, conn, peer, shutdown).run().await {
        Ok(()) | Err(End::Closed) => Ok(()),
        Err(End::Io(err)) => Err(err),
    }
}

fn limits(context: &Context) -> Limits {
    Limits {
        max_append_literal: context.settings.max_message_size,
        ..Limits::default()
    }
}

//! ManageSieve (RFC 5804), the protocol mail clients (Thunderbird's Sieve
//! add-on, Roundcube's managesieve plugin, `sieve-connect`) use to upload,
//! list and activate a mailbox's Sieve scripts. Shaped like the `smtp` and
//! `imap` crates: [`proto`] turns bytes into commands and responses into
//! bytes, with no I/O, so that it is unit-tested and fuzzed alone;
//! `connection` owns a socket and its buffers; `session` runs one client's
//! conversation, a file per group of commands; `error` is the one mapping
//! from failures to responses.
//!
//! Scripts are checked before they are stored as `postino sieve put`
//! checks them (`postino_common::sieve`); logins go through the shared
//! authenticator, throttled and logged as IMAP's are.

mod connection;
mod error;
pub mod proto;
mod session;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use postino_common::auth::Authenticator;
use postino_common::listener::{self, Accepted, ConnectionLimits, Service};
use postino_common::metrics::SessionCounters;
use postino_common::store::Store;
use postino_common::stream::Stream;
use postino_config::SieveConfig;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use connection::Connection;
use proto::{Code, Response};
use session::Session;

/// ManageSieve connections accepted and open now; `postino serve`
/// describes them.
pub const SESSIONS: SessionCounters = SessionCounters {
    total: "postino_managesieve_sessions_total",
    open: "postino_managesieve_sessions_open",
    protocol: "ManageSieve",
};

#[derive(Debug, Clone)]
pub struct Settings {
    pub limits: ConnectionLimits,
    /// How long a silent client is kept.
    pub idle_timeout: Duration,
    /// Failed or bad commands before the session is closed.
    pub max_errors: u32,
    /// Allow AUTHENTICATE without TLS: only for listeners on a trusted
    /// network.
    pub allow_plaintext_auth: bool,
    /// `[sieve]`: the sizes scripts may have, and what they are compiled
    /// with.
    pub scripts: SieveConfig,
}

/// What every session shares.
pub struct Context {
    pub settings: Settings,
    pub store: Store,
    pub auth: Authenticator,
    pub tls: TlsAcceptor,
}

/// Starts serving on `listeners` (cleartext, with STARTTLS) until
/// `shutdown`.
pub fn spawn(
    listeners: Vec<TcpListener>,
    context: Arc<Context>,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    let service = Service {
        limits: context.settings.limits,
        tls: context.tls.clone(),
        handshake_timeout: context.settings.idle_timeout,
        sessions: &SESSIONS,
        span: |incoming| tracing::info_span!("managesieve", session = %incoming.id, peer = %incoming.peer),
    };
    listener::spawn_service(
        service,
        listeners,
        Vec::new(),
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
        let mut conn = Connection::new(accepted.stream, session::limits(&context.settings));
        let bye = Response::bye("Too many connections, try again later").code(Code::TryLater);
        conn.send(&bye);
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
    let conn = Connection::new(stream, session::limits(&context.settings));
    Session::new(context, conn, peer, shutdown).run().await
}

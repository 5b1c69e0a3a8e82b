//! The SMTP service: inbound MX, submission (STARTTLS, RFC 6409) and
//! submissions (implicit TLS, RFC 8314), delivering local mail into the
//! store and queueing the rest for the outbound queue.
//!
//! `proto` is the protocol as bytes; `connection` owns a socket and its
//! buffers; `session` runs one client's conversation, a file per verb group;
//! `error` turns what goes wrong into replies;
//! `session/deliver` turns an accepted message into a stored one, after
//! `scan` has had rspamd look at it and `filter` has run the recipients'
//! Sieve scripts; `metrics` counts sessions, messages,
//! refusals, verdicts and delivery attempts.

pub mod authres;
mod connection;
pub mod dnsbl;
mod error;
pub mod filter;
mod header;
pub mod metrics;
mod mta_sts;
pub mod outbound;
mod poll;
pub mod proto;
pub mod scan;
mod session;
pub mod srs;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use postino_common::auth::Authenticator;
use postino_common::listener::{self, ConnectionLimits, Incoming, Limiter};
use postino_common::store::Store;
use postino_common::stream::Stream;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// What a listener is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerKind {
    /// Mail from other servers: local recipients only, no AUTH.
    Mx,
    /// Submission with STARTTLS: authenticated users only.
    Submission,
    /// Submission with implicit TLS.
    Submissions,
}

impl ListenerKind {
    fn is_submission(self) -> bool {
        self != ListenerKind::Mx
    }
}

/// How long a client may take. Every wait for it ends at the first of these
/// limits that applies, and the session with `421 4.4.2`.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Silence: the longest wait for any byte, in a command, in content or
    /// in a TLS handshake, and for the client to take our replies.
    pub idle: Duration,
    /// One command line (or SASL response), whole, from when the server
    /// waits for it: a client sending a byte now and then is not idle, but
    /// cannot make a line last longer than this.
    pub command: Duration,
    /// DATA content and each BDAT chunk may take `idle` plus one second for
    /// every `min_data_rate` bytes received: a steady sender of a large
    /// message is never cut off, a trickle soon is.
    pub min_data_rate: u64,
    /// The whole session, from its greeting.
    pub session: Duration,
}

/// The limits and names a session works with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub hostname: String,
    pub limits: ConnectionLimits,
    pub timeouts: Timeouts,
    pub max_message_size: usize,
    pub max_recipients: usize,
    /// Error replies before the session is closed.
    pub max_errors: u32,
    /// Allow AUTH without TLS: only for listeners on a trusted network.
    pub allow_plaintext_auth: bool,
    /// Where `<postmaster>` without a domain goes; `None`: postmaster at
    /// our own domain (see `session/rcpt.rs`).
    pub postmaster: Option<String>,
    /// Networks whose clients may end lines with a bare LF, as
    /// authenticated users and relay clients may.
    pub bare_newline_allow: Vec<IpNet>,
    /// How long the MX waits between the first and the last line of its
    /// greeting for a client that talks out of turn; zero: no wait.
    pub pregreet_wait: Duration,
    /// What a logged-in mailbox may send, unless it or its domain has
    /// limits of its own (see `session/sending.rs`).
    pub sending_limits: SendingLimits,
}

/// The configured sending limits of mailboxes; 0 is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendingLimits {
    pub messages_per_hour: u32,
    pub recipients_per_day: u32,
}

/// What every session shares.
pub struct Context {
    pub settings: Settings,
    pub store: Store,
    pub auth: Authenticator,
    pub tls: TlsAcceptor,
    /// SPF, DKIM, DMARC and ARC checks on the MX listener.
    pub verifier: authres::Verifier,
    /// Content scanning of the mail arriving on the MX; `None`: none.
    pub scanner: Option<scan::Scanner>,
    /// DNS lists asked about anonymous clients of the MX.
    pub blocklists: dnsbl::Blocklists,
    /// The mailboxes' Sieve scripts, run at delivery.
    pub filters: filter::Filters,
}

/// Starts serving on every listener until `shutdown`.
pub fn spawn(
    listeners: Vec<(ListenerKind, TcpListener)>,
    context: Arc<Context>,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    let limiter = Limiter::new(context.settings.limits);
    for (kind, socket) in listeners {
        let context = context.clone();
        let stop = shutdown.clone();
        let accept = move |incoming: Incoming| {
            // `relay` is filled in once the client is known to be a relay client.
            let span = tracing::info_span!(
                "smtp",
                session = %incoming.id,
                peer = %incoming.peer,
                ?kind,
                relay = tracing::field::Empty
            );
            let (context, stop) = (context.clone(), stop.clone());
            async move { connection(incoming, kind, context, stop).await }.instrument(span)
        };
        tracker.spawn(listener::serve(
            socket,
            limiter.clone(),
            shutdown.clone(),
            tracker.clone(),
            accept,
        ));
    }
}

async fn connection(
    incoming: Incoming,
    kind: ListenerKind,
    context: Arc<Context>,
    shutdown: CancellationToken,
) {
    tracing::debug!("connected");
    let _open = metrics::session_opened(kind);
    let mut stream = Stream::plain(incoming.stream);
    if kind == ListenerKind::Submissions {
        let handshake = stream.into_tls(&context.tls);
        stream = match tokio::time::timeout(context.settings.timeouts.idle, handshake).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(err)) => {
                return tracing::debug!(error = %error::Chain(&err), "TLS handshake failed");
            }
            Err(_) => return tracing::debug!("TLS handshake timed out"),
        };
    }
    let ended = session::run(
        stream,
        incoming.slot.is_some(),
        kind,
        session::Addrs {
            peer: incoming.peer.ip(),
            local: Some(incoming.local.ip()),
        },
        incoming.id,
        context,
        shutdown,
    )
    .await;
    match ended {
        Ok(()) => tracing::debug!("closed"),
        Err(err) => tracing::debug!(error = %error::Chain(&err), "connection ended"),
    }
    drop(incoming.slot);
}

/// Runs one client's session over `stream` (an in-memory pipe in the
/// transcript tests) as a `kind` listener's, from the greeting to the end.
pub async fn converse(
    stream: Stream,
    kind: ListenerKind,
    peer: IpAddr,
    context: Arc<Context>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let id = listener::SessionId::next();
    let span =
        tracing::info_span!("smtp", session = %id, %peer, ?kind, relay = tracing::field::Empty);
    let addrs = session::Addrs { peer, local: None };
    session::run(stream, true, kind, addrs, id, context, shutdown)
        .instrument(span)
        .await
}

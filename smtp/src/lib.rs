//! The SMTP service: inbound MX, submission (STARTTLS, RFC 6409) and
//! submissions (implicit TLS, RFC 8314).
//!
//! For now every listener greets, answers NOOP, RSET and QUIT, and refuses
//! mail commands with `502 5.5.1`: the ESMTP server comes with its own
//! issue. What is here already is the part every session keeps: connection
//! limits, implicit TLS, idle timeout, bounded lines, and a `421` on shutdown.

pub mod proto;

use std::sync::Arc;
use std::time::Duration;

use postino_common::listener::{self, ConnectionLimits, Incoming, Limiter, Line};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// The longest command line, CRLF excluded (RFC 5321 §4.5.3.1.4 says 512
/// with CRLF; extensions may add to it).
const MAX_COMMAND_LINE: usize = 2048;

/// What a listener is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerKind {
    Mx,
    Submission,
    /// Submission with implicit TLS.
    Submissions,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub hostname: String,
    pub limits: ConnectionLimits,
    pub idle_timeout: Duration,
}

/// Starts serving on every listener until `shutdown`.
pub fn spawn(
    listeners: Vec<(ListenerKind, TcpListener)>,
    settings: Arc<Settings>,
    tls: Arc<ServerConfig>,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    let limiter = Limiter::new(settings.limits);
    for (kind, socket) in listeners {
        let settings = settings.clone();
        let acceptor = TlsAcceptor::from(tls.clone());
        let sessions = tracker.clone();
        let stop = shutdown.clone();
        tracker.spawn(listener::serve(socket, limiter.clone(), shutdown.clone(), sessions, move |incoming| {
            let settings = settings.clone();
            let acceptor = acceptor.clone();
            let stop = stop.clone();
            let span = tracing::info_span!("smtp", session = %incoming.id, peer = %incoming.peer, ?kind);
            async move { connection(incoming, kind, settings, acceptor, stop).await }.instrument(span)
        }));
    }
}

async fn connection(
    incoming: Incoming,
    kind: ListenerKind,
    settings: Arc<Settings>,
    acceptor: TlsAcceptor,
    shutdown: CancellationToken,
) {
    tracing::debug!("connected");
    let Incoming { stream, slot, .. } = incoming;
    let result = if kind == ListenerKind::Submissions {
        match tokio::time::timeout(settings.idle_timeout, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => session(tls, slot.is_some(), &settings, &shutdown).await,
            Ok(Err(err)) => Err(err),
            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
        }
    } else {
        session(stream, slot.is_some(), &settings, &shutdown).await
    };
    match result {
        Ok(()) => tracing::debug!("closed"),
        Err(err) => tracing::debug!(error = %err, "connection ended"),
    }
}

async fn session<S>(
    stream: S,
    admitted: bool,
    settings: &Settings,
    shutdown: &CancellationToken,
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut stream = BufReader::new(stream);
    if !admitted {
        tracing::info!("refused: too many connections");
        return reply(
            &mut stream,
            "421 4.7.0 Too many connections, try again later",
        )
        .await;
    }
    reply(
        &mut stream,
        &format!("220 {} ESMTP Postino", settings.hostname),
    )
    .await?;
    loop {
        let line = tokio::select! {
            _ = shutdown.cancelled() => {
                return reply(&mut stream, "421 4.3.2 Service shutting down").await;
            }
            read = tokio::time::timeout(settings.idle_timeout, listener::read_line(&mut stream, MAX_COMMAND_LINE)) => match read {
                Ok(line) => line?,
                Err(_) => return reply(&mut stream, "421 4.4.2 Idle for too long, closing connection").await,
            },
        };
        let Some(line) = line else { return Ok(()) };
        let answer = match line {
            Line::TooLong => "500 5.5.2 Line too long",
            Line::Complete(line) => {
                let verb = line
                    .split(|&b| b == b' ')
                    .next()
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                match verb.as_slice() {
                    b"QUIT" => return reply(&mut stream, "221 2.0.0 Bye").await,
                    b"NOOP" => "250 2.0.0 OK",
                    b"RSET" => "250 2.0.0 OK",
                    _ => "502 5.5.1 Command not implemented yet",
                }
            }
        };
        reply(&mut stream, answer).await?;
    }
}

async fn reply<S: AsyncWrite + Unpin>(stream: &mut S, text: &str) -> std::io::Result<()> {
    stream.write_all(format!("{text}\r\n").as_bytes()).await?;
    stream.flush().await
}

//! The IMAP service: IMAP4rev2 / IMAP4rev1 on `listen` (STARTTLS) and
//! `listen_tls` (implicit TLS).
//!
//! For now a session greets and answers CAPABILITY, NOOP and LOGOUT; every
//! other command gets a tagged `BAD`: the IMAP server comes with its own
//! issue. What is here already is the part every session keeps: connection
//! limits, implicit TLS, idle timeout, bounded lines, and `* BYE` on shutdown.

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

/// The longest command line: Dovecot's 64 KiB limit.
const MAX_COMMAND_LINE: usize = 64 * 1024;

const CAPABILITIES: &str = "IMAP4rev1";

#[derive(Debug, Clone)]
pub struct Settings {
    pub limits: ConnectionLimits,
    pub idle_timeout: Duration,
}

/// Starts serving until `shutdown`: `plain` listeners speak cleartext first,
/// `implicit_tls` ones start with a TLS handshake.
pub fn spawn(
    plain: Vec<TcpListener>,
    implicit_tls: Vec<TcpListener>,
    settings: Arc<Settings>,
    tls: Arc<ServerConfig>,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    let limiter = Limiter::new(settings.limits);
    let acceptor = TlsAcceptor::from(tls);
    let sockets = plain.into_iter().map(|s| (s, None)).chain(
        implicit_tls
            .into_iter()
            .map(|s| (s, Some(acceptor.clone()))),
    );
    for (socket, tls) in sockets {
        let settings = settings.clone();
        let stop = shutdown.clone();
        let accept = move |incoming: Incoming| {
            let span = tracing::info_span!("imap", session = %incoming.id, peer = %incoming.peer);
            let (settings, tls, stop) = (settings.clone(), tls.clone(), stop.clone());
            async move {
                tracing::debug!("connected");
                let admitted = incoming.slot.is_some();
                let ended = match tls {
                    None => session(incoming.stream, admitted, &settings, &stop).await,
                    Some(acceptor) => {
                        match tokio::time::timeout(
                            settings.idle_timeout,
                            acceptor.accept(incoming.stream),
                        )
                        .await
                        {
                            Ok(Ok(stream)) => session(stream, admitted, &settings, &stop).await,
                            Ok(Err(err)) => Err(err),
                            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
                        }
                    }
                };
                if let Err(err) = ended {
                    tracing::debug!(error = %err, "connection ended");
                }
                drop(incoming.slot);
            }
            .instrument(span)
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
        return send(&mut stream, "* BYE Too many connections, try again later").await;
    }
    send(
        &mut stream,
        &format!("* OK [CAPABILITY {CAPABILITIES}] Postino ready"),
    )
    .await?;
    loop {
        let line = tokio::select! {
            _ = shutdown.cancelled() => return send(&mut stream, "* BYE Server shutting down").await,
            read = tokio::time::timeout(settings.idle_timeout, listener::read_line(&mut stream, MAX_COMMAND_LINE)) => match read {
                Ok(line) => line?,
                Err(_) => return send(&mut stream, "* BYE Idle for too long").await,
            },
        };
        let Some(line) = line else { return Ok(()) };
        let Line::Complete(line) = line else {
            send(&mut stream, "* BAD Command line too long").await?;
            continue;
        };
        let text = String::from_utf8_lossy(&line);
        let mut words = text.split(' ');
        let tag = words.next().unwrap_or_default();
        let command = words.next().unwrap_or_default().to_ascii_uppercase();
        if tag.is_empty() || command.is_empty() {
            send(&mut stream, "* BAD Expected a tag and a command").await?;
            continue;
        }
        match command.as_str() {
            "CAPABILITY" => {
                send(
                    &mut stream,
                    &format!("* CAPABILITY {CAPABILITIES}\r\n{tag} OK CAPABILITY completed"),
                )
                .await?
            }
            "NOOP" => send(&mut stream, &format!("{tag} OK NOOP completed")).await?,
            "LOGOUT" => {
                return send(
                    &mut stream,
                    &format!("* BYE Logging out\r\n{tag} OK LOGOUT completed"),
                )
                .await;
            }
            _ => {
                send(
                    &mut stream,
                    &format!("{tag} BAD Command not implemented yet"),
                )
                .await?
            }
        }
    }
}

async fn send<S: AsyncWrite + Unpin>(stream: &mut S, text: &str) -> std::io::Result<()> {
    stream.write_all(format!("{text}\r\n").as_bytes()).await?;
    stream.flush().await
}

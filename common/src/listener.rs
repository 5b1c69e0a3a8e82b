//! Accepting connections: limits, session ids and graceful shutdown, shared
//! by every server; [`spawn_service`] is the whole accept side of a service
//! with cleartext and implicit-TLS listeners (IMAP, POP3, ManageSieve).
//!
//! A listener admits a connection only while both the total and the
//! per-address counts are under their limits; a connection over a limit is
//! still handed to the server, marked refused, so that it can say why in its
//! own protocol before closing.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::metrics::SessionCounters;
use crate::stream::Stream;

/// A short id naming one connection in every log line of its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionId(u64);

impl SessionId {
    pub fn next() -> SessionId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        // Mixing in the start time keeps ids distinct across restarts.
        static BASE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        let base = *BASE.get_or_init(|| (crate::store::now() as u64 & 0xffff) << 32);
        SessionId(base | NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012x}", self.0)
    }
}

/// How many connections a service admits.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub total: usize,
    pub per_ip: usize,
}

/// Counts open connections, in total and per client address.
#[derive(Debug)]
pub struct Limiter {
    limits: ConnectionLimits,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

impl Limiter {
    pub fn new(limits: ConnectionLimits) -> Arc<Limiter> {
        Arc::new(Limiter {
            limits,
            open: Mutex::new((0, HashMap::new())),
        })
    }

    /// A slot for a connection from `ip`, or `None` when a limit is reached.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let (total, per_ip) = &mut *open;
        let from_ip = per_ip.entry(ip).or_insert(0);
        if *total >= self.limits.total || *from_ip >= self.limits.per_ip {
            if *from_ip == 0 {
                per_ip.remove(&ip);
            }
            return None;
        }
        *from_ip += 1;
        *total += 1;
        Some(Slot {
            limiter: self.clone(),
            ip,
        })
    }
}

/// An admitted connection's place in the counts, given back on drop.
#[derive(Debug)]
pub struct Slot {
    limiter: Arc<Limiter>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.limiter.open.lock().unwrap_or_else(|p| p.into_inner());
        let (total, per_ip) = &mut *open;
        *total -= 1;
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

/// A connection handed to a server.
#[derive(Debug)]
pub struct Incoming {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub id: SessionId,
    /// `None` when the connection is over a limit and must be turned away.
    pub slot: Option<Slot>,
}

/// Accepts connections until `shutdown`, running `handle` for each in a task
/// tracked by `tracker`.
pub async fn serve<F, Fut>(
    listener: TcpListener,
    limiter: Arc<Limiter>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    handle: F,
) where
    F: Fn(Incoming) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let local = match listener.local_addr() {
        Ok(addr) => addr,
        Err(err) => {
            tracing::error!(error = %err, "listener has no local address");
            return;
        }
    };
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let incoming = Incoming {
                    slot: limiter.admit(peer.ip()),
                    stream,
                    peer,
                    local,
                    id: SessionId::next(),
                };
                tracker.spawn(handle(incoming));
            }
            Err(err) => {
                // Out of file descriptors and the like: wait, do not spin.
                tracing::warn!(%local, error = %err, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// How a service accepts its connections, for [`spawn_service`].
pub struct Service {
    pub limits: ConnectionLimits,
    /// The TLS of the implicit-TLS listeners.
    pub tls: TlsAcceptor,
    /// How long an implicit-TLS handshake may take.
    pub handshake_timeout: Duration,
    /// The service's counts of sessions.
    pub sessions: &'static SessionCounters,
    /// The span a connection's log lines are in, named for the protocol.
    pub span: fn(&Incoming) -> tracing::Span,
}

/// A connection as a session starts with it: on an implicit-TLS listener,
/// after the handshake.
pub struct Accepted {
    pub stream: Stream,
    pub peer: IpAddr,
    /// False when the connection is over a limit: the session says so in
    /// its protocol and closes.
    pub admitted: bool,
}

/// Accepts on a service's listeners until `shutdown`, under one set of
/// limits, and runs `session` for each connection with the service's
/// `context`: `plain` listeners speak cleartext first (STARTTLS),
/// `implicit_tls` ones start with a TLS handshake.
pub fn spawn_service<C, F, Fut>(
    service: Service,
    plain: Vec<TcpListener>,
    implicit_tls: Vec<TcpListener>,
    context: Arc<C>,
    shutdown: &CancellationToken,
    tracker: &TaskTracker,
    session: F,
) where
    C: Send + Sync + 'static,
    F: Fn(Accepted, Arc<C>, CancellationToken) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let service = Arc::new(service);
    let limiter = Limiter::new(service.limits);
    let sockets = plain
        .into_iter()
        .map(|s| (s, false))
        .chain(implicit_tls.into_iter().map(|s| (s, true)));
    for (socket, implicit_tls) in sockets {
        let (service, context, stop) = (service.clone(), context.clone(), shutdown.clone());
        let accept = move |incoming: Incoming| {
            let span = (service.span)(&incoming);
            let (service, context, stop) = (service.clone(), context.clone(), stop.clone());
            async move {
                tracing::debug!("connected");
                let started = start(incoming, implicit_tls, &service, context, stop, session);
                if let Err(err) = started.await {
                    tracing::debug!(error = %err, "connection ended");
                }
            }
            .instrument(span)
        };
        tracker.spawn(serve(
            socket,
            limiter.clone(),
            shutdown.clone(),
            tracker.clone(),
            accept,
        ));
    }
}

/// Counts the session, runs the implicit-TLS handshake and hands the
/// connection to `session`, keeping its slot until the session ends.
async fn start<C, F, Fut>(
    incoming: Incoming,
    implicit_tls: bool,
    service: &Service,
    context: Arc<C>,
    shutdown: CancellationToken,
    session: F,
) -> std::io::Result<()>
where
    F: Fn(Accepted, Arc<C>, CancellationToken) -> Fut,
    Fut: Future<Output = std::io::Result<()>>,
{
    let _open = service.sessions.opened();
    let Incoming {
        stream, peer, slot, ..
    } = incoming;
    let mut stream = Stream::plain(stream);
    if implicit_tls {
        let handshake = stream.into_tls(&service.tls);
        stream = tokio::time::timeout(service.handshake_timeout, handshake)
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    }
    if slot.is_none() {
        tracing::info!("refused: too many connections");
    }
    let accepted = Accepted {
        stream,
        peer: peer.ip(),
        admitted: slot.is_some(),
    };
    session(accepted, context, shutdown).await
}

/// What [`read_line`] read.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A line, without its line end.
    Complete(Vec<u8>),
    /// More than the limit arrived without a line end; the rest of that line
    /// has been read and discarded.
    TooLong,
}

/// Reads one line of at most `limit` bytes, ending in LF (CRLF or bare LF;
/// the line end is removed). `None` at end of input.
pub async fn read_line<R>(reader: &mut R, limit: usize) -> std::io::Result<Option<Line>>
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    use tokio::io::AsyncBufReadExt;
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            // The peer closed mid-line: nothing left to answer.
            return Ok(None);
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(end) => (&buf[..=end], true),
            None => (buf, false),
        };
        let taken = chunk.len();
        if !too_long && line.len() + taken <= limit + 2 {
            line.extend_from_slice(chunk);
        } else {
            too_long = true;
            line.clear();
        }
        reader.consume(taken);
        if done {
            break;
        }
    }
    if too_long {
        return Ok(Some(Line::TooLong));
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.len() > limit {
        return Ok(Some(Line::TooLong));
    }
    Ok(Some(Line::Complete(line)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_total_and_per_ip() {
        let limiter = Limiter::new(ConnectionLimits {
            total: 3,
            per_ip: 2,
        });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let a1 = limiter.admit(a).unwrap();
        let _a2 = limiter.admit(a).unwrap();
        assert!(limiter.admit(a).is_none(), "third from one address");
        let _b1 = limiter.admit(b).unwrap();
        assert!(limiter.admit(b).is_none(), "fourth in total");
        drop(a1);
        assert!(limiter.admit(b).is_some(), "a slot was given back");
    }

    #[tokio::test]
    async fn lines_are_bounded() {
        let input: &[u8] = b"EHLO a\r\nbare\n0123456789ABC\r\nafter\r\nunterminated";
        let mut reader = tokio::io::BufReader::with_capacity(4, input);
        let mut lines = Vec::new();
        while let Some(line) = read_line(&mut reader, 10).await.unwrap() {
            lines.push(line);
        }
        assert_eq!(
            lines,
            [
                Line::Complete(b"EHLO a".to_vec()),
                Line::Complete(b"bare".to_vec()),
                Line::TooLong,
                Line::Complete(b"after".to_vec()),
            ]
        );
    }

    #[test]
    fn session_ids_differ() {
        assert_ne!(SessionId::next(), SessionId::next());
    }
}

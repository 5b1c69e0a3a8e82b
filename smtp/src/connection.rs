//! One client connection: the socket, its read buffer and its pending
//! replies. It knows lines, DATA content and BDAT chunks; not commands.
//!
//! Replies are queued and written when the server is about to wait for
//! input, so a pipelined batch of commands (RFC 2920) gets its replies in
//! one write. Every wait for the client ends with `ErrorKind::TimedOut`,
//! carrying the [`Expired`] limit, at the first of: the idle timeout (no
//! byte for that long); the command timeout (a line not whole in time,
//! however it trickles in); the content deadline (DATA or a BDAT chunk
//! slower than the minimum data rate); the session's end. Writing our
//! replies is bounded by the idle timeout alone, so that a client that has
//! run out of time still hears why.

use std::io;

use postino_common::stream::Stream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Duration, Instant};
use tokio_rustls::TlsAcceptor;

use crate::Timeouts;
use crate::proto::{DataReader, Line, LineReader, Reply};

/// Bytes asked of the socket at a time.
const READ_SIZE: usize = 16 * 1024;

/// The limit a wait for the client ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Expired {
    #[error("idle for too long")]
    Idle,
    #[error("command line too slow")]
    Command,
    #[error("message content too slow")]
    Content,
    #[error("session too long")]
    Session,
}

impl Expired {
    /// The limit `err` reports, if it is a timeout of ours.
    pub fn of(err: &io::Error) -> Option<Expired> {
        err.get_ref()?.downcast_ref::<Expired>().copied()
    }
}

/// When a wait must end, and what it is then.
#[derive(Debug, Clone, Copy)]
struct Limit {
    at: Instant,
    expired: Expired,
}

/// `wait` from now; a year for a wait too long to add.
fn later(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait)
        .unwrap_or(now + Duration::from_secs(365 * 86_400))
}

/// Runs `io` until `limit`.
async fn within<T>(limit: Limit, io: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    tokio::time::timeout_at(limit.at, io)
        .await
        .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, limit.expired)))
}

pub struct Connection {
    stream: Stream,
    input: Vec<u8>,
    /// Where unread input starts in `input`.
    start: usize,
    output: Vec<u8>,
    timeouts: Timeouts,
    session_end: Instant,
}

impl Connection {
    /// A connection whose session starts now.
    pub fn new(stream: Stream, timeouts: Timeouts) -> Connection {
        Connection {
            stream,
            input: Vec::with_capacity(READ_SIZE),
            start: 0,
            output: Vec::new(),
            timeouts,
            session_end: later(timeouts.session),
        }
    }

    pub fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }

    fn unread(&self) -> &[u8] {
        &self.input[self.start..]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.input.len() {
            self.input.clear();
            self.start = 0;
        }
    }

    /// The first limit a wait starting now runs into: silence, `phase`
    /// (the deadline of what is being read) or the session's end.
    fn limit(&self, phase: Option<Limit>) -> Limit {
        let idle = Limit {
            at: later(self.timeouts.idle),
            expired: Expired::Idle,
        };
        let session = Limit {
            at: self.session_end,
            expired: Expired::Session,
        };
        [Some(idle), Some(session), phase]
            .into_iter()
            .flatten()
            .min_by_key(|limit| limit.at)
            .unwrap_or(idle)
    }

    /// The deadline of content begun at `started`, of which `received`
    /// bytes came: the idle timeout, plus a second per `min_data_rate`
    /// bytes.
    fn content_deadline(&self, started: Instant, received: u64) -> Limit {
        let earned = Duration::from_secs(received / self.timeouts.min_data_rate.max(1));
        Limit {
            at: started
                .checked_add(self.timeouts.idle.saturating_add(earned))
                .unwrap_or(self.session_end),
            expired: Expired::Content,
        }
    }

    /// Reads more input until `phase` ends, after sending the queued
    /// replies. False at end of input.
    async fn fill(&mut self, phase: Option<Limit>) -> io::Result<bool> {
        self.flush().await?;
        if self.start > 0 {
            self.input.drain(..self.start);
            self.start = 0;
        }
        let before = self.input.len();
        self.input.resize(before + READ_SIZE, 0);
        let limit = self.limit(phase);
        let read = within(limit, self.stream.read(&mut self.input[before..])).await;
        self.input.truncate(before + *read.as_ref().unwrap_or(&0));
        Ok(read? > 0)
    }

    /// The next line of at most `limit` bytes; `None` when the client closed.
    pub async fn line(&mut self, limit: usize) -> io::Result<Option<Line>> {
        let deadline = Limit {
            at: later(self.timeouts.command),
            expired: Expired::Command,
        };
        let mut reader = LineReader::new(limit);
        loop {
            let (used, line) = reader.feed(self.unread());
            self.consume(used);
            if line.is_some() {
                return Ok(line);
            }
            if !self.fill(Some(deadline)).await? {
                return Ok(None);
            }
        }
    }

    /// Feeds DATA content to `reader` up to its end line. False if the
    /// client closed first.
    pub async fn data(&mut self, reader: &mut DataReader) -> io::Result<bool> {
        let started = Instant::now();
        let mut received = 0;
        loop {
            let (used, done) = reader.feed(self.unread());
            self.consume(used);
            received += used as u64;
            if done {
                return Ok(true);
            }
            let deadline = self.content_deadline(started, received);
            if !self.fill(Some(deadline)).await? {
                return Ok(false);
            }
        }
    }

    /// Reads exactly `size` bytes of a BDAT chunk, handing them to `sink`
    /// as they come. False if the client closed first.
    pub async fn chunk(&mut self, size: u64, mut sink: impl FnMut(&[u8])) -> io::Result<bool> {
        let started = Instant::now();
        let mut received = 0;
        while received < size {
            let deadline = self.content_deadline(started, received);
            if self.unread().is_empty() && !self.fill(Some(deadline)).await? {
                return Ok(false);
            }
            let n = self
                .unread()
                .len()
                .min(usize::try_from(size - received).unwrap_or(usize::MAX));
            sink(&self.unread()[..n]);
            self.consume(n);
            received += n as u64;
        }
        Ok(true)
    }

    /// Queues a reply; it is sent before the next wait for input.
    pub fn reply(&mut self, reply: &Reply) {
        reply.encode(&mut self.output);
    }

    /// Queues the lines of a reply whose last line comes later.
    pub fn reply_continued(&mut self, reply: &Reply) {
        reply.encode_continued(&mut self.output);
    }

    /// Sends the queued replies, then tells whether the client sends
    /// anything within `wait`. What it sent stays to be read; a client
    /// that closes meanwhile has sent nothing.
    pub async fn talks_within(&mut self, wait: Duration) -> io::Result<bool> {
        self.flush().await?;
        let before = self.input.len();
        self.input.resize(before + READ_SIZE, 0);
        let read = tokio::time::timeout(wait, self.stream.read(&mut self.input[before..])).await;
        let received = match read {
            Ok(Ok(n)) => n,
            Ok(Err(err)) => {
                self.input.truncate(before);
                return Err(err);
            }
            Err(_) => 0,
        };
        self.input.truncate(before + received);
        Ok(received > 0)
    }

    /// Sends the queued replies, unless the client takes none for the
    /// idle timeout.
    pub async fn flush(&mut self) -> io::Result<()> {
        let limit = Limit {
            at: later(self.timeouts.idle),
            expired: Expired::Idle,
        };
        let (stream, output) = (&mut self.stream, &mut self.output);
        within(limit, async move {
            if !output.is_empty() {
                stream.write_all(output).await?;
                output.clear();
            }
            stream.flush().await
        })
        .await
    }

    /// Switches to TLS; the handshake is one wait. Input the client sent
    /// after STARTTLS, before the handshake, is dropped: it was sent in
    /// clear and could have been injected by anyone on the path
    /// (CVE-2011-0411).
    pub async fn start_tls(mut self, acceptor: &TlsAcceptor) -> io::Result<Connection> {
        self.flush().await?;
        let limit = self.limit(None);
        let tls = within(limit, self.stream.into_tls(acceptor)).await?;
        Ok(Connection {
            stream: tls,
            input: Vec::with_capacity(READ_SIZE),
            start: 0,
            output: Vec::new(),
            timeouts: self.timeouts,
            session_end: self.session_end,
        })
    }
}

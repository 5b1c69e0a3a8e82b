//! One client connection: the socket, its read buffer and its pending
//! replies. It knows lines, DATA content and BDAT chunks; not commands.
//!
//! Replies are queued and written when the server is about to wait for
//! input, so a pipelined batch of commands (RFC 2920) gets its replies in
//! one write. Every wait for the client, whether for a command, message
//! content, a SASL response or a TLS handshake, ends with
//! `ErrorKind::TimedOut` after the idle timeout: a slow but steady sender
//! is never cut off, a silent one always is.

use std::io;
use std::time::Duration;

use postino_common::stream::Stream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

use crate::proto::{DataReader, Reply};

/// Bytes asked of the socket at a time.
const READ_SIZE: usize = 16 * 1024;

/// A command line as read.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A line without its CRLF (or bare LF).
    Complete(Vec<u8>),
    /// Longer than allowed; it was read to its end and dropped.
    TooLong,
}

pub struct Connection {
    stream: Stream,
    input: Vec<u8>,
    /// Where unread input starts in `input`.
    start: usize,
    output: Vec<u8>,
    idle: Duration,
}

/// Runs `io` unless the client stays silent for `idle`.
async fn within_idle<T>(idle: Duration, io: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    tokio::time::timeout(idle, io)
        .await
        .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
}

impl Connection {
    pub fn new(stream: Stream, idle: Duration) -> Connection {
        Connection {
            stream,
            input: Vec::with_capacity(READ_SIZE),
            start: 0,
            output: Vec::new(),
            idle,
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

    /// Reads more input, after sending the queued replies. False at end of
    /// input.
    async fn fill(&mut self) -> io::Result<bool> {
        self.flush().await?;
        if self.start > 0 {
            self.input.drain(..self.start);
            self.start = 0;
        }
        let before = self.input.len();
        self.input.resize(before + READ_SIZE, 0);
        let read = within_idle(self.idle, self.stream.read(&mut self.input[before..])).await;
        self.input.truncate(before + *read.as_ref().unwrap_or(&0));
        Ok(read? > 0)
    }

    /// The next line of at most `limit` bytes; `None` when the client closed.
    pub async fn line(&mut self, limit: usize) -> io::Result<Option<Line>> {
        let mut too_long = false;
        loop {
            if let Some(end) = self.unread().iter().position(|&b| b == b'\n') {
                let mut line = self.unread()[..end].to_vec();
                self.consume(end + 1);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Some(if too_long || line.len() > limit {
                    Line::TooLong
                } else {
                    Line::Complete(line)
                }));
            }
            if self.unread().len() > limit + 2 {
                // Drop what we have and keep reading to the line's end.
                too_long = true;
                let n = self.unread().len();
                self.consume(n);
            }
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    /// Feeds DATA content to `reader` up to its end line. False if the
    /// client closed first.
    pub async fn data(&mut self, reader: &mut DataReader) -> io::Result<bool> {
        loop {
            let (used, done) = reader.feed(self.unread());
            self.consume(used);
            if done {
                return Ok(true);
            }
            if !self.fill().await? {
                return Ok(false);
            }
        }
    }

    /// Reads exactly `size` bytes of a BDAT chunk, handing them to `sink`
    /// as they come. False if the client closed first.
    pub async fn chunk(&mut self, mut size: u64, mut sink: impl FnMut(&[u8])) -> io::Result<bool> {
        while size > 0 {
            if self.unread().is_empty() && !self.fill().await? {
                return Ok(false);
            }
            let n = self
                .unread()
                .len()
                .min(usize::try_from(size).unwrap_or(usize::MAX));
            sink(&self.unread()[..n]);
            self.consume(n);
            size -= n as u64;
        }
        Ok(true)
    }

    /// Queues a reply; it is sent before the next wait for input.
    pub fn reply(&mut self, reply: &Reply) {
        self.output.extend_from_slice(&reply.to_bytes());
    }

    pub async fn flush(&mut self) -> io::Result<()> {
        if !self.output.is_empty() {
            self.stream.write_all(&self.output).await?;
            self.output.clear();
        }
        self.stream.flush().await
    }

    /// Switches to TLS. Input the client sent after STARTTLS, before the
    /// handshake, is dropped: it was sent in clear and could have been
    /// injected by anyone on the path (CVE-2011-0411).
    pub async fn start_tls(self, acceptor: &TlsAcceptor) -> io::Result<Connection> {
        let mut this = self;
        this.flush().await?;
        let tls = within_idle(this.idle, this.stream.into_tls(acceptor)).await?;
        Ok(Connection::new(tls, this.idle))
    }
}

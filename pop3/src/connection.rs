//! One client's socket with its buffers: bytes in until `proto` finds a
//! whole line in them, responses out in one buffer written at each flush.
//!
//! Waiting for a line is cancel-safe (bytes read are kept in `unread`), so
//! the session can wait for the client and for shutdown at once. Buffers
//! shrink back after a large message, so an idle connection holds little.

use std::io;

use postino_common::stream::Stream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

use crate::proto::Reply;
use crate::proto::parse::{TooLong, next_line};

/// Room kept for reading.
const READ_CHUNK: usize = 4096;
/// Buffers larger than this are given back once used.
const KEEP: usize = 16 * 1024;

pub(crate) struct Connection {
    stream: Stream,
    max_line: usize,
    /// Bytes read and not yet taken as a line.
    unread: Vec<u8>,
    /// Responses not yet written.
    out: Vec<u8>,
}

impl Connection {
    pub(crate) fn new(stream: Stream, max_line: usize) -> Connection {
        Connection {
            stream,
            max_line,
            unread: Vec::new(),
            out: Vec::new(),
        }
    }

    pub(crate) fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }

    /// The next line, without its line end; `None` when the client closed
    /// the connection. Cancel-safe.
    pub(crate) async fn line(&mut self) -> io::Result<Option<Result<Vec<u8>, TooLong>>> {
        loop {
            match next_line(&self.unread, self.max_line) {
                Ok(Some((line, used))) => {
                    let line = line.to_vec();
                    self.unread.drain(..used);
                    if self.unread.is_empty() && self.unread.capacity() > KEEP {
                        self.unread = Vec::new();
                    }
                    return Ok(Some(Ok(line)));
                }
                Ok(None) => {}
                Err(too_long) => return Ok(Some(Err(too_long))),
            }
            if self.unread.capacity() - self.unread.len() < READ_CHUNK / 4 {
                self.unread.reserve(READ_CHUNK);
            }
            if self.stream.read_buf(&mut self.unread).await? == 0 {
                return Ok(None);
            }
        }
    }

    /// Appends a status line to what the next flush writes.
    pub(crate) fn send(&mut self, reply: &Reply) {
        reply.write(&mut self.out);
    }

    /// The buffer of responses not yet written, for the lines of a
    /// multi-line response.
    pub(crate) fn out(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    /// Writes every pending response.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out).await?;
            self.out.clear();
            if self.out.capacity() > KEEP {
                self.out = Vec::new();
            }
        }
        self.stream.flush().await
    }

    /// STLS: bytes the client sent after the command are dropped, as they
    /// were sent before the handshake (the injection of CVE-2011-0411).
    pub(crate) async fn start_tls(self, acceptor: &TlsAcceptor) -> io::Result<Connection> {
        if !self.unread.is_empty() {
            tracing::info!("client sent data after STLS; dropped");
        }
        let stream = self.stream.into_tls(acceptor).await?;
        Ok(Connection::new(stream, self.max_line))
    }
}

//! One client's socket with its buffers: bytes in until `proto` reads a
//! whole command (literals included) or a SASL response from them,
//! responses out in one buffer written at each flush.
//!
//! Waiting for input is cancel-safe (bytes read are kept in `unread`), so
//! the session can wait for the client and for shutdown at once. Buffers
//! shrink back after a large script, so an idle connection holds little.

use std::io;

use postino_common::stream::Stream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

use crate::proto::Command;
use crate::proto::parse::{Limits, ParseError, Parsed, parse, parse_sasl_response};
use crate::proto::response::Response;

/// Room kept for reading.
const READ_CHUNK: usize = 4096;
/// Buffers larger than this are given back once used.
const KEEP: usize = 16 * 1024;

pub(crate) struct Connection {
    stream: Stream,
    limits: Limits,
    /// Bytes read and not yet taken by a command.
    unread: Vec<u8>,
    /// Responses not yet written.
    out: Vec<u8>,
}

/// What reading a command or a SASL response gave: `None` when the client
/// closed the connection.
pub(crate) type Read<T> = Option<Result<T, ParseError>>;

impl Connection {
    pub(crate) fn new(stream: Stream, limits: Limits) -> Connection {
        Connection {
            stream,
            limits,
            unread: Vec::new(),
            out: Vec::new(),
        }
    }

    pub(crate) fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }

    /// The next command. Cancel-safe.
    pub(crate) async fn command(&mut self) -> io::Result<Read<Command>> {
        self.read(parse).await
    }

    /// The client's answer to a SASL challenge. Cancel-safe.
    pub(crate) async fn sasl_response(&mut self) -> io::Result<Read<Vec<u8>>> {
        self.read(parse_sasl_response).await
    }

    async fn read<T>(&mut self, parse: fn(&[u8], &Limits) -> Parsed<T>) -> io::Result<Read<T>> {
        loop {
            if !self.unread.is_empty() {
                match parse(&self.unread, &self.limits) {
                    Ok(Some((value, used))) => {
                        self.consume(used);
                        return Ok(Some(Ok(value)));
                    }
                    Ok(None) => {}
                    Err(err) => {
                        // A bad command is dropped whole; what is too
                        // large ends the session, with nothing more read.
                        if let ParseError::Bad { skip, .. } = err {
                            self.consume(skip);
                        }
                        return Ok(Some(Err(err)));
                    }
                }
            }
            if self.unread.capacity() - self.unread.len() < READ_CHUNK / 4 {
                self.unread.reserve(READ_CHUNK);
            }
            if self.stream.read_buf(&mut self.unread).await? == 0 {
                return Ok(None);
            }
        }
    }

    fn consume(&mut self, used: usize) {
        self.unread.drain(..used);
        if self.unread.is_empty() && self.unread.capacity() > KEEP {
            self.unread = Vec::new();
        }
    }

    /// Appends a response to those the next flush writes.
    pub(crate) fn send(&mut self, response: &Response) {
        response.write(&mut self.out);
    }

    /// The buffer of responses not yet written, for what comes before a
    /// response (capabilities, scripts, lists).
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

    /// STARTTLS: bytes the client sent after the command are dropped, as
    /// they were sent before the handshake (the injection of
    /// CVE-2011-0411).
    pub(crate) async fn start_tls(self, acceptor: &TlsAcceptor) -> io::Result<Connection> {
        if !self.unread.is_empty() {
            tracing::info!("client sent data after STARTTLS; dropped");
        }
        let stream = self.stream.into_tls(acceptor).await?;
        Ok(Connection::new(stream, self.limits))
    }
}

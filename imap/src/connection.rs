//! One client's socket with its buffers: bytes in through the command
//! framing, responses out in one buffer written at each flush.
//!
//! Waiting for input is cancel-safe (bytes read are kept in `unread`), so
//! IDLE can wait for the client and for mail at once. Buffers shrink back
//! after a large command or response, so an idle connection holds little.

use std::io;

use postino_common::stream::Stream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

use crate::proto::{Assembler, Event, Limits, Response, encode};

/// Room kept for reading; what an idle connection holds besides its state.
const READ_CHUNK: usize = 2048;
/// Buffers larger than this are given back once used.
const KEEP: usize = 16 * 1024;
/// A response buffer this full is written out before more is added.
pub(crate) const FLUSH_AT: usize = 64 * 1024;

pub(crate) struct Connection {
    stream: Stream,
    assembler: Assembler,
    /// Bytes read and not yet given to the assembler.
    unread: Vec<u8>,
    /// Responses not yet written.
    out: Vec<u8>,
}

impl Connection {
    pub(crate) fn new(stream: Stream, limits: Limits) -> Connection {
        Connection {
            stream,
            assembler: Assembler::new(limits),
            unread: Vec::new(),
            out: Vec::new(),
        }
    }

    pub(crate) fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }

    /// The next framing event; `None` when the client closed the connection.
    /// Cancel-safe.
    pub(crate) async fn next(&mut self) -> io::Result<Option<Event>> {
        loop {
            if let Some(event) = self.take_event() {
                return Ok(Some(event));
            }
            if self.unread.capacity() - self.unread.len() < READ_CHUNK / 4 {
                self.unread.reserve(READ_CHUNK);
            }
            if self.stream.read_buf(&mut self.unread).await? == 0 {
                return Ok(None);
            }
        }
    }

    /// Gives buffered bytes to the assembler until it has an event.
    fn take_event(&mut self) -> Option<Event> {
        if self.unread.is_empty() {
            return None;
        }
        let (used, event) = self.assembler.feed(&self.unread);
        self.unread.drain(..used);
        if self.unread.is_empty() && self.unread.capacity() > KEEP {
            self.unread = Vec::new();
        }
        event
    }

    /// The next line is a bare line (an AUTHENTICATE response, IDLE's DONE).
    pub(crate) fn expect_line(&mut self) {
        self.assembler.expect_line();
    }

    /// Appends a response to those the next flush writes; `utf8` as
    /// [`encode`] takes it.
    pub(crate) fn send(&mut self, response: &Response<'_>, utf8: bool) {
        encode(response, utf8, &mut self.out);
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

    /// Writes pending responses if there are many, to bound memory.
    pub(crate) async fn flush_if_full(&mut self) -> io::Result<()> {
        if self.out.len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(())
    }

    /// STARTTLS: bytes the client sent after the command are dropped, as
    /// they were sent before the handshake (RFC 9051 §11.1, the injection
    /// of CVE-2011-0411).
    pub(crate) async fn start_tls(self, acceptor: &TlsAcceptor) -> io::Result<Connection> {
        let limits = *self.assembler.limits();
        let stream = self.stream.into_tls(acceptor).await?;
        Ok(Connection::new(stream, limits))
    }

    /// True when the client sent more than the command being answered.
    pub(crate) fn has_unread(&self) -> bool {
        !self.unread.is_empty()
    }
}

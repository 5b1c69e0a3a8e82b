//! One client's connection: bytes in through the command framing,
//! responses out at each flush, over the shared
//! [`Buffered`](postino_common::buffered::Buffered) socket (cancel-safe
//! reads, so that IDLE can wait for the client and for mail at once;
//! buffers that shrink back after a large command or response).

use std::io;

use postino_common::buffered::Buffered;
use postino_common::stream::Stream;
use tokio_rustls::TlsAcceptor;

use crate::proto::{Assembler, Event, Limits, Response, encode};

/// Room kept for reading; what an idle connection holds besides its state.
const READ_CHUNK: usize = 2048;
/// A response buffer this full is written out before more is added.
pub(crate) const FLUSH_AT: usize = 64 * 1024;

pub(crate) struct Connection {
    io: Buffered,
    assembler: Assembler,
}

impl Connection {
    pub(crate) fn new(stream: Stream, limits: Limits) -> Connection {
        Connection {
            io: Buffered::new(stream, READ_CHUNK),
            assembler: Assembler::new(limits),
        }
    }

    pub(crate) fn is_tls(&self) -> bool {
        self.io.is_tls()
    }

    /// The next framing event; `None` when the client closed the connection.
    /// Cancel-safe.
    pub(crate) async fn next(&mut self) -> io::Result<Option<Event>> {
        loop {
            if let Some(event) = self.take_event() {
                return Ok(Some(event));
            }
            if !self.io.fill().await? {
                return Ok(None);
            }
        }
    }

    /// Gives buffered bytes to the assembler until it has an event.
    fn take_event(&mut self) -> Option<Event> {
        if self.io.unread().is_empty() {
            return None;
        }
        let (used, event) = self.assembler.feed(self.io.unread());
        self.io.consume(used);
        event
    }

    /// The next line is a bare line (an AUTHENTICATE response, IDLE's DONE).
    pub(crate) fn expect_line(&mut self) {
        self.assembler.expect_line();
    }

    /// Appends a response to those the next flush writes; `utf8` as
    /// [`encode`] takes it.
    pub(crate) fn send(&mut self, response: &Response<'_>, utf8: bool) {
        encode(response, utf8, self.io.out());
    }

    /// Writes every pending response.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        self.io.flush().await
    }

    /// Writes pending responses if there are many, to bound memory.
    pub(crate) async fn flush_if_full(&mut self) -> io::Result<()> {
        if self.io.out().len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(())
    }

    /// STARTTLS, dropping what the client sent after the command (RFC 9051
    /// §11.1).
    pub(crate) async fn start_tls(self, acceptor: &TlsAcceptor) -> io::Result<Connection> {
        let limits = *self.assembler.limits();
        let io = self.io.start_tls(acceptor).await?;
        Ok(Connection {
            io,
            assembler: Assembler::new(limits),
        })
    }

    /// True when the client sent more than the command being answered.
    pub(crate) fn has_unread(&self) -> bool {
        !self.io.unread().is_empty()
    }
}

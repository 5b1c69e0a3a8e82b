//! One client's connection: bytes in until `proto` finds a whole line in
//! them, responses out at each flush, over the shared
//! [`Buffered`](postino_common::buffered::Buffered) socket (cancel-safe
//! reads, buffers that shrink back after a large message).

use std::io;

use postino_common::buffered::Buffered;
use postino_common::stream::Stream;
use tokio_rustls::TlsAcceptor;

use crate::proto::Reply;
use crate::proto::parse::{TooLong, next_line};

/// Room kept for reading.
const READ_CHUNK: usize = 4096;

pub(crate) struct Connection {
    io: Buffered,
    max_line: usize,
}

impl Connection {
    pub(crate) fn new(stream: Stream, max_line: usize) -> Connection {
        Connection {
            io: Buffered::new(stream, READ_CHUNK),
            max_line,
        }
    }

    pub(crate) fn is_tls(&self) -> bool {
        self.io.is_tls()
    }

    /// The next line, without its line end; `None` when the client closed
    /// the connection. Cancel-safe.
    pub(crate) async fn line(&mut self) -> io::Result<Option<Result<Vec<u8>, TooLong>>> {
        loop {
            match next_line(self.io.unread(), self.max_line) {
                Ok(Some((line, used))) => {
                    let line = line.to_vec();
                    self.io.consume(used);
                    return Ok(Some(Ok(line)));
                }
                Ok(None) => {}
                Err(too_long) => return Ok(Some(Err(too_long))),
            }
            if !self.io.fill().await? {
                return Ok(None);
            }
        }
    }

    /// Appends a status line to what the next flush writes.
    pub(crate) fn send(&mut self, reply: &Reply) {
        reply.write(self.io.out());
    }

    /// The buffer of responses not yet written, for the lines of a
    /// multi-line response.
    pub(crate) fn out(&mut self) -> &mut Vec<u8> {
        self.io.out()
    }

    /// Writes every pending response.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        self.io.flush().await
    }

    /// STLS, dropping what the client sent after the command.
    pub(crate) async fn start_tls(self, acceptor: &TlsAcceptor) -> io::Result<Connection> {
        if !self.io.unread().is_empty() {
            tracing::info!("client sent data after STLS; dropped");
        }
        let io = self.io.start_tls(acceptor).await?;
        Ok(Connection {
            io,
            max_line: self.max_line,
        })
    }
}

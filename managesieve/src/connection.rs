//! One client's connection: bytes in until `proto` reads a whole command
//! (literals included) or a SASL response from them, responses out at each
//! flush, over the shared [`Buffered`](postino_common::buffered::Buffered)
//! socket (cancel-safe reads, buffers that shrink back after a large
//! script).

use std::io;

use postino_common::buffered::Buffered;
use postino_common::stream::Stream;
use tokio_rustls::TlsAcceptor;

use crate::proto::Command;
use crate::proto::parse::{Limits, ParseError, Parsed, parse, parse_sasl_response};
use crate::proto::response::Response;

/// Room kept for reading.
const READ_CHUNK: usize = 4096;

pub(crate) struct Connection {
    io: Buffered,
    limits: Limits,
}

/// What reading a command or a SASL response gave: `None` when the client
/// closed the connection.
pub(crate) type Read<T> = Option<Result<T, ParseError>>;

impl Connection {
    pub(crate) fn new(stream: Stream, limits: Limits) -> Connection {
        Connection {
            io: Buffered::new(stream, READ_CHUNK),
            limits,
        }
    }

    pub(crate) fn is_tls(&self) -> bool {
        self.io.is_tls()
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
            if !self.io.unread().is_empty() {
                match parse(self.io.unread(), &self.limits) {
                    Ok(Some((value, used))) => {
                        self.io.consume(used);
                        return Ok(Some(Ok(value)));
                    }
                    Ok(None) => {}
                    Err(err) => {
                        // A bad command is dropped whole; what is too
                        // large ends the session, with nothing more read.
                        if let ParseError::Bad { skip, .. } = err {
                            self.io.consume(skip);
                        }
                        return Ok(Some(Err(err)));
                    }
                }
            }
            if !self.io.fill().await? {
                return Ok(None);
            }
        }
    }

    /// Appends a response to those the next flush writes.
    pub(crate) fn send(&mut self, response: &Response) {
        response.write(self.io.out());
    }

    /// The buffer of responses not yet written, for what comes before a
    /// response (capabilities, scripts, lists).
    pub(crate) fn out(&mut self) -> &mut Vec<u8> {
        self.io.out()
    }

    /// Writes every pending response.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        self.io.flush().await
    }

    /// STARTTLS, dropping what the client sent after the command.
    pub(crate) async fn start_tls(self, acceptor: &TlsAcceptor) -> io::Result<Connection> {
        if !self.io.unread().is_empty() {
            tracing::info!("client sent data after STARTTLS; dropped");
        }
        let io = self.io.start_tls(acceptor).await?;
        Ok(Connection {
            io,
            limits: self.limits,
        })
    }
}

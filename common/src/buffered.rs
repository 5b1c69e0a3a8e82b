//! A client's socket with its two buffers, for the servers whose
//! `connection` module frames commands (IMAP, POP3, ManageSieve): bytes read
//! and not yet taken by the framing, and responses written at each flush.
//!
//! Reading is cancel-safe (bytes read are kept until taken), so a session
//! can wait for its client and for shutdown or new mail at once. Buffers
//! shrink back after a large command or response, so an idle connection
//! holds little.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

use crate::stream::Stream;

/// Buffers larger than this are given back once used.
const KEEP: usize = 16 * 1024;

pub struct Buffered {
    stream: Stream,
    /// Room kept for each read.
    read_chunk: usize,
    unread: Vec<u8>,
    out: Vec<u8>,
}

impl Buffered {
    /// Buffers over `stream` that read `read_chunk` bytes at a time.
    pub fn new(stream: Stream, read_chunk: usize) -> Buffered {
        Buffered {
            stream,
            read_chunk,
            unread: Vec::new(),
            out: Vec::new(),
        }
    }

    pub fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }

    /// The bytes read and not yet consumed.
    pub fn unread(&self) -> &[u8] {
        &self.unread
    }

    /// Drops the first `used` bytes of [`Buffered::unread`].
    pub fn consume(&mut self, used: usize) {
        self.unread.drain(..used);
        if self.unread.is_empty() && self.unread.capacity() > KEEP {
            self.unread = Vec::new();
        }
    }

    /// Reads more of the client's bytes; false when it closed the
    /// connection. Cancel-safe.
    pub async fn fill(&mut self) -> io::Result<bool> {
        if self.unread.capacity() - self.unread.len() < self.read_chunk / 4 {
            self.unread.reserve(self.read_chunk);
        }
        Ok(self.stream.read_buf(&mut self.unread).await? > 0)
    }

    /// The responses not yet written.
    pub fn out(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    /// Writes every pending response.
    pub async fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out).await?;
            self.out.clear();
            if self.out.capacity() > KEEP {
                self.out = Vec::new();
            }
        }
        self.stream.flush().await
    }

    /// Runs the TLS handshake of STARTTLS (or STLS). Bytes the client sent
    /// after the command are dropped, as they were sent before the
    /// handshake (the injection of CVE-2011-0411).
    pub async fn start_tls(self, acceptor: &TlsAcceptor) -> io::Result<Buffered> {
        let stream = self.stream.into_tls(acceptor).await?;
        Ok(Buffered::new(stream, self.read_chunk))
    }
}

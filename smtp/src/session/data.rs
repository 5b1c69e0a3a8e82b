//! DATA (RFC 5321 §4.1.1.4) and BDAT (RFC 3030). Content is always read to
//! its end, even when it will be refused, so that none of it is ever taken
//! for a command. Bare LF line ends are refused or normalised as
//! `Session::bare_lf` says, in DATA and BDAT alike.

use std::io;

use super::{Chunks, Envelope, Helo, Session, State};
use crate::error::{self, Error};
use crate::proto::{BareLf, DataError, DataReader, Reply};

/// Why a session in `state`, with no transaction open or one without
/// recipients, cannot take content.
fn content_refusal(state: &State) -> Reply {
    match state {
        State::Mail(..) => Reply::new(554, "5.5.1", "No valid recipients"),
        _ => Reply::new(503, "5.5.1", "Send MAIL first"),
    }
}

impl Session {
    pub(super) async fn data(&mut self) -> Result<Reply, Error> {
        let (helo, envelope) = match std::mem::take(&mut self.state) {
            State::Mail(helo, envelope) if envelope.accepted > 0 => (helo, envelope),
            State::Chunking(helo, ..) => {
                self.state = State::Greeted(helo);
                return Ok(Reply::new(503, "5.5.1", "DATA is not allowed after BDAT"));
            }
            other => {
                let refusal = content_refusal(&other);
                self.state = other;
                return Ok(refusal);
            }
        };
        self.conn.reply(&Reply::new(
            354,
            "",
            "Start mail input; end with <CRLF>.<CRLF>",
        ));
        let max = self.settings().max_message_size;
        let mut reader = DataReader::new(max, self.bare_lf());
        if !self.conn.data(&mut reader).await? {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        match reader.finish() {
            Ok(content) => self.deliver_and_reset(helo, envelope, content).await,
            Err(err) => {
                self.state = State::Greeted(helo);
                Ok(error::content(err, max))
            }
        }
    }

    pub(super) async fn bdat(&mut self, size: u64, last: bool) -> Result<Reply, Error> {
        let (open, mut chunks) = match std::mem::take(&mut self.state) {
            State::Mail(helo, envelope) if envelope.accepted > 0 => {
                (Ok((helo, envelope)), Chunks::default())
            }
            State::Chunking(helo, envelope, chunks) => (Ok((helo, envelope)), chunks),
            other => {
                let refusal = content_refusal(&other);
                self.state = other;
                (Err(refusal), Chunks::default())
            }
        };
        let max = self.settings().max_message_size;
        // Normalised line ends may grow the content past `max` by at most
        // one chunk: it is refused then, after the chunk was read.
        let keep = open.is_ok() && chunks.content.len() as u64 + size <= max as u64;
        let bare_lf = self.bare_lf();
        let read = self.conn.chunk(size, |bytes| {
            if keep {
                chunks.take(bytes, bare_lf);
            }
        });
        if !read.await? {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        let (helo, envelope) = match open {
            Ok(open) => open,
            Err(refusal) => return Ok(refusal),
        };
        if !keep || chunks.content.len() > max {
            self.state = State::Greeted(helo);
            return Ok(error::content(DataError::TooBig, max));
        }
        if !last {
            self.state = State::Chunking(helo, envelope, chunks);
            return Ok(Reply::new(250, "2.0.0", format!("{size} octets received")));
        }
        if let Err(err) = chunks.lines.verdict() {
            self.state = State::Greeted(helo);
            return Ok(error::content(err, max));
        }
        self.deliver_and_reset(helo, envelope, chunks.content).await
    }

    /// Delivers the transaction's message and ends the transaction,
    /// whatever came of it.
    async fn deliver_and_reset(
        &mut self,
        helo: Helo,
        envelope: Envelope,
        content: Vec<u8>,
    ) -> Result<Reply, Error> {
        let delivered = self.deliver(&helo, envelope, content).await;
        self.state = State::Greeted(helo);
        delivered
    }
}

impl Chunks {
    /// Adds a piece of a BDAT chunk to the content, line ends checked.
    fn take(&mut self, bytes: &[u8], bare_lf: BareLf) {
        let start = self.content.len();
        match bare_lf {
            BareLf::Normalize => self.crlf.push(bytes, &mut self.content),
            BareLf::Refuse => self.content.extend_from_slice(bytes),
        }
        self.lines.scan(&self.content[start..]);
    }
}

//! DATA (RFC 5321 §4.1.1.4) and BDAT (RFC 3030). Content is always read to
//! its end, even when it will be refused, so that none of it is ever taken
//! for a command. Bare LF line ends are refused or normalised as
//! `Session::bare_lf` says, in DATA and BDAT alike.

use std::io;

use super::{Chunks, Session};
use crate::metrics::{Rejection, rejected};
use crate::proto::{BareLf, DataError, DataReader, MAX_TEXT_LINE, Reply};

impl Session {
    /// Why this transaction cannot take content now, if it cannot.
    fn content_refusal(&self) -> Option<Reply> {
        match &self.envelope {
            None => Some(Reply::new(503, "5.5.1", "Send MAIL first")),
            Some(envelope) if envelope.accepted == 0 => {
                Some(Reply::new(554, "5.5.1", "No valid recipients"))
            }
            Some(_) => None,
        }
    }

    pub(super) async fn data(&mut self) -> io::Result<Reply> {
        if let Some(refusal) = self.content_refusal() {
            return Ok(refusal);
        }
        if self.envelope.as_ref().is_some_and(|e| e.chunks.is_some()) {
            self.envelope = None;
            return Ok(Reply::new(503, "5.5.1", "DATA is not allowed after BDAT"));
        }
        self.conn.reply(&Reply::new(
            354,
            "",
            "Start mail input; end with <CRLF>.<CRLF>",
        ));
        let mut reader = DataReader::new(self.settings().max_message_size, self.bare_lf());
        if !self.conn.data(&mut reader).await? {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(match reader.finish() {
            Ok(content) => self.deliver(content).await,
            Err(err) => {
                self.envelope = None;
                content_error(err, self.settings().max_message_size)
            }
        })
    }

    pub(super) async fn bdat(&mut self, size: u64, last: bool) -> io::Result<Reply> {
        let refusal = self.content_refusal();
        let max = self.settings().max_message_size;
        let mut chunks = match (&refusal, self.envelope.as_mut()) {
            (None, Some(envelope)) => envelope.chunks.take().unwrap_or_default(),
            _ => Chunks::default(),
        };
        // Normalised line ends may grow the content past `max` by at most
        // one chunk: it is refused then, after the chunk was read.
        let keep = refusal.is_none() && chunks.content.len() as u64 + size <= max as u64;
        let bare_lf = self.bare_lf();
        let read = self.conn.chunk(size, |bytes| {
            if keep {
                chunks.take(bytes, bare_lf);
            }
        });
        if !read.await? {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if let Some(refusal) = refusal {
            return Ok(refusal);
        }
        if !keep || chunks.content.len() > max {
            self.envelope = None;
            return Ok(content_error(DataError::TooBig, max));
        }
        if !last {
            if let Some(envelope) = self.envelope.as_mut() {
                envelope.chunks = Some(chunks);
            }
            return Ok(Reply::new(250, "2.0.0", format!("{size} octets received")));
        }
        if let Err(err) = chunks.lines.verdict() {
            self.envelope = None;
            return Ok(content_error(err, max));
        }
        Ok(self.deliver(chunks.content).await)
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

fn content_error(err: DataError, max: usize) -> Reply {
    match err {
        DataError::TooBig => rejected(
            Rejection::TooLarge,
            Reply::new(
                552,
                "5.3.4",
                format!("Message too big: the limit is {max} bytes"),
            ),
        ),
        DataError::BareLineEnd => rejected(
            Rejection::BadData,
            Reply::new(
                554,
                "5.6.0",
                "Message refused: bare CR or LF; lines must end with CRLF (RFC 5321 section 2.3.8)",
            ),
        ),
        DataError::LineTooLong => rejected(
            Rejection::BadData,
            Reply::new(
                554,
                "5.6.0",
                format!(
                    "Message refused: a line is longer than {MAX_TEXT_LINE} characters (RFC 5321 section 4.5.3.1.6)"
                ),
            ),
        ),
    }
}

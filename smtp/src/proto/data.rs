//! The content of DATA (RFC 5321 §4.1.1.4, §4.5.2): dot-unstuffing, the
//! end-of-data line, size limit, and bare line ends.
//!
//! Only CR LF "." CR LF ends the data. A bare LF or a bare CR never ends it
//! and never starts a line, so no smuggling sequence (`\n.\n`, `\n.\r\n`,
//! `\r.\r\n`, `\r\n.\r`) can end a message early; a message holding one is
//! then refused whole (RFC 5321 §2.3.8), so it is never passed on.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line.
    LineStart,
    /// Inside a line.
    Inside,
    /// After a CR inside a line.
    Cr,
    /// After a "." at the start of a line.
    Dot,
    /// After "." CR at the start of a line.
    DotCr,
}

/// Why the content of a message was refused, once it was all read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataError {
    TooBig,
    BareLineEnd,
}

/// Decodes DATA content fed in pieces, however the pieces fall.
#[derive(Debug)]
pub struct DataReader {
    state: State,
    limit: usize,
    content: Vec<u8>,
    too_big: bool,
    bare: bool,
}

impl DataReader {
    /// A reader keeping at most `limit` bytes of content.
    pub fn new(limit: usize) -> DataReader {
        DataReader {
            state: State::LineStart,
            limit,
            content: Vec::new(),
            too_big: false,
            bare: false,
        }
    }

    /// Consumes bytes up to the end of the data; returns how many it used
    /// and whether the end was reached (then the rest of `input` is not
    /// content: it is the client's next command).
    pub fn feed(&mut self, input: &[u8]) -> (usize, bool) {
        for (i, &byte) in input.iter().enumerate() {
            if self.step(byte) {
                return (i + 1, true);
            }
        }
        (input.len(), false)
    }

    /// The message once the end was reached.
    pub fn finish(self) -> Result<Vec<u8>, DataError> {
        if self.too_big {
            Err(DataError::TooBig)
        } else if self.bare {
            Err(DataError::BareLineEnd)
        } else {
            Ok(self.content)
        }
    }

    fn emit(&mut self, bytes: &[u8]) {
        if self.too_big || self.content.len() + bytes.len() > self.limit {
            self.too_big = true;
            self.content = Vec::new();
        } else {
            self.content.extend_from_slice(bytes);
        }
    }

    /// One byte; true at the end of the data.
    fn step(&mut self, byte: u8) -> bool {
        self.state = match (self.state, byte) {
            (State::LineStart, b'.') => State::Dot,
            (State::DotCr, b'\n') => return true,
            // A CR after a leading dot: the dot was stuffing; the CR is
            // pending, as after any CR.
            (State::DotCr, _) => {
                self.state = State::Cr;
                return self.step(byte);
            }
            (State::Dot, b'\r') => State::DotCr,
            (State::Cr, b'\n') => {
                self.emit(b"\r\n");
                State::LineStart
            }
            (State::Cr, _) => {
                self.bare = true;
                self.emit(b"\r");
                self.state = State::Inside;
                return self.step(byte);
            }
            (_, b'\r') => State::Cr,
            (_, b'\n') => {
                self.bare = true;
                self.emit(b"\n");
                State::Inside
            }
            (_, _) => {
                // After a leading dot, the dot is dropped (unstuffed).
                self.emit(&[byte]);
                State::Inside
            }
        };
        false
    }
}

/// Watches BDAT chunks for bare CR or LF, wherever chunks split lines.
#[derive(Debug, Default)]
pub struct BareLineEnds {
    after_cr: bool,
    found: bool,
}

impl BareLineEnds {
    pub fn scan(&mut self, chunk: &[u8]) {
        for &byte in chunk {
            match (self.after_cr, byte) {
                (true, b'\n') => self.after_cr = false,
                (true, b'\r') => self.found = true,
                (true, _) => {
                    self.found = true;
                    self.after_cr = false;
                }
                (false, b'\r') => self.after_cr = true,
                (false, b'\n') => self.found = true,
                (false, _) => {}
            }
        }
    }

    /// True if a bare CR or LF was seen, counting a CR at the very end.
    pub fn found(&self) -> bool {
        self.found || self.after_cr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` one byte at a time and in one piece; both must agree.
    fn decode(input: &[u8], limit: usize) -> (Result<Vec<u8>, DataError>, usize) {
        let mut whole = DataReader::new(limit);
        let (used, done) = whole.feed(input);
        let mut bytewise = DataReader::new(limit);
        let mut used_bytewise = 0;
        for chunk in input.chunks(1) {
            let (n, end) = bytewise.feed(chunk);
            used_bytewise += n;
            if end {
                break;
            }
        }
        assert_eq!(used, used_bytewise);
        let whole = if done {
            whole.finish()
        } else {
            Err(DataError::TooBig)
        };
        let _ = bytewise.finish();
        (whole, used)
    }

    #[test]
    fn unstuffs_and_stops_at_the_end_line() {
        let input = b"Subject: x\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n";
        let (content, used) = decode(input, 1000);
        assert_eq!(content.unwrap(), b"Subject: x\r\n\r\n.leading dot\r\n");
        assert_eq!(&input[used..], b"QUIT\r\n");
    }

    #[test]
    fn empty_message() {
        assert_eq!(decode(b".\r\n", 10).0.unwrap(), b"");
    }

    #[test]
    fn smuggling_sequences_do_not_end_the_data() {
        for smuggle in [&b"\n.\n"[..], b"\n.\r\n", b"\r.\r\n", b"\r\n.\r"] {
            let mut input = b"Subject: x\r\n\r\nhello".to_vec();
            input.extend_from_slice(smuggle);
            input.extend_from_slice(b"MAIL FROM:<evil@example.org>\r\nbody\r\n.\r\n");
            let (content, used) = decode(&input, 1000);
            assert_eq!(used, input.len(), "{smuggle:?} ended the data early");
            assert_eq!(content, Err(DataError::BareLineEnd), "{smuggle:?}");
        }
    }

    #[test]
    fn size_limit_is_checked_but_the_data_is_consumed() {
        let input = b"0123456789\r\nabc\r\n.\r\nNOOP\r\n";
        let (content, used) = decode(input, 12);
        assert_eq!(content, Err(DataError::TooBig));
        assert_eq!(&input[used..], b"NOOP\r\n");
        assert!(decode(input, 17).0.is_ok());
    }

    #[test]
    fn bare_line_ends_across_bdat_chunks() {
        let mut clean = BareLineEnds::default();
        clean.scan(b"a\r");
        clean.scan(b"\nb\r\n");
        assert!(!clean.found());
        for (first, second) in [(&b"a\r"[..], &b"b"[..]), (b"a\n", b""), (b"a", b"\r")] {
            let mut bare = BareLineEnds::default();
            bare.scan(first);
            bare.scan(second);
            assert!(bare.found(), "{first:?} {second:?}");
        }
    }
}

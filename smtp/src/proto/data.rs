//! The content of DATA (RFC 5321 §4.1.1.4, §4.5.2): dot-unstuffing, the
//! end-of-data line, size limit, and bare line ends.
//!
//! Only CR LF "." CR LF ends the data. A bare LF or a bare CR never ends it,
//! so no smuggling sequence (`\n.\n`, `\n.\r\n`, `\r.\r\n`, `\r\n.\r`)
//! can end a message early; a message holding one is then refused whole
//! (RFC 5321 §2.3.8), so it is never passed on. So is a message with a line
//! longer than RFC 5321 §4.5.3.1.6 allows. BDAT content gets the same line
//! checks through [`LineCheck`].
//!
//! From clients trusted with it, a bare LF is a line end instead
//! ([`BareLf::Normalize`], as Postfix's `smtpd_forbid_bare_newline =
//! normalize`): it is stored as CRLF and the next line's leading dot is
//! unstuffed, but a dot line after it still never ends the data. A bare CR
//! is refused from everyone.

/// The longest text line, CRLF excluded (RFC 5321 §4.5.3.1.6).
pub const MAX_TEXT_LINE: usize = 998;

/// What a bare LF in content is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BareLf {
    /// A fault that refuses the message.
    Refuse,
    /// A line end, stored as CRLF.
    Normalize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line, after CRLF.
    LineStart,
    /// At the start of a line after a bare LF taken as CRLF: a leading dot
    /// is stuffing, but a dot line here is not the end of the data.
    LooseStart,
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
    LineTooLong,
}

/// Decodes DATA content fed in pieces, however the pieces fall.
#[derive(Debug)]
pub struct DataReader {
    state: State,
    bare_lf: BareLf,
    limit: usize,
    content: Vec<u8>,
    too_big: bool,
    lines: LineCheck,
}

impl DataReader {
    /// A reader keeping at most `limit` bytes of content.
    pub fn new(limit: usize, bare_lf: BareLf) -> DataReader {
        DataReader {
            state: State::LineStart,
            bare_lf,
            limit,
            content: Vec::new(),
            too_big: false,
            lines: LineCheck::default(),
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
            return Err(DataError::TooBig);
        }
        self.lines.verdict()?;
        Ok(self.content)
    }

    fn emit(&mut self, bytes: &[u8]) {
        self.lines.scan(bytes);
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
            // The dot is dropped (unstuffed).
            (State::LooseStart, b'.') => State::Inside,
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
                self.emit(b"\r");
                self.state = State::Inside;
                return self.step(byte);
            }
            (_, b'\r') => State::Cr,
            (_, b'\n') if self.bare_lf == BareLf::Normalize => {
                self.emit(b"\r\n");
                State::LooseStart
            }
            (_, b'\n') => {
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

/// Watches content for bare CR or LF and for over-long lines, wherever
/// the pieces it is fed split lines.
#[derive(Debug, Default)]
pub struct LineCheck {
    after_cr: bool,
    line: usize,
    bare: bool,
    too_long: bool,
}

impl LineCheck {
    pub fn scan(&mut self, piece: &[u8]) {
        for &byte in piece {
            match (self.after_cr, byte) {
                (true, b'\n') => {
                    self.after_cr = false;
                    self.line = 0;
                    continue;
                }
                (true, _) => self.bare = true,
                (false, b'\n') => self.bare = true,
                (false, _) => {}
            }
            self.after_cr = byte == b'\r';
            if !self.after_cr {
                self.line += 1;
                self.too_long |= self.line > MAX_TEXT_LINE;
            }
        }
    }

    /// The first fault found, counting a CR at the very end as bare.
    pub fn verdict(&self) -> Result<(), DataError> {
        if self.bare || self.after_cr {
            Err(DataError::BareLineEnd)
        } else if self.too_long {
            Err(DataError::LineTooLong)
        } else {
            Ok(())
        }
    }
}

/// Rewrites every bare LF of content fed in pieces as CRLF, wherever the
/// pieces split a CRLF: BDAT content under [`BareLf::Normalize`].
#[derive(Debug, Default)]
pub struct LfToCrlf {
    after_cr: bool,
}

impl LfToCrlf {
    /// Appends `piece`, rewritten, to `out`.
    pub fn push(&mut self, piece: &[u8], out: &mut Vec<u8>) {
        for &byte in piece {
            if byte == b'\n' && !self.after_cr {
                out.push(b'\r');
            }
            out.push(byte);
            self.after_cr = byte == b'\r';
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` one byte at a time and in one piece; both must agree.
    fn decode(input: &[u8], limit: usize) -> (Result<Vec<u8>, DataError>, usize) {
        decode_with(input, limit, BareLf::Refuse)
    }

    fn decode_with(
        input: &[u8],
        limit: usize,
        bare_lf: BareLf,
    ) -> (Result<Vec<u8>, DataError>, usize) {
        let mut whole = DataReader::new(limit, bare_lf);
        let (used, done) = whole.feed(input);
        let mut bytewise = DataReader::new(limit, bare_lf);
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
        if done {
            assert_eq!(bytewise.finish(), whole);
        }
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
    fn normalized_bare_lf_ends_lines_but_never_the_data() {
        let input = b"Subject: x\n\nuno\n..due\n.\ntre\r\n.\r\nQUIT\r\n";
        let (content, used) = decode_with(input, 1000, BareLf::Normalize);
        assert_eq!(
            content.unwrap(),
            b"Subject: x\r\n\r\nuno\r\n.due\r\n\r\ntre\r\n"
        );
        assert_eq!(&input[used..], b"QUIT\r\n");
        for smuggle in [&b"\n.\n"[..], b"\n.\r\n", b"\r\n.\n"] {
            let mut input = b"Subject: x\r\n\r\nhello".to_vec();
            input.extend_from_slice(smuggle);
            input.extend_from_slice(b"MAIL FROM:<evil@example.org>\r\nbody\r\n.\r\n");
            let (content, used) = decode_with(&input, 1000, BareLf::Normalize);
            assert_eq!(used, input.len(), "{smuggle:?} ended the data early");
            let content = content.unwrap_or_else(|err| panic!("{smuggle:?}: {err:?}"));
            assert!(!content.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'));
        }
        // A bare CR is refused even so.
        for smuggle in [&b"\r.\r\n"[..], b"\r\n.\r"] {
            let mut input = b"hello".to_vec();
            input.extend_from_slice(smuggle);
            input.extend_from_slice(b"MAIL FROM:<evil@example.org>\r\n.\r\n");
            let (content, used) = decode_with(&input, 1000, BareLf::Normalize);
            assert_eq!(used, input.len(), "{smuggle:?} ended the data early");
            assert_eq!(content, Err(DataError::BareLineEnd), "{smuggle:?}");
        }
    }

    #[test]
    fn bdat_bare_lf_becomes_crlf_across_pieces() {
        let mut crlf = LfToCrlf::default();
        let mut out = Vec::new();
        for piece in [&b"a\n"[..], b"b\r", b"\nc\n\n", b"\r", b"\n"] {
            crlf.push(piece, &mut out);
        }
        assert_eq!(out, b"a\r\nb\r\nc\r\n\r\n\r\n");
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
    fn long_lines_are_refused() {
        let mut input = vec![b'a'; MAX_TEXT_LINE];
        input.extend_from_slice(b"\r\n.\r\n");
        assert!(decode(&input, 10_000).0.is_ok());
        input.insert(0, b'a');
        assert_eq!(decode(&input, 10_000).0, Err(DataError::LineTooLong));
    }

    #[test]
    fn line_checks_across_pieces() {
        let mut clean = LineCheck::default();
        clean.scan(b"a\r");
        clean.scan(b"\nb\r\n");
        assert_eq!(clean.verdict(), Ok(()));
        for (first, second) in [
            (&b"a\r"[..], &b"b"[..]),
            (b"a\n", b""),
            (b"a", b"\r"),
            (b"\r\r", b"\n"),
        ] {
            let mut bare = LineCheck::default();
            bare.scan(first);
            bare.scan(second);
            assert_eq!(
                bare.verdict(),
                Err(DataError::BareLineEnd),
                "{first:?} {second:?}"
            );
        }
        let mut long = LineCheck::default();
        long.scan(&[b'x'; 600]);
        long.scan(&[b'x'; 600]);
        assert_eq!(long.verdict(), Err(DataError::LineTooLong));
    }
}
